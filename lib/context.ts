/**
 * Turns a task's parsed flags into the objects the libraries take: the
 * validated {@linkcode Config}, runner options and AWS access. Entry scripts
 * call this once; nothing deeper reads flags or files on its own.
 *
 * @example
 * ```ts
 * import { loadContext } from "./context.ts";
 * const ctx = await loadContext({ config: "mlops.config.json", offline: true });
 * const root = ctx.root("main", "dev");
 * ```
 * @module
 */
import { AwsAccess } from "./aws.ts";
import { UsageError } from "./cli.ts";
import { Config, type Environment } from "./config.ts";
import { resolveProviderMirror, type RootName, type RunnerOptions, TerraformRoot } from "./terraform.ts";

/** The common flags a context is built from. */
export interface ContextFlags {
  config: string;
  offline?: boolean;
  "no-profile"?: boolean;
  "provider-mirror"?: string;
  "lock-timeout"?: string;
}

/** Config, AWS access and runner options of one task run. */
export interface TaskContext {
  config: Config;
  aws: AwsAccess;
  offline: boolean;
  runnerOptions: RunnerOptions;
  /** A runner for `root` (and `env` for the main root) with this run's options. */
  root(root: RootName, env?: Environment | null, extra?: RunnerOptions): TerraformRoot;
}

/** Loads the config and derives everything a task needs from its flags. */
export async function loadContext(flags: ContextFlags): Promise<TaskContext> {
  const lockTimeout = flags["lock-timeout"];
  if (lockTimeout !== undefined && !/^\d+[smh]$/.test(lockTimeout)) {
    throw new UsageError(`Invalid --lock-timeout "${lockTimeout}": use a duration such as 30s, 5m or 1h`);
  }
  const config = await Config.load(flags.config);
  const aws = AwsAccess.fromEnvironment(config, { noProfile: flags["no-profile"] ?? false });
  const offline = flags.offline ?? false;
  const runnerOptions: RunnerOptions = {
    offline,
    providerMirror: resolveProviderMirror(config, flags["provider-mirror"]),
    useProfiles: aws.useProfiles,
    lockTimeout: flags["lock-timeout"],
  };
  return {
    config,
    aws,
    offline,
    runnerOptions,
    root: (root, env = null, extra = {}) => new TerraformRoot(config, root, env, { ...runnerOptions, ...extra }),
  };
}
