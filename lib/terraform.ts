/**
 * The Terraform runner: one {@linkcode TerraformRoot} per (root, environment)
 * renders that run's var file and partial backend configuration from the
 * config, keeps its own data directory (so environments never re-init each
 * other and can plan in parallel), runs `init` only when the backend
 * configuration or the providers changed, and returns outputs as JSON.
 *
 * Offline mode plans any root with no AWS account: the tree is copied to a
 * scratch directory with an override that swaps the S3 backend for local
 * state and sets the provider's skip flags; credentials are fake.
 *
 * @example
 * ```ts
 * import { Config } from "./config.ts";
 * import { TerraformRoot } from "./terraform.ts";
 * const config = await Config.load("mlops.config.json");
 * const root = new TerraformRoot(config, "main", "dev", { offline: true });
 * await root.prepare();
 * const result = await root.plan("dev.tfplan");
 * ```
 * @module
 */
import { s3EndpointOverridden } from "./aws.ts";
import { TaskError } from "./cli.ts";
import { sha256Hex } from "./hash.ts";
import type { Config, Environment } from "./config.ts";
import { ENVIRONMENTS } from "./config.ts";
import { log } from "./log.ts";
import type { PlanJson } from "./plan.ts";
import { run, type RunOptions, type RunResult } from "./process.ts";

/** The three Terraform roots. */
export const ROOTS = {
  backend: { description: "state bucket (operations account)", perEnvironment: false, aliases: [] },
  operations: {
    description: "image registry, GitHub OIDC, CI roles (operations + every environment account)",
    perEnvironment: false,
    aliases: ENVIRONMENTS,
  },
  main: {
    description: "one environment: ML bucket, SageMaker role, model registry, schedule",
    perEnvironment: true,
    aliases: [],
  },
} as const;

/** One of the roots under `terraform/`. */
export type RootName = keyof typeof ROOTS;
/** All root names. */
export const ROOT_NAMES = Object.keys(ROOTS) as RootName[];

/** Options of a runner. */
export interface RunnerOptions {
  /** Repository root holding `terraform/` (default: the current directory). */
  repoDir?: string;
  /** Scratch directory for data dirs, var files and offline copies (default `<repo>/.mlops`). */
  stateDir?: string;
  /** Plan with no AWS account: local state, fake credentials, skip flags. */
  offline?: boolean;
  /** Directory of providers in filesystem-mirror layout, for air-gapped machines. */
  providerMirror?: string | null;
  /** Pass the config's AWS profiles to Terraform (a laptop); false in CI. */
  useProfiles?: boolean;
  /**
   * Use local state for this root (the backend stack before its bucket exists): the tree is
   * copied next to the state with an override that swaps in the local backend, until
   * {@linkcode TerraformRoot.migrateStateToS3} moves the state into the bucket.
   */
  localState?: boolean;
  /** `terraform` executable. */
  terraformBin?: string;
  /** How long to wait for the state lock (default: the config's `terraform.lockTimeout`). */
  lockTimeout?: string;
  /** For `validate` and `terraform test` only: no backend, no var file. */
  checkOnly?: boolean;
}

/** What `terraform plan -detailed-exitcode` found. */
export type PlanResult = "changes" | "no-changes";

/** Terraform's `output -json`, reduced to the values. */
export type Outputs = Record<string, unknown>;

/** Where the AWS provider sits in a filesystem mirror. */
export const MIRROR_AWS_PATH = "registry.terraform.io/hashicorp/aws";

/**
 * The problem with a provider mirror directory, or null when it has the AWS provider in
 * filesystem-mirror layout (`DIR/registry.terraform.io/hashicorp/aws/<version>/<platform>/…`).
 */
export async function providerMirrorProblem(mirror: string): Promise<string | null> {
  const found = await Deno.stat(`${mirror}/${MIRROR_AWS_PATH}`).then((i) => i.isDirectory, () => false);
  if (found) return null;
  return `The provider mirror "${mirror}" has no ${MIRROR_AWS_PATH}; point MLOPS_PROVIDER_MIRROR (or --provider-mirror) ` +
    `at a directory in filesystem-mirror layout (${MIRROR_AWS_PATH}/<version>/<os_arch>/…)`;
}

/** Whether Terraform failed because it could not download a provider (no registry access). */
export function isProviderInstallFailure(text: string): boolean {
  return /provider packages|registry\.terraform\.io|Failed to install provider|Failed to query available provider/i
    .test(
      text,
    );
}

/** Resolves the provider mirror: option, then `MLOPS_PROVIDER_MIRROR`, then the config. */
export function resolveProviderMirror(config: Config, option?: string): string | null {
  return option || Deno.env.get("MLOPS_PROVIDER_MIRROR") || config.data.terraform.providerMirror || null;
}

function join(...parts: string[]): string {
  return parts.join("/").replace(/\/+/g, "/");
}

function absolute(path: string): string {
  if (path.startsWith("/")) return path;
  return path === "." ? Deno.cwd() : join(Deno.cwd(), path.replace(/^\.\//, ""));
}

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Writes a file only when its content differs; says whether it wrote (keeps Terraform's view stable). */
export async function writeIfChanged(path: string, data: string | Uint8Array): Promise<boolean> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const current = await Deno.readFile(path).catch(() => null);
  if (current && current.length === bytes.length && current.every((b, i) => b === bytes[i])) return false;
  await Deno.writeFile(path, bytes);
  return true;
}

/** Files of a copied tree that the copy owns: Terraform's lock file, state, and the runner's override. */
function ownedByCopy(name: string): boolean {
  return name.startsWith(".terraform") || name.includes(".tfstate") || name === OVERRIDE_FILE;
}

/**
 * Makes `to` a copy of `from`: changed files rewritten (as bytes), files gone from `from`
 * deleted (a renamed `.tf` file must not linger), what the copy owns kept.
 */
async function syncTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  const wanted = new Set<string>();
  for await (const entry of Deno.readDir(from)) {
    if (ownedByCopy(entry.name)) continue;
    wanted.add(entry.name);
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory) await syncTree(source, target);
    else if (entry.isFile) await writeIfChanged(target, await Deno.readFile(source));
  }
  for await (const entry of Deno.readDir(to)) {
    if (!wanted.has(entry.name) && !ownedByCopy(entry.name)) {
      await Deno.remove(join(to, entry.name), { recursive: true });
    }
  }
}

/** The override file the runner adds to a copied root. */
const OVERRIDE_FILE = "zz_runner_override.tf";

function hclString(value: string): string {
  return JSON.stringify(value);
}

/** A Terraform CLI configuration that installs providers from the filesystem mirror at `mirror` only. */
export function mirrorCliConfig(mirror: string): string {
  return ["provider_installation {", "  filesystem_mirror {", `    path = ${hclString(mirror)}`, "  }", "}", ""].join(
    "\n",
  );
}

/** Renders `key = value` lines (the `-backend-config` file format). */
export function renderBackendConfig(values: Record<string, string | boolean>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k} = ${typeof v === "boolean" ? String(v) : hclString(v)}`)
    .join("\n") + "\n";
}

/** A Terraform root bound to one environment (or none), with its own data dir. */
export class TerraformRoot {
  readonly repoDir: string;
  readonly stateDir: string;
  readonly offline: boolean;
  readonly providerMirror: string | null;
  readonly useProfiles: boolean;
  readonly localState: boolean;
  readonly terraformBin: string;
  readonly lockTimeout: string;
  readonly checkOnly: boolean;

  constructor(
    readonly config: Config,
    readonly root: RootName,
    readonly env: Environment | null,
    options: RunnerOptions = {},
  ) {
    this.checkOnly = options.checkOnly ?? false;
    if (ROOTS[root].perEnvironment && !env && !this.checkOnly) {
      throw new TaskError(`The "${root}" root needs an environment (one of ${ENVIRONMENTS.join(", ")}).`);
    }
    if (!ROOTS[root].perEnvironment && env) {
      throw new TaskError(`The "${root}" root is shared by all environments; do not pass "${env}".`);
    }
    this.repoDir = absolute(options.repoDir ?? ".");
    this.stateDir = absolute(options.stateDir ?? join(this.repoDir, ".mlops"));
    this.offline = options.offline ?? false;
    this.providerMirror = options.providerMirror ? absolute(options.providerMirror) : null;
    this.useProfiles = !this.offline && (options.useProfiles ?? false);
    this.localState = this.offline || (options.localState ?? false);
    this.terraformBin = options.terraformBin ?? "terraform";
    this.lockTimeout = options.lockTimeout ?? config.data.terraform.lockTimeout;
    if (!/^\d+[smh]$/.test(this.lockTimeout)) {
      throw new TaskError(`Invalid lock timeout "${this.lockTimeout}": use a duration such as 30s, 5m or 1h.`);
    }
  }

  /** `main-dev`, `operations`, … */
  get id(): string {
    return this.env ? `${this.root}-${this.env}` : this.root;
  }

  /** Scratch directory of this (root, env) run. */
  get workDir(): string {
    return join(this.stateDir, this.checkOnly ? "check" : this.offline ? "offline" : "terraform", this.id);
  }

  /** Whether Terraform runs in a copy of the tree (offline or local-state runs). */
  get copied(): boolean {
    return this.localState && !this.checkOnly;
  }

  /** Directory Terraform runs in (`-chdir`). */
  get chdir(): string {
    return this.copied ? join(this.workDir, "src", this.root) : join(this.repoDir, "terraform", this.root);
  }

  /** The override file of a copied tree. */
  get overrideFile(): string {
    return join(this.chdir, OVERRIDE_FILE);
  }

  /** The generated var file. */
  get varFile(): string {
    return join(this.workDir, "vars.tfvars.json");
  }

  /** State file used when state is local. */
  get localStatePath(): string {
    return join(this.workDir, "terraform.tfstate");
  }

  private profile(account: "operations" | Environment): string | null {
    return this.useProfiles ? this.config.account(account).profile : null;
  }

  /** The root's input variables, rendered from the config. */
  variables(): Record<string, unknown> {
    const { data, names, subjects } = this.config;
    const common = { name: data.name, region: data.region, tags: data.tags };
    switch (this.root) {
      case "backend":
        return {
          ...common,
          profile: this.profile("operations"),
          operations_account_id: data.accounts.operations.id,
          state_bucket_name: names.stateBucket,
          environments: Object.fromEntries(ENVIRONMENTS.map((env) => [env, {
            account_id: data.accounts[env].id,
            state_prefix: names.statePrefix(env),
            deploy_role_name: names.deployRole(env),
            plan_role_name: names.planRole(env),
          }])),
          access_logs: data.accessLogs.enabled
            ? {
              bucket_name: names.accessLogsBucket,
              retention_days: data.accessLogs.retentionDays,
              source_bucket_names: [names.stateBucket, names.recordsBucket],
            }
            : null,
        };
      case "operations":
        return {
          ...common,
          profile: this.profile("operations"),
          operations_account_id: data.accounts.operations.id,
          github_repository: data.github.repository,
          build_subjects: subjects.build,
          build_role_name: names.buildRole,
          ecr_repository_name: names.ecrRepository,
          state_bucket_name: names.stateBucket,
          records_bucket_name: names.recordsBucket,
          access_logs_bucket_name: data.accessLogs.enabled ? names.accessLogsBucket : null,
          environments: Object.fromEntries(ENVIRONMENTS.map((env) => [env, {
            account_id: data.accounts[env].id,
            profile: this.profile(env),
            state_prefix: names.statePrefix(env),
            deploy_role_name: names.deployRole(env),
            deploy_subjects: subjects.deploy(env),
            plan_role_name: names.planRole(env),
            plan_subjects: subjects.plan,
            boundary_policy_name: names.boundaryPolicy,
            execution_role_name: names.executionRole(env),
            scheduler_role_name: names.schedulerRole(env),
          }])),
        };
      case "main": {
        const env = this.env!;
        const settings = data.environments[env];
        return {
          ...common,
          profile: this.profile(env),
          environment: env,
          account_id: data.accounts[env].id,
          operations_account_id: data.accounts.operations.id,
          ecr_repository_arn: names.ecrRepositoryArn,
          bucket_name: names.mlBucket(env),
          execution_role_name: names.executionRole(env),
          permissions_boundary_arn: `arn:aws:iam::${data.accounts[env].id}:policy/${names.boundaryPolicy}`,
          model_package_group_name: names.modelPackageGroup,
          pipeline_name: names.pipeline,
          retraining: {
            enabled: settings.retraining.enabled,
            schedule_expression: settings.retraining.schedule,
            scheduler_role_name: names.schedulerRole(env),
          },
          studio: { enabled: settings.studio },
          serving: { provisioned: settings.serving.variant === "provisioned" },
        };
      }
    }
  }

  /** Partial S3 backend configuration (`-backend-config`), or null for local state. */
  backendConfig(): Record<string, string | boolean> | null {
    return this.localState || this.checkOnly ? null : this.s3BackendConfig();
  }

  /** The S3 backend configuration of this root, also used to migrate local state into it. */
  s3BackendConfig(): Record<string, string | boolean> {
    const { names, region } = this.config;
    // One state key per environment rather than CLI workspaces: with workspaces the S3 backend
    // lists and reads outside an environment's prefix (the default workspace's key at the bucket
    // root), which per-environment least privilege must deny. `workspace_key_prefix` is set to the
    // same prefix so the backend's listing stays inside it too.
    const prefix = this.env ? names.statePrefix(this.env) : `${this.root}/`;
    const values: Record<string, string | boolean> = {
      bucket: names.stateBucket,
      key: `${prefix}terraform.tfstate`,
      workspace_key_prefix: prefix.replace(/\/$/, ""),
      region,
      encrypt: true,
      use_lockfile: true,
    };
    const profile = this.profile("operations");
    if (profile) values.profile = profile;
    if (s3EndpointOverridden()) values.use_path_style = true;
    return values;
  }

  /**
   * The Terraform CLI configuration of a run with a provider mirror; null without one, so the
   * user's own (`~/.terraformrc`, `TF_CLI_CONFIG_FILE`: network mirrors, registry credentials) applies.
   */
  cliConfig(): string | null {
    return this.providerMirror ? mirrorCliConfig(this.providerMirror) : null;
  }

  /** The shared plugin cache, unless the user set `TF_PLUGIN_CACHE_DIR`. */
  get pluginCacheDir(): string {
    return Deno.env.get("TF_PLUGIN_CACHE_DIR") || join(this.stateDir, "plugin-cache");
  }

  /** The override of a copied tree: local state, and for offline runs no AWS at all. */
  override(): string {
    const backend = [
      "terraform {",
      `  backend "local" {`,
      `    path = ${hclString(this.localStatePath)}`,
      "  }",
      "}",
    ];
    if (!this.offline) {
      return ["# Written by the runner: local state until it is migrated to S3.", ...backend, ""].join("\n");
    }
    const skip = [
      "  skip_credentials_validation = true",
      "  skip_requesting_account_id  = true",
      "  skip_metadata_api_check     = true",
      "  skip_region_validation      = true",
      '  access_key                  = "offline"',
      '  secret_key                  = "offline"',
      "  allowed_account_ids         = null",
      "  profile                     = null",
    ];
    const providers = [null, ...ROOTS[this.root].aliases].map((alias) =>
      [`provider "aws" {`, ...(alias ? [`  alias = ${hclString(alias)}`] : []), ...skip, "}"].join("\n")
    );
    return ["# Written by the runner's offline mode: local state, no AWS calls.", ...backend, ...providers, ""].join(
      "\n",
    );
  }

  /** Terraform's data directory for this root (`TF_DATA_DIR`): backend, modules, providers. */
  get dataDir(): string {
    return join(this.workDir, "data");
  }

  /** Environment of every terraform child process. */
  childEnv(): Record<string, string | undefined> {
    const env: Record<string, string | undefined> = {
      TF_DATA_DIR: this.dataDir,
      TF_PLUGIN_CACHE_DIR: this.pluginCacheDir,
      TF_IN_AUTOMATION: "1",
      TF_INPUT: "0",
    };
    if (this.providerMirror) env.TF_CLI_CONFIG_FILE = join(this.workDir, "cli.tfrc");
    if (Deno.env.get("NO_COLOR") || !Deno.stderr.isTerminal()) {
      for (const command of ["init", "plan", "apply", "destroy", "output", "show", "validate", "test"]) {
        env[`TF_CLI_ARGS_${command}`] = "-no-color";
      }
    }
    if (this.offline) {
      Object.assign(env, { AWS_ACCESS_KEY_ID: "offline", AWS_SECRET_ACCESS_KEY: "offline", AWS_PROFILE: undefined });
    }
    return env;
  }

  /** Runs terraform in this root with its environment. */
  async terraform(args: string[], options: RunOptions = {}): Promise<RunResult> {
    return await run([this.terraformBin, `-chdir=${this.chdir}`, ...args], {
      ...options,
      env: { ...this.childEnv(), ...options.env },
    });
  }

  private async terraformOk(args: string[], what: string, options: RunOptions = {}): Promise<RunResult> {
    const result = await this.terraform(args, { captureStderr: true, ...options });
    if (result.code !== 0) throw this.failure(what, result.stderr);
    return result;
  }

  /** The one-line error of a failed terraform command; a held lock names its holder. */
  failure(what: string, stderr: string): TaskError {
    const lock = lockHolder(stderr);
    if (lock) {
      const tf = `deno task tf ${this.root}${this.env ? ` ${this.env}` : ""}`;
      return new TaskError(
        `The state of ${this.id} is locked by ${lock.who} (${lock.operation} since ${lock.created}, lock ID ${lock.id}); waited ${this.lockTimeout}. ` +
          `Re-run when that run has finished; if it died, release the lock with: ${tf} -- force-unlock -force ${lock.id}`,
        { cause: new Error(stderr) },
      );
    }
    const fix = isProviderInstallFailure(stderr)
      ? "Terraform cannot download the AWS provider here: point MLOPS_PROVIDER_MIRROR (or --provider-mirror) at a provider mirror, or allow access to registry.terraform.io."
      : "Re-run with --debug for Terraform's full output.";
    const error = lastError(stderr).replace(/[^.!?:]$/, "$&.");
    return new TaskError(`terraform ${what} failed in ${this.id}: ${error} ${fix}`, {
      cause: new Error(stderr),
    });
  }

  /** Fingerprint of what `init` depends on: backend config, CLI config, provider and module requirements. */
  async initFingerprint(): Promise<string> {
    // The root and every module it may call: a provider or module change anywhere needs init.
    const requirements: string[] = [];
    const collect = async (dir: string, label: string) => {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.isFile && entry.name.endsWith(".tf")) {
          const text = await Deno.readTextFile(join(dir, entry.name));
          const lines = text.split("\n").filter((l) =>
            /^\s*(source|version|required_version)\s*=|^\s*backend\s/.test(l)
          );
          requirements.push(`${label}/${entry.name}:${lines.join("|")}`);
        } else if (entry.isDirectory && label === "modules") {
          await collect(join(dir, entry.name), `modules/${entry.name}`);
        }
      }
    };
    await collect(this.chdir, this.root);
    const modules = join(this.chdir, "..", "modules");
    if (await Deno.stat(modules).then((i) => i.isDirectory, () => false)) await collect(modules, "modules");
    return await sha256Hex(JSON.stringify({
      backend: this.backendConfig(),
      cli: this.cliConfig(),
      override: this.copied ? this.override() : null,
      requirements: requirements.sort(),
    }));
  }

  /**
   * Writes the var file, backend and CLI config, runs `init` if what it
   * depends on changed.
   */
  async prepare(): Promise<void> {
    const source = join(this.repoDir, "terraform", this.root);
    if (!(await Deno.stat(source).then((i) => i.isDirectory, () => false))) {
      throw new TaskError(`There is no Terraform root at ${source}. Run the task from the repository root.`);
    }
    if (this.providerMirror) {
      const problem = await providerMirrorProblem(this.providerMirror);
      if (problem) throw new TaskError(`${problem}.`);
    }
    await Deno.mkdir(this.workDir, { recursive: true });
    if (this.copied) {
      await syncTree(join(this.repoDir, "terraform"), join(this.workDir, "src"));
      await writeIfChanged(this.overrideFile, this.override());
    }
    if (!this.checkOnly) await writeIfChanged(this.varFile, JSON.stringify(this.variables(), null, 2) + "\n");
    const cliConfig = this.cliConfig();
    if (cliConfig) await writeIfChanged(join(this.workDir, "cli.tfrc"), cliConfig);
    await Deno.mkdir(this.pluginCacheDir, { recursive: true });
    const fingerprintFile = join(this.workDir, "init.sha256");
    const fingerprint = await this.initFingerprint();
    if ((await readText(fingerprintFile)) !== fingerprint) {
      await this.init();
      await Deno.writeTextFile(fingerprintFile, fingerprint);
    } else {
      log.debug(`${this.id}: init skipped (backend and providers unchanged)`);
    }
  }

  /** `terraform init` with the rendered backend configuration. */
  async init(extra: string[] = []): Promise<void> {
    log.step("Initializing", this.id);
    const backend = this.backendConfig();
    const args = ["init", "-input=false", `-lock-timeout=${this.lockTimeout}`, ...extra];
    if (this.checkOnly) args.push("-backend=false");
    // Offline state is scratch: a moved checkout may re-point it without migrating anything.
    if (this.offline) args.push("-reconfigure");
    if (backend) {
      const file = join(this.workDir, "backend.tfbackend");
      await writeIfChanged(file, renderBackendConfig(backend));
      args.push(`-backend-config=${file}`, "-reconfigure");
    }
    await this.terraformOk(args, "init", { capture: true });
  }

  /**
   * Moves this root's local state into its S3 backend (`init -migrate-state`) and deletes the
   * local copies, so no state file stays on disk. Safe to re-run: with no local state left
   * there is nothing to do.
   */
  async migrateStateToS3(): Promise<boolean> {
    if (!this.localState || this.offline) {
      throw new TaskError(`Only a local-state run of ${this.id} can migrate its state.`);
    }
    if ((await readText(this.localStatePath)) === null) return false;
    log.step("Migrating", `${this.id} state into s3://${this.config.names.stateBucket}`);
    await Deno.remove(this.overrideFile).catch(() => {});
    const file = join(this.workDir, "backend.tfbackend");
    await writeIfChanged(file, renderBackendConfig(this.s3BackendConfig()));
    await this.terraformOk(
      [
        "init",
        "-input=false",
        "-migrate-state",
        "-force-copy",
        `-lock-timeout=${this.lockTimeout}`,
        `-backend-config=${file}`,
      ],
      "init -migrate-state",
      { capture: true },
    );
    for (const path of [this.localStatePath, `${this.localStatePath}.backup`, join(this.workDir, "init.sha256")]) {
      await Deno.remove(path).catch(() => {});
    }
    await Deno.remove(join(this.workDir, "src"), { recursive: true });
    return true;
  }

  /** `terraform plan` saved to `planFile`; says whether anything would change. */
  async plan(
    planFile: string,
    options: { destroy?: boolean; lock?: boolean; quiet?: boolean } = {},
  ): Promise<PlanResult> {
    const args = [
      "plan",
      "-input=false",
      "-detailed-exitcode",
      `-var-file=${this.varFile}`,
      `-out=${absolute(planFile)}`,
      `-lock-timeout=${this.lockTimeout}`,
    ];
    if (options.destroy) args.push("-destroy");
    if (options.lock === false) args.push("-lock=false");
    const result = await this.terraform(args, {
      captureStderr: true,
      ...(options.quiet ? { capture: true } : { stdoutToStderr: true }),
    });
    if (result.code === 0) return "no-changes";
    if (result.code === 2) return "changes";
    throw this.failure("plan", result.stderr);
  }

  /** The JSON form of a saved plan (`terraform show -json`). */
  async showPlan(planFile: string): Promise<PlanJson> {
    const result = await this.terraformOk(["show", "-json", absolute(planFile)], "show", { capture: true });
    return JSON.parse(result.stdout) as PlanJson;
  }

  /** Applies exactly a saved plan. */
  async apply(planFile: string): Promise<void> {
    await this.terraformOk(
      ["apply", "-input=false", `-lock-timeout=${this.lockTimeout}`, absolute(planFile)],
      "apply",
      { stdoutToStderr: true },
    );
  }

  /** The root's outputs as plain values. */
  async outputs<T extends Outputs = Outputs>(): Promise<T> {
    const result = await this.terraformOk(["output", "-json"], "output", { capture: true });
    const raw = JSON.parse(result.stdout) as Record<string, { value: unknown }>;
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.value])) as T;
  }
}

/** Who holds the state lock, from Terraform's "Error acquiring the state lock" output. */
export function lockHolder(stderr: string): { id: string; who: string; operation: string; created: string } | null {
  if (!stderr.includes("Error acquiring the state lock")) return null;
  const field = (name: string) => new RegExp(`^[│\\s]*${name}:\\s*(.*?)\\s*$`, "m").exec(stderr)?.[1] ?? "unknown";
  return { id: field("ID"), who: field("Who"), operation: field("Operation"), created: field("Created") };
}

/** Longest error text kept from Terraform's output; longer text is cut at a sentence's end. */
const MAX_ERROR_CHARS = 500;

/**
 * Terraform's first error as one line: its summary and whole detail sentences, without the box
 * drawing and source snippets (the full output is in the error's cause, shown with `--debug`).
 */
export function lastError(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.replace(/^[│╷╵\s]+/, "").trim()).filter(Boolean);
  const index = lines.findIndex((l) => l.startsWith("Error:"));
  if (index === -1) return lines.at(-1) ?? "no error output";
  const next = lines.findIndex((l, i) => i > index && /^(Error|Warning):/.test(l));
  const [summary, ...detail] = lines.slice(index, next === -1 ? undefined : next)
    .filter((l) => !/^on \S+ line \d+/.test(l) && !/^\d+:/.test(l) && !/^[├└─│]/.test(l));
  const text = [summary.replace(/^Error:\s*/, ""), detail.join(" ")].filter(Boolean).join(": ");
  if (text.length <= MAX_ERROR_CHARS) return text;
  const end = text.lastIndexOf(". ", MAX_ERROR_CHARS);
  return end > 0 ? text.slice(0, end + 1) : `${text.slice(0, MAX_ERROR_CHARS)}…`;
}
