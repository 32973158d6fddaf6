/**
 * Credentials per account and the account guard. On a laptop each account's
 * credentials come from the AWS profile the config names; in CI (or with
 * `--no-profile`) from the environment (GitHub OIDC via
 * `aws-actions/configure-aws-credentials`). Before anything mutating, STS
 * `GetCallerIdentity` must answer the account the config expects.
 *
 * The SDK honours `AWS_ENDPOINT_URL_<SERVICE>`, which is how the tests point
 * it at the fake AWS server.
 *
 * @example
 * ```ts
 * import { Config } from "./config.ts";
 * import { AwsAccess } from "./aws.ts";
 * const config = await Config.load("mlops.config.json");
 * const aws = AwsAccess.fromEnvironment(config, { noProfile: false });
 * await aws.assertAccount("dev", "deploy");
 * ```
 * @module
 */
import type { fromIni } from "@aws-sdk/credential-providers";
import { Interrupted, TaskError, UsageError } from "./cli.ts";
import type { AccountName, Config, Environment } from "./config.ts";
import { log } from "./log.ts";

/** An SDK credential provider. */
export type CredentialProvider = ReturnType<typeof fromIni>;

/** How an account's credentials are found. */
export interface CredentialSource {
  account: AccountName;
  /** The profile used, or null for the environment's credentials. */
  profile: string | null;
}

/** The identity STS reported. */
export interface Identity {
  account: string;
  arn: string;
}

/** Whether an SDK error means "no such object / resource" (HTTP 404). */
export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.$metadata?.httpStatusCode === 404 || e.name === "NotFound" || e.name === "NoSuchKey";
}

/** Whether S3 requests go to an endpoint override (a fake, a proxy), which needs path-style addressing. */
export function s3EndpointOverridden(): boolean {
  return Boolean(Deno.env.get("AWS_ENDPOINT_URL_S3") || Deno.env.get("AWS_ENDPOINT_URL"));
}

/** `text` as one sentence: trimmed, ending with exactly one full stop (SDK messages may or may not have one). */
export function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/** Whether the process runs in CI (GitHub Actions sets both). */
export function inCi(env: { get(key: string): string | undefined } = Deno.env): boolean {
  return env.get("CI") === "true" || env.get("GITHUB_ACTIONS") === "true";
}

/** Credentials, clients and the guard for the configured accounts. */
export class AwsAccess {
  readonly #verified = new Map<AccountName, Identity>();

  constructor(readonly config: Config, readonly useProfiles: boolean) {}

  /** Profiles on a laptop; environment credentials in CI or with `--no-profile`. */
  static fromEnvironment(config: Config, options: { noProfile: boolean }): AwsAccess {
    return new AwsAccess(config, !options.noProfile && !inCi());
  }

  /** Where the credentials of `account` come from. */
  source(account: AccountName): CredentialSource {
    const profile = this.useProfiles ? this.config.account(account).profile : null;
    return { account, profile };
  }

  /** Human description of a credential source, for messages. */
  describe(source: CredentialSource): string {
    return source.profile ? `profile "${source.profile}"` : "the environment's credentials";
  }

  /** An SDK credential provider for `account`. */
  async credentials(account: AccountName): Promise<CredentialProvider> {
    const { fromIni, fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
    const { profile } = this.source(account);
    return profile ? fromIni({ profile }) : fromNodeProviderChain();
  }

  /** Client options (region, credentials) for an SDK client acting in `account`. */
  async clientConfig(account: AccountName): Promise<{ region: string; credentials: CredentialProvider }> {
    return { region: this.config.region, credentials: await this.credentials(account) };
  }

  /** An S3 client acting in `account` (path-style when an endpoint override is set). */
  async s3Client(account: AccountName): Promise<import("@aws-sdk/client-s3").S3Client> {
    const { S3Client } = await import("@aws-sdk/client-s3");
    return new S3Client({ ...(await this.clientConfig(account)), forcePathStyle: s3EndpointOverridden() });
  }

  /**
   * The guard for work on an environment: its account, and on a laptop also the operations
   * account, whose profile reads the Terraform state and the records. (In CI one role does both,
   * reaching operations through the resources' policies.)
   */
  async assertEnvironment(env: Environment, action: string): Promise<void> {
    await this.assertAccount(env, action);
    if (this.useProfiles) await this.assertAccount("operations", `${action} (operations side of)`);
  }

  /** Turns any SDK failure into one line: credentials problems say how to log in. */
  awsError(account: AccountName, what: string, error: unknown): Error {
    // Our own errors (an interrupt, a usage error, an explained failure) pass through unchanged.
    if (error instanceof TaskError || error instanceof Interrupted || error instanceof UsageError) {
      return error;
    }
    const text = `${(error as Error).name ?? ""} ${(error as Error).message ?? ""}`;
    if (/credential|expired|ExpiredToken|InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch/i.test(text)) {
      return this.credentialError(account, error);
    }
    const name = (error as Error).name && (error as Error).name !== "Error" ? `${(error as Error).name}: ` : "";
    return new TaskError(`Cannot ${what}: ${name}${sentence((error as Error).message || "no reason given")}`, {
      cause: error,
    });
  }

  /** Asks STS who the credentials of `account` belong to. */
  async identity(account: AccountName): Promise<Identity> {
    const cached = this.#verified.get(account);
    if (cached) return cached;
    const { STSClient, GetCallerIdentityCommand } = await import("@aws-sdk/client-sts");
    const client = new STSClient(await this.clientConfig(account));
    try {
      const out = await client.send(new GetCallerIdentityCommand({}));
      return { account: out.Account ?? "", arn: out.Arn ?? "" };
    } catch (error) {
      throw this.credentialError(account, error);
    } finally {
      client.destroy();
    }
  }

  /**
   * Refuses unless the credentials of `account` belong to the account id the
   * config names for it. `action` names what would have happened ("deploy").
   */
  async assertAccount(account: AccountName, action: string): Promise<Identity> {
    const expected = this.config.account(account).id;
    const identity = await this.identity(account);
    if (identity.account !== expected) {
      const source = this.source(account);
      throw new TaskError(
        `Cannot ${action} "${account}": ${this.describe(source)} belong${
          source.profile ? "s" : ""
        } to account ${identity.account} (${identity.arn}), but ${this.config.file} names ${expected} for "${account}". ${
          source.profile
            ? `Point profile "${source.profile}" at account ${expected}, or fix accounts.${account}.id.`
            : `Use credentials of account ${expected}, or fix accounts.${account}.id.`
        }`,
      );
    }
    log.debug(`${account}: ${identity.arn} (account ${identity.account}, as expected)`);
    this.#verified.set(account, identity);
    return identity;
  }

  /** Turns an SDK credential failure into one line that says how to log in. */
  credentialError(account: AccountName, error: unknown): TaskError {
    const source = this.source(account);
    const err = error as { name?: string; message?: string; Code?: string };
    const text = `${err.name ?? ""} ${err.Code ?? ""} ${err.message ?? ""}`;
    const who = this.describe(source);
    const login = source.profile
      ? `Log in with: aws sso login --profile ${source.profile} (or configure the profile with: aws configure --profile ${source.profile})`
      : "Provide credentials in the environment (in GitHub Actions: aws-actions/configure-aws-credentials with the role ARN), or drop --no-profile to use the profile from the config";
    if (/expired|ExpiredToken|RequestExpired|refresh failed/i.test(text)) {
      return new TaskError(`The credentials of ${who} for "${account}" have expired. ${login}.`, { cause: error });
    }
    if (
      /could not be found|Could not load credentials|CredentialsProviderError|not found in|InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClient/i
        .test(text)
    ) {
      return new TaskError(`No valid credentials for "${account}" from ${who}. ${login}.`, { cause: error });
    }
    return new TaskError(
      `Cannot check the identity of "${account}" with ${who}: ${
        sentence(err.message ?? String(error))
      } Check the network and the region "${this.config.region}".`,
      { cause: error },
    );
  }
}
