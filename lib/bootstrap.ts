/**
 * From empty accounts to ready, safe to re-run: every step looks at where
 * the accounts actually are, then acts only if necessary.
 *
 * 1. Preflight: Terraform, the config, and the STS identity of all four
 *    accounts, every problem listed at once.
 * 2. Backend: the state bucket, applied with local state, which is then
 *    migrated into the bucket it created (no state file stays on disk).
 * 3. Operations: registry, GitHub OIDC providers and CI roles in all accounts.
 * 4. Environments: each environment's state object seeded (an empty state, so that CI roles,
 *    which may list only their own prefix, find it: S3 answers them 403, not 404, for a missing
 *    key) and its backend initialised.
 * 5. What to put in the GitHub repository.
 *
 * @example
 * ```ts
 * import { loadContext } from "./context.ts";
 * import { bootstrap } from "./bootstrap.ts";
 * const ctx = await loadContext({ config: "mlops.config.json", offline: true });
 * const report = await bootstrap(ctx, { planOnly: true, yes: false });
 * ```
 * @module
 */
import { isNotFound } from "./aws.ts";
import { TaskError } from "./cli.ts";
import { type AccountName, ENVIRONMENTS } from "./config.ts";
import type { TaskContext } from "./context.ts";
import { describeSummary } from "./deploy.ts";
import { terraformCheck } from "./doctor.ts";
import { log, table } from "./log.ts";
import { confirmOnTerminal } from "./prompt.ts";
import { settleAll } from "./process.ts";
import { type PlanSummary, summarizePlan } from "./plan.ts";
import type { TerraformRoot } from "./terraform.ts";

/** Where the backend stack's state is. */
export type BackendState = "in-bucket" | "local" | "none";

/** What one bootstrap step did (or would do with `--plan`). */
export interface StepReport {
  step: string;
  status: "no changes" | "applied" | "would change" | "migrated" | "seeded" | "ready" | "skipped";
  summary: PlanSummary | null;
  /** Terraform's JSON form of the step's plan (`terraform show -json`), when it planned. */
  planJsonFile?: string;
}

/** Options of {@linkcode bootstrap}. */
export interface BootstrapOptions {
  planOnly: boolean;
  yes: boolean;
  confirm?: (question: string) => boolean;
}

/** The outcome of a bootstrap run. */
export interface BootstrapReport {
  steps: StepReport[];
  /** Operations outputs once applied (role ARNs for GitHub), else null. */
  outputs: Record<string, unknown> | null;
  changed: boolean;
}

/** Runs every preflight check and throws one error listing all problems. */
export async function preflight(ctx: TaskContext): Promise<string> {
  const problems: string[] = [];
  const terraform = await terraformCheck();
  if (terraform.status !== "ok") problems.push(`terraform ${terraform.detail}`);
  if (!ctx.offline) {
    const accounts: AccountName[] = ["operations", ...ENVIRONMENTS];
    const results = await Promise.allSettled(accounts.map((a) => ctx.aws.assertAccount(a, "bootstrap")));
    results.forEach((r) => r.status === "rejected" && problems.push((r.reason as Error).message));
  }
  if (problems.length === 1) throw new TaskError(`Bootstrap preflight failed: ${problems[0]}`);
  if (problems.length > 1) {
    throw new TaskError(
      `Bootstrap preflight found ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  return terraform.detail;
}

/** An empty Terraform state (what `terraform` itself writes before the first apply). */
export function emptyState(terraformVersion: string): string {
  return JSON.stringify(
    {
      version: 4,
      terraform_version: terraformVersion,
      serial: 0,
      lineage: crypto.randomUUID(),
      outputs: {},
      resources: [],
      check_results: null,
    },
    null,
    2,
  ) + "\n";
}

/**
 * Writes an empty state for an environment unless it has one (a conditional PUT, so an existing
 * state is never touched). CI roles may list only their own prefix, and S3 answers such callers
 * 403 rather than 404 for a missing key, which Terraform cannot take for "no state yet".
 */
export async function seedEnvironmentState(
  ctx: TaskContext,
  root: TerraformRoot,
  terraformVersion: string,
): Promise<boolean> {
  const { PutObjectCommand } = await import("@aws-sdk/client-s3");
  const s3 = await ctx.aws.s3Client("operations");
  const { bucket, key } = root.s3BackendConfig() as { bucket: string; key: string };
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: emptyState(terraformVersion),
        IfNoneMatch: "*",
        ContentType: "application/json",
      }),
    );
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) return false;
    throw ctx.aws.awsError("operations", `seed s3://${bucket}/${key}`, error);
  } finally {
    s3.destroy();
  }
}

/** Finds the backend stack's state: in its bucket, still local (migration pending), or nowhere yet. */
export async function locateBackendState(ctx: TaskContext, local: TerraformRoot): Promise<BackendState> {
  const { HeadObjectCommand } = await import("@aws-sdk/client-s3");
  const s3 = await ctx.aws.s3Client("operations");
  const key = String(local.s3BackendConfig().key);
  try {
    await s3.send(new HeadObjectCommand({ Bucket: ctx.config.names.stateBucket, Key: key }));
    return "in-bucket";
  } catch (error) {
    if (!isNotFound(error)) {
      throw ctx.aws.awsError("operations", `check s3://${ctx.config.names.stateBucket}/${key}`, error);
    }
  } finally {
    s3.destroy();
  }
  return (await Deno.stat(local.localStatePath).then(() => true, () => false)) ? "local" : "none";
}

/** Plans a root and applies it when it has changes and the user agrees. */
async function planApply(
  root: TerraformRoot,
  step: string,
  options: BootstrapOptions,
): Promise<StepReport> {
  await root.prepare(); // no-op when already initialised
  const planFile = `${root.workDir}/bootstrap.tfplan`;
  const result = await root.plan(planFile, { quiet: true });
  const planJson = await root.showPlan(planFile);
  const planJsonFile = `${root.workDir}/bootstrap.plan.json`;
  await Deno.writeTextFile(planJsonFile, JSON.stringify(planJson));
  const summary = summarizePlan(planJson);
  if (result === "no-changes") return { step, status: "no changes", summary, planJsonFile };
  log.step("Plan", `${step}: ${describeSummary(summary)}`);
  if (options.planOnly || root.offline) return { step, status: "would change", summary, planJsonFile };
  const ask = options.confirm ?? ((q: string) => confirmOnTerminal(q, "--yes to apply"));
  if (!options.yes && !ask(`Apply these changes to ${step}?`)) {
    throw new TaskError(`Bootstrap stopped before applying ${step}; nothing was applied there. Re-run to continue.`);
  }
  log.step("Applying", step);
  await root.apply(planFile);
  return { step, status: "applied", summary, planJsonFile };
}

/** Bootstraps the accounts (or, with `planOnly`/offline, shows what it would do). */
export async function bootstrap(ctx: TaskContext, options: BootstrapOptions): Promise<BootstrapReport> {
  log.step(
    "Checking",
    ctx.offline ? "tools (offline: no AWS identities)" : "tools and the identity of all four accounts",
  );
  const terraformVersion = await preflight(ctx);
  const planOnly = options.planOnly || ctx.offline;
  const steps: StepReport[] = [];

  if (planOnly) {
    // Independent roots plan in parallel: separate data dirs, separate (local or remote) state.
    const backendState = ctx.offline
      ? "none"
      : await locateBackendState(ctx, ctx.root("backend", null, { localState: true }));
    const backend = ctx.root("backend", null, { localState: backendState !== "in-bucket" });
    // Before the bucket exists the operations stack has no remote state to read: plan it from empty.
    const operations = ctx.root("operations", null, { localState: backendState !== "in-bucket" });
    // init one at a time (they share the plugin cache), then plan in parallel.
    await backend.prepare();
    await operations.prepare();
    log.step("Planning", "backend and operations");
    steps.push(
      ...await settleAll([
        planApply(backend, "backend", { ...options, planOnly: true }),
        planApply(operations, "operations", { ...options, planOnly: true }),
      ]),
    );
    if (backendState === "local") steps.push({ step: "backend state", status: "would change", summary: null });
    steps.push({ step: "environments", status: ctx.offline ? "skipped" : "ready", summary: null });
    return { steps, outputs: null, changed: steps.some((s) => s.status === "would change") };
  }

  // 2. Backend: local state until the bucket exists, then migrated into it.
  const local = ctx.root("backend", null, { localState: true });
  const where = await locateBackendState(ctx, local);
  log.step(
    "Backend",
    `state is ${
      where === "in-bucket" ? "in its bucket" : where === "local" ? "local (migration pending)" : "not created yet"
    }`,
  );
  if (where === "in-bucket") {
    steps.push(await planApply(ctx.root("backend"), "backend", options));
  } else {
    steps.push(await planApply(local, "backend", options));
    await local.migrateStateToS3();
    steps.push({ step: "backend state", status: "migrated", summary: null });
  }

  // 3. Operations.
  const operations = ctx.root("operations");
  steps.push(await planApply(operations, "operations", options));

  // 4. Environments: each one's state seeded and its backend initialised (which checks access too).
  let seeded = false;
  for (const env of ENVIRONMENTS) {
    log.step("Preparing", `state backend of ${env}`);
    const root = ctx.root("main", env);
    if (await seedEnvironmentState(ctx, root, terraformVersion)) {
      log.step("Seeded", `empty state of ${env}`);
      seeded = true;
    }
    await root.prepare();
  }
  steps.push({ step: "environments", status: seeded ? "seeded" : "ready", summary: null });
  const outputs = await operations.outputs();
  const changed = steps.some((s) => ["applied", "migrated", "seeded"].includes(s.status));
  return { steps, outputs, changed };
}

/** Human summary of a bootstrap run, with what to set in GitHub. */
export function describeBootstrap(report: BootstrapReport, planOnly: boolean): string {
  const rows = report.steps.map((
    s,
  ) => [s.step, s.status, s.summary ? `${s.summary.add}/${s.summary.change}/${s.summary.destroy}` : ""]);
  const lines = [table(["step", "status", "add/change/destroy"], rows), ""];
  if (!report.changed) {
    lines.push(planOnly ? "Nothing to change: already bootstrapped." : "No changes: already bootstrapped.");
  } else if (planOnly) lines.push("Run `deno task bootstrap` (without --plan) to apply.");
  const outputs = report.outputs as
    | { build_role_arn?: string; deploy_role_arns?: Record<string, string>; plan_role_arns?: Record<string, string> }
    | null;
  if (outputs?.build_role_arn) {
    lines.push("", "Set these GitHub repository variables (Settings → Secrets and variables → Actions → Variables):");
    lines.push(`  MLOPS_BUILD_ROLE_ARN=${outputs.build_role_arn}`);
    for (const env of ENVIRONMENTS) {
      if (outputs.deploy_role_arns?.[env]) {
        lines.push(`  MLOPS_${env.toUpperCase()}_DEPLOY_ROLE_ARN=${outputs.deploy_role_arns[env]}`);
      }
      if (outputs.plan_role_arns?.[env]) {
        lines.push(`  MLOPS_${env.toUpperCase()}_PLAN_ROLE_ARN=${outputs.plan_role_arns[env]}`);
      }
    }
    lines.push("Then create the GitHub environment `prod` with required reviewers, and deploy: deno task deploy dev");
  }
  return lines.join("\n");
}
