/**
 * Readiness checks behind `deno task doctor`: tools, config, and (unless
 * offline) the STS identity of every configured account.
 *
 * @example
 * ```ts
 * import { runChecks } from "./doctor.ts";
 * const checks = await runChecks({ config: "mlops.config.json", offline: true });
 * console.log(checks.every((c) => c.status !== "fail"));
 * ```
 * @module
 */
import { AwsAccess } from "./aws.ts";
import { type AccountName, Config, ENVIRONMENTS } from "./config.ts";
import { run, which } from "./process.ts";
import { providerMirrorProblem, resolveProviderMirror } from "./terraform.ts";

/** The outcome of one check. */
export interface Check {
  name: string;
  /** `fail` makes doctor exit non-zero; `warn` is for optional things. */
  status: "ok" | "warn" | "fail";
  detail: string;
  required: boolean;
}

/** Compares dotted versions: negative when `a` < `b`. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

async function tryRun(argv: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(argv, { capture: true, captureStderr: true });
    return { code: r.code, out: r.stdout.trim() || r.stderr.trim() };
  } catch {
    return { code: 127, out: "" };
  }
}

async function toolCheck(
  name: string,
  argv: string[],
  parse: (out: string) => string | undefined,
  minimum: string,
  required: boolean,
  fix: string,
): Promise<Check> {
  const { code, out } = await tryRun(argv);
  const version = code === 0 ? parse(out) : undefined;
  const status = required ? "fail" : "warn";
  if (!version) return { name, status, detail: `not found. ${fix}`, required };
  if (compareVersions(version, minimum) < 0) {
    return { name, status, detail: `${version} is older than ${minimum}. ${fix}`, required };
  }
  return { name, status: "ok", detail: version, required };
}

/** Terraform ≥ 1.10 (S3-native state locking); `detail` is the version when it passes. */
export function terraformCheck(): Promise<Check> {
  return toolCheck(
    "terraform",
    ["terraform", "version", "-json"],
    (out) => (JSON.parse(out) as { terraform_version?: string }).terraform_version,
    "1.10.0",
    true,
    "Install Terraform ≥ 1.10 (S3-native state locking).",
  );
}

/** Runs every check; never throws. */
export async function runChecks(
  flags: { config: string; offline: boolean; "no-profile"?: boolean; "provider-mirror"?: string },
): Promise<Check[]> {
  const checks: Check[] = [
    {
      name: "deno",
      status: compareVersions(Deno.version.deno, "2.0.0") >= 0 ? "ok" : "fail",
      detail: Deno.version.deno,
      required: true,
    },
  ];
  const tools = await Promise.all([
    terraformCheck(),
    toolCheck(
      "python",
      ["python3", "--version"],
      (out) => /Python (\d+\.\d+\.\d+)/.exec(out)?.[1],
      "3.10.0",
      true,
      "Install Python ≥ 3.10 for local pipeline runs.",
    ),
    toolCheck(
      "docker engine",
      ["docker", "version", "--format", "{{.Server.Version}}"],
      (out) => /^(\d+\.\d+(\.\d+)?)/.exec(out)?.[1],
      "20.0.0",
      false,
      "Optional: needed only by `deno task build` outside CI.",
    ),
  ]);
  const docker = tools.find((t) => t.name === "docker engine")!;
  if (docker.status !== "ok" && (await which("docker"))) {
    docker.detail =
      "the docker client is installed but no engine answers. Optional: start Docker to run deno task build outside CI.";
  }
  checks.push(...tools);

  let config: Config | null = null;
  try {
    config = await Config.load(flags.config);
    checks.push({ name: "config", status: "ok", detail: `${flags.config} is valid`, required: true });
  } catch (error) {
    checks.push({
      name: "config",
      status: "fail",
      detail: (error as Error).message.split("\n").join(" "),
      required: true,
    });
  }
  if (!config) return checks;

  const mirror = resolveProviderMirror(config, flags["provider-mirror"]);
  if (mirror) {
    const problem = await providerMirrorProblem(mirror);
    checks.push({
      name: "provider mirror",
      status: problem ? "fail" : "ok",
      detail: problem ?? mirror,
      required: true,
    });
  }

  if (flags.offline) {
    checks.push({ name: "aws accounts", status: "ok", detail: "skipped (--offline)", required: false });
    return checks;
  }
  const aws = AwsAccess.fromEnvironment(config, { noProfile: flags["no-profile"] ?? false });
  if (!aws.useProfiles) {
    // One set of environment credentials (CI, --no-profile): say which configured account it is.
    try {
      const identity = await aws.identity("operations");
      const names = (Object.entries(config.data.accounts) as [AccountName, { id: string }][])
        .filter(([, a]) => a.id === identity.account).map(([name]) => name);
      checks.push({
        name: "aws identity",
        status: names.length ? "ok" : "fail",
        detail: names.length
          ? `${identity.arn} (the ${names.join("/")} account)`
          : `${identity.arn}: account ${identity.account} is none of the configured accounts; check accounts.* in ${config.file}`,
        required: true,
      });
    } catch (error) {
      checks.push({ name: "aws identity", status: "fail", detail: (error as Error).message, required: true });
    }
    return checks;
  }
  const accounts: AccountName[] = ["operations", ...ENVIRONMENTS];
  const identities = await Promise.all(accounts.map(async (account): Promise<Check> => {
    try {
      const identity = await aws.assertAccount(account, "use");
      return { name: `aws ${account}`, status: "ok", detail: `${identity.arn}`, required: true };
    } catch (error) {
      return { name: `aws ${account}`, status: "fail", detail: (error as Error).message, required: true };
    }
  }));
  checks.push(...identities);
  return checks;
}
