/**
 * The end-to-end suite's AWS: moto (a third-party emulator) in server mode,
 * started by `moto_launcher.py` with its documented patches and a forwarding
 * proxy for the `<account-id>.` hosts Terraform's provider makes up for S3
 * Control. Accounts come from STS: `AssumeRole` into
 * `arn:aws:iam::<account>:role/…` acts in that account, so laptop profiles
 * (`role_arn` + `source_profile`) give four accounts, and
 * `AssumeRoleWithWebIdentity` gives CI's one-role credentials.
 *
 * moto is taken from the system `python3` when it imports there (this
 * project's machines carry moto 5.2.1); otherwise it is installed into
 * `.mlops/moto-venv` as a laptop would; if neither works the suite fails with
 * the one-line install hint.
 *
 * @example
 * ```ts
 * import { Moto } from "./moto.ts";
 * await using moto = await Moto.start();
 * console.log(moto.endpoint);
 * ```
 * @module
 */
import { REPO } from "../helpers.ts";

/** The moto version the suite is written against. */
export const MOTO_VERSION = "5.2.1";

/** Temporary credentials, as CI's configure-aws-credentials exports them. */
export interface SessionCredentials {
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_SESSION_TOKEN: string;
}

async function imports(python: string): Promise<boolean> {
  const probe = `import moto, sys; sys.exit(0 if moto.__version__ == "${MOTO_VERSION}" else 3)`;
  try {
    const out = await new Deno.Command(python, { args: ["-c", probe], stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** An interpreter that imports moto: the system one, else a venv under `.mlops/` (created once). */
export async function motoPython(repoDir = REPO): Promise<string> {
  if (await imports("python3")) return "python3";
  const venv = `${repoDir}/.mlops/moto-venv`;
  const python = `${venv}/bin/python`;
  if (await imports(python)) return python;
  const hint =
    `moto ${MOTO_VERSION} is not installed: the end-to-end suite needs it. Install it with: python3 -m pip install "moto[server]==${MOTO_VERSION}"`;
  const steps = [
    ["python3", "-m", "venv", venv],
    [python, "-m", "pip", "install", "--quiet", `moto[server]==${MOTO_VERSION}`],
  ];
  for (const [cmd, ...args] of steps) {
    const out = await new Deno.Command(cmd, {
      args,
      env: { PIP_RETRIES: Deno.env.get("PIP_RETRIES") ?? "0", PIP_DISABLE_PIP_VERSION_CHECK: "1" },
      stdout: "null",
      stderr: "null",
    }).output().catch(() => null);
    if (!out?.success) throw new Error(hint);
  }
  if (!(await imports(python))) throw new Error(hint);
  return python;
}

/** A running moto server and its forwarding proxy. */
export class Moto {
  private constructor(
    private readonly process: Deno.ChildProcess,
    private readonly stdout: ReadableStreamDefaultReader<string>,
    /** `http://localhost:<port>`: what AWS_ENDPOINT_URL points at. */
    readonly endpoint: string,
    /** `http://127.0.0.1:<port>`: the relay for hosts nothing resolves. */
    readonly proxy: string,
    /** The interpreter that runs moto (it has boto3 too). */
    readonly python: string,
    readonly region: string,
  ) {}

  /** Starts moto on free loopback ports and waits until it listens. */
  static async start(region = "eu-west-1"): Promise<Moto> {
    const python = await motoPython();
    const process = new Deno.Command(python, {
      args: [new URL("./moto_launcher.py", import.meta.url).pathname],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).spawn();
    const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("moto exited before it listened; run tests/e2e/moto_launcher.py to see why");
      text += value;
    }
    const { endpoint, proxy } = JSON.parse(text.split("\n")[0]) as { endpoint: string; proxy: string };
    return new Moto(process, reader, endpoint, proxy, python, region);
  }

  /**
   * What a task's environment needs to reach moto: the endpoint for every
   * service (STS named too: the provider ignores the general one for STS when
   * it assumes a profile's role), and the proxy for `<account>.localhost`.
   */
  env(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL: this.endpoint,
      AWS_ENDPOINT_URL_STS: this.endpoint,
      HTTP_PROXY: this.proxy,
      http_proxy: this.proxy,
    };
  }

  async #sts(action: string, params: Record<string, string>, signed: boolean): Promise<SessionCredentials> {
    const { STSClient, AssumeRoleCommand, AssumeRoleWithWebIdentityCommand } = await import("@aws-sdk/client-sts");
    const client = new STSClient({
      region: this.region,
      endpoint: this.endpoint,
      credentials: signed ? { accessKeyId: "AKIAE2EADMIN", secretAccessKey: "e2e" } : undefined,
    });
    try {
      const out = action === "AssumeRole"
        ? await client.send(new AssumeRoleCommand({ RoleArn: params.RoleArn, RoleSessionName: "e2e" }))
        : await client.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: params.RoleArn,
            RoleSessionName: "GitHubActions",
            WebIdentityToken: params.WebIdentityToken,
          }),
        );
      const c = out.Credentials!;
      return {
        AWS_ACCESS_KEY_ID: c.AccessKeyId!,
        AWS_SECRET_ACCESS_KEY: c.SecretAccessKey!,
        AWS_SESSION_TOKEN: c.SessionToken!,
      };
    } finally {
      client.destroy();
    }
  }

  /** CI's credentials: a role assumed with a GitHub OIDC token, as configure-aws-credentials does. */
  ciCredentials(roleArn: string): Promise<SessionCredentials> {
    return this.#sts("AssumeRoleWithWebIdentity", { RoleArn: roleArn, WebIdentityToken: "github-oidc-token" }, false);
  }

  /** Administrator credentials in `account`, for the test's own checks. */
  adminCredentials(account: string): Promise<SessionCredentials> {
    return this.#sts("AssumeRole", { RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole` }, true);
  }

  /** SDK client options acting in `account` with administrator credentials. */
  async clientConfig(account: string) {
    const c = await this.adminCredentials(account);
    return {
      region: this.region,
      endpoint: this.endpoint,
      forcePathStyle: true,
      credentials: {
        accessKeyId: c.AWS_ACCESS_KEY_ID,
        secretAccessKey: c.AWS_SECRET_ACCESS_KEY,
        sessionToken: c.AWS_SESSION_TOKEN,
      },
    };
  }

  /** Writes `~/.aws/config` and `credentials` under `home`: one source profile, a role profile per account. */
  async writeProfiles(home: string, accounts: Record<string, string>): Promise<void> {
    await Deno.mkdir(`${home}/.aws`, { recursive: true });
    const roles = Object.entries(accounts).map(([profile, account]) =>
      `[profile ${profile}]\nrole_arn = arn:aws:iam::${account}:role/OrganizationAccountAccessRole\nsource_profile = e2e-admin\nregion = ${this.region}\n`
    );
    await Deno.writeTextFile(
      `${home}/.aws/config`,
      [`[profile e2e-admin]\nregion = ${this.region}\n`, ...roles].join("\n"),
    );
    await Deno.writeTextFile(
      `${home}/.aws/credentials`,
      "[e2e-admin]\naws_access_key_id = AKIAE2EADMIN\naws_secret_access_key = e2e-admin-secret\n",
    );
  }

  async close(): Promise<void> {
    try {
      this.process.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.stdout.cancel().catch(() => {});
    await this.process.status;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
