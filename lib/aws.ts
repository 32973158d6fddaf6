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
 * Every client's configuration comes from {@linkcode AwsAccess.clientConfig}:
 * the SDK's standard retry mode (3 attempts), a connection timeout and an
 * inactivity timeout of `MLOPS_AWS_TIMEOUT` seconds (default 20), so an
 * endpoint that accepts connections and never answers fails with one line
 * naming the service, the endpoint and the timeout (see {@linkcode awsTimeout}).
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
import type { NodeHttpHandler } from "@smithy/node-http-handler";
import { Interrupted, TaskError, UsageError } from "./cli.ts";
import type { AccountName, Config, Environment } from "./config.ts";
import { log } from "./log.ts";

/** An SDK credential provider. */
export type CredentialProvider = ReturnType<typeof fromIni>;

/** Seconds an AWS endpoint may stay silent before a call fails, unless `MLOPS_AWS_TIMEOUT` says otherwise. */
export const DEFAULT_AWS_TIMEOUT_SECONDS = 20;
/** Attempts per AWS call (the SDK's standard retry mode). */
export const AWS_MAX_ATTEMPTS = 3;

/** The timeout of AWS calls in seconds: `MLOPS_AWS_TIMEOUT`, or the default. */
export function awsTimeoutSeconds(env: { get(key: string): string | undefined } = Deno.env): number {
  const raw = env.get("MLOPS_AWS_TIMEOUT");
  if (raw === undefined || raw === "") return DEFAULT_AWS_TIMEOUT_SECONDS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`Invalid MLOPS_AWS_TIMEOUT "${raw}": use a number of seconds such as 20`);
  }
  return seconds;
}

/** The retry and timeout settings every SDK client gets. */
export interface ClientTuning {
  maxAttempts: number;
  retryMode: "standard";
  /** A `@smithy/node-http-handler` handler with the timeouts, annotating its timeouts with the endpoint. */
  requestHandler: NodeHttpHandler;
}

/** A timeout of an AWS call, with what the user needs to act on it. */
export interface AwsTimeout {
  service: string;
  endpoint: string;
  seconds: number;
}

/**
 * The service an endpoint belongs to: the `AWS_ENDPOINT_URL_<SERVICE>` that
 * names it, or the first label of an AWS host (`api.ecr.…` → ECR).
 */
export function serviceOfEndpoint(endpoint: string, env: Record<string, string> = Deno.env.toObject()): string {
  const url = (() => {
    try {
      return new URL(endpoint);
    } catch {
      return null;
    }
  })();
  for (const [key, value] of Object.entries(env)) {
    const match = /^AWS_ENDPOINT_URL_(\w+)$/.exec(key);
    if (match && url && value.replace(/\/$/, "") === url.origin) return match[1].replace(/_/g, " ");
  }
  const labels = url?.hostname.split(".") ?? [];
  if (labels.at(-1) === "com" && labels.includes("amazonaws")) {
    const service = labels[0] === "api" ? labels[1] : labels.find((l) => /^s3/.test(l)) ?? labels[0];
    return service.toUpperCase();
  }
  return "AWS";
}

/** The details of a timeout the request handler annotated, or null for any other error. */
export function awsTimeout(error: unknown): AwsTimeout | null {
  const e = error as { name?: string; mlopsEndpoint?: string; mlopsTimeoutSeconds?: number };
  if (e?.name !== "TimeoutError" || !e.mlopsEndpoint) return null;
  return {
    service: serviceOfEndpoint(e.mlopsEndpoint),
    endpoint: e.mlopsEndpoint,
    seconds: e.mlopsTimeoutSeconds ?? DEFAULT_AWS_TIMEOUT_SECONDS,
  };
}

/** The sentence a user reads when an AWS endpoint did not answer. */
export function timeoutMessage(timeout: AwsTimeout, what: string): string {
  return `Cannot ${what}: ${timeout.service} at ${timeout.endpoint} did not answer within ${timeout.seconds} s ` +
    `(${AWS_MAX_ATTEMPTS} attempts). Check the network, the region and any AWS_ENDPOINT_URL* override; ` +
    `MLOPS_AWS_TIMEOUT=<seconds> sets the limit.`;
}

/**
 * Retry mode and timeouts for an SDK client: the one place they are set.
 * The connection timeout is the same limit, capped at 10 s.
 */
export async function clientTuning(seconds = awsTimeoutSeconds()): Promise<ClientTuning> {
  const { NodeHttpHandler: Handler } = await import("@smithy/node-http-handler");
  const ms = Math.round(seconds * 1000);
  class TimedHandler extends Handler {
    override async handle(...args: Parameters<NodeHttpHandler["handle"]>) {
      try {
        return await super.handle(...args);
      } catch (error) {
        if ((error as Error)?.name === "TimeoutError") {
          const [request] = args;
          const port = request.port ? `:${request.port}` : "";
          Object.assign(error as Error, {
            mlopsEndpoint: `${request.protocol}//${request.hostname}${port}`,
            mlopsTimeoutSeconds: seconds,
          });
        }
        throw error;
      }
    }
  }
  return {
    maxAttempts: AWS_MAX_ATTEMPTS,
    retryMode: "standard",
    requestHandler: new TimedHandler({ connectionTimeout: Math.min(ms, 10_000), socketTimeout: ms }),
  };
}

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

/**
 * Every item of a paginated AWS listing: calls `page` with each `NextToken`
 * until the service returns none.
 */
export async function allPages<T>(
  page: (token: string | undefined) => Promise<{ items: T[] | undefined; next: string | undefined }>,
): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const out = await page(token);
    items.push(...(out.items ?? []));
    token = out.next;
  } while (token);
  return items;
}

/** Whether an SDK error means "no such object / resource" (HTTP 404). */
export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.$metadata?.httpStatusCode === 404 || e.name === "NotFound" || e.name === "NoSuchKey";
}

/**
 * The reason of an SDK error in words. An answer that is not an AWS error (an HTML page from a
 * proxy or gateway) leaves the SDK with "Unknown"; say what came back instead.
 */
export function sdkErrorReason(error: unknown): string {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  if (status && (!e.message || /^Unknown(Error)?$/.test(e.message) || e.name === "Unknown")) {
    return `the endpoint answered HTTP ${status} with a body that is not an AWS response (a proxy or gateway in the way?)`;
  }
  const name = e?.name && e.name !== "Error" ? `${e.name}: ` : "";
  return `${name}${e?.message || "no reason given"}`;
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

  /** An SDK credential provider for `account` (its own STS/SSO calls get the same timeouts). */
  async credentials(account: AccountName): Promise<CredentialProvider> {
    const { fromIni, fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
    const { profile } = this.source(account);
    const clientConfig = { region: this.config.region, ...(await clientTuning()) } as never;
    return profile ? fromIni({ profile, clientConfig }) : fromNodeProviderChain({ clientConfig });
  }

  /**
   * Client options for an SDK client acting in `account`: region, credentials, and the
   * standard retry mode with the timeouts of {@linkcode clientTuning}. Every client is built from it.
   */
  async clientConfig(
    account: AccountName,
  ): Promise<{ region: string; credentials: CredentialProvider } & ClientTuning> {
    return { region: this.config.region, credentials: await this.credentials(account), ...(await clientTuning()) };
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
    const timeout = awsTimeout(error);
    if (timeout) return new TaskError(timeoutMessage(timeout, what), { cause: error });
    const text = `${(error as Error).name ?? ""} ${(error as Error).message ?? ""}`;
    if (/credential|expired|ExpiredToken|InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch/i.test(text)) {
      return this.credentialError(account, error);
    }
    return new TaskError(`Cannot ${what}: ${sentence(sdkErrorReason(error))}`, { cause: error });
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
    const timeout = awsTimeout(error);
    if (timeout) {
      return new TaskError(timeoutMessage(timeout, `check the identity of "${account}"`), { cause: error });
    }
    const err = error as { name?: string; message?: string; Code?: string };
    const text = `${err.name ?? ""} ${err.Code ?? ""} ${err.message ?? ""}`;
    const who = this.describe(source);
    const login = source.profile
      ? `Log in with: aws sso login --profile ${source.profile} (or configure the profile with: aws configure --profile ${source.profile})`
      : "Provide credentials in the environment (in GitHub Actions: aws-actions/configure-aws-credentials with the role ARN), or drop --no-profile to use the profile from the config";
    if (/expired|ExpiredToken|RequestExpired|refresh failed/i.test(text)) {
      const whose = source.profile ? `The credentials of ${who}` : "The environment's credentials";
      return new TaskError(`${whose} for "${account}" have expired. ${login}.`, { cause: error });
    }
    if (
      /could not be found|Could not load credentials|CredentialsProviderError|not found in|InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClient/i
        .test(text)
    ) {
      return new TaskError(`No valid credentials for "${account}" from ${who}. ${login}.`, { cause: error });
    }
    return new TaskError(
      `Cannot check the identity of "${account}" with ${who}: ${
        sentence(sdkErrorReason(error))
      } Check the network and the region "${this.config.region}".`,
      { cause: error },
    );
  }
}
