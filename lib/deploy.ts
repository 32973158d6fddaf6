/**
 * Deploying one environment: account guard, init, a saved plan,
 * its summary, confirmation, and applying exactly that plan.
 *
 * @example
 * ```ts
 * import { loadContext } from "./context.ts";
 * import { deploy } from "./deploy.ts";
 * const ctx = await loadContext({ config: "mlops.config.json", offline: true });
 * const result = await deploy(ctx, "dev", { planOnly: true, yes: false });
 * ```
 * @module
 */
import { TaskError } from "./cli.ts";
import { type Environment, ENVIRONMENTS } from "./config.ts";
import type { TaskContext } from "./context.ts";
import { log, style, table, withProgress } from "./log.ts";
import { settleAll } from "./process.ts";
import { askOnTerminal, confirmOnTerminal } from "./prompt.ts";
import { isPending, type PlanSummary, planVerdict, summarizePlan } from "./plan.ts";
import type { TerraformRoot } from "./terraform.ts";
import type { CleanupStep } from "./teardown.ts";

/** Options of {@linkcode deploy}. */
export interface DeployOptions {
  /** Stop after the plan summary. */
  planOnly: boolean;
  /** Apply without asking. */
  yes: boolean;
  /** Keep Terraform's own plan output off the terminal (only the summary is shown). */
  quiet?: boolean;
  /** Asks the user; defaults to a TTY prompt. */
  confirm?: (question: string) => boolean;
}

/** What a deploy did. */
export interface DeployResult {
  environment: Environment;
  offline: boolean;
  summary: PlanSummary;
  status: "no-changes" | "planned" | "applied";
  outputs: Record<string, unknown> | null;
  planFile: string;
  /** Terraform's JSON form of the plan (`terraform show -json`), for inspection. */
  planJsonFile: string;
}

/** Where `deploy` saves an environment's outputs for later tasks (pipeline, promote). */
export function outputsFile(env: Environment): string {
  return `${Deno.cwd()}/.mlops/outputs/${env}.json`;
}

/** Lines describing a plan summary: counts, then replacements, deletions and drift by resource. */
export function describeSummary(summary: PlanSummary): string {
  const counts = `${summary.add} to add, ${summary.change} to change, ${summary.destroy} to destroy`;
  const notes = [
    ...summary.replace.map((a) => `${style.yellow("replace")} ${a}`),
    ...summary.delete.map((a) => `${style.red("delete")} ${a}`),
    ...summary.drifted.map((d) =>
      `${style.yellow("changed outside Terraform")} ${d.address} (${d.attributes.join(", ")}); applying restores it`
    ),
  ];
  // Output changes matter on their own only; beside resource changes they are their echo.
  if (summary.outputs.length > 0 && summary.changed.length === 0) {
    notes.push(`outputs change: ${summary.outputs.join(", ")}`);
  }
  return [counts, ...notes.map((n) => `  ${n}`)].join("\n");
}

/** Plans the main root of `env` and applies it after confirmation. */
export async function deploy(ctx: TaskContext, env: Environment, options: DeployOptions): Promise<DeployResult> {
  if (!ctx.offline) {
    log.step("Checking", `credentials of ${env} (${ctx.aws.describe(ctx.aws.source(env))})`);
    await ctx.aws.assertEnvironment(env, "deploy");
  }
  const root = ctx.root("main", env);
  await withProgress(`Initializing ${root.id}`, root.prepare());
  return await planAndApply(root, env, options, ctx.offline);
}

/** Saves the environment's outputs for the pipeline tasks (refreshed by every online deploy). */
async function saveOutputs(root: TerraformRoot, env: Environment): Promise<Record<string, unknown>> {
  const outputs = await root.outputs();
  await Deno.mkdir(outputsFile(env).replace(/\/[^/]+$/, ""), { recursive: true });
  await Deno.writeTextFile(outputsFile(env), JSON.stringify(outputs, null, 2) + "\n");
  log.step("Saved", `outputs of ${env} to ${outputsFile(env)}`);
  return outputs;
}

async function planAndApply(
  root: TerraformRoot,
  env: Environment,
  options: DeployOptions,
  offline: boolean,
): Promise<DeployResult> {
  const planFile = `${root.workDir}/deploy.tfplan`;
  log.step("Planning", `${env}${offline ? " (offline)" : ""}`);
  await root.plan(planFile, { quiet: options.quiet });
  // The verdict comes from the JSON plan alone, so deploy <env> --plan and deploy --all --plan agree.
  const planJson = await root.showPlan(planFile);
  const planJsonFile = `${root.workDir}/deploy.plan.json`;
  await Deno.writeTextFile(planJsonFile, JSON.stringify(planJson));
  const summary = summarizePlan(planJson);
  log.step("Plan", describeSummary(summary));
  const result: DeployResult = {
    environment: env,
    offline,
    summary,
    status: "planned",
    outputs: null,
    planFile,
    planJsonFile,
  };
  if (!isPending(summary)) {
    return { ...result, status: "no-changes", outputs: offline ? null : await saveOutputs(root, env) };
  }
  if (options.planOnly || offline) return result;
  const ask = options.confirm ?? ((q: string) => confirmOnTerminal(q, "--yes to apply in CI"));
  if (!options.yes && !ask(`Apply these changes to ${env}?`)) {
    throw new TaskError(`Deploy of ${env} cancelled; nothing was applied. The plan is saved at ${planFile}.`);
  }
  log.step("Applying", env);
  await root.apply(planFile);
  return { ...result, status: "applied", outputs: await saveOutputs(root, env) };
}

/** One environment's row of the drift table. */
export interface DriftRow {
  environment: Environment;
  summary: PlanSummary;
  pending: boolean;
}

/** Plans every environment (or those given) in parallel (own data dirs and state keys) without applying. */
export async function planAll(
  ctx: TaskContext,
  environments: readonly Environment[] = ENVIRONMENTS,
): Promise<DriftRow[]> {
  if (!ctx.offline) {
    for (const env of environments) await ctx.aws.assertEnvironment(env, "plan");
  }
  // init one at a time (they share the plugin cache), then plan in parallel.
  const roots = environments.map((env) => ctx.root("main", env));
  for (const root of roots) await root.prepare();
  log.step("Planning", `${environments.join(", ")} in parallel${ctx.offline ? " (offline)" : ""}`);
  return await settleAll(environments.map(async (env, i) => {
    const root = roots[i];
    const planFile = `${root.workDir}/drift.tfplan`;
    // Read-only: plan roles in CI may not write the lock, and a drift check must not block deploys.
    await root.plan(planFile, { quiet: true, lock: false });
    const summary = summarizePlan(await root.showPlan(planFile));
    return { environment: env, summary, pending: isPending(summary) };
  }));
}

/** The drift table: code changes and changes made outside Terraform, told apart. */
export function describeDrift(rows: DriftRow[]): string {
  const colour = { "up to date": style.green, "changes pending": style.yellow, drifted: style.red } as const;
  const table_ = table(
    ["environment", "add", "change", "destroy", "drifted", "status"],
    rows.map((r) => {
      const verdict = planVerdict(r.summary);
      return [
        r.environment,
        String(r.summary.add),
        String(r.summary.change),
        String(r.summary.destroy),
        String(r.summary.drifted.length),
        (colour[verdict as keyof typeof colour] ?? style.red)(verdict),
      ];
    }),
  );
  const drift = rows.flatMap((r) =>
    r.summary.drifted.map((d) =>
      `${r.environment}: ${d.address} changed outside Terraform (${d.attributes.join(", ")})`
    )
  );
  return drift.length > 0 ? `${table_}\n\n${drift.join("\n")}` : table_;
}

/** Options of {@linkcode destroy}. */
export interface DestroyOptions {
  /** Skip the prompt (CI); requires `confirmName` equal to the environment. */
  yes: boolean;
  confirmName?: string;
  /** Asks the user to type the environment name; defaults to a TTY prompt. */
  ask?: (question: string) => string | null;
  /** Cleanups of other modules to run before Terraform (serving's endpoints). */
  cleanupSteps?: CleanupStep[];
}

/**
 * Destroys one environment: its data and what the tasks created outside
 * Terraform (see {@linkcode EnvironmentTeardown}), then its main stack, after
 * the environment name is typed. Safe to re-run after a failure or Ctrl-C.
 */
export async function destroy(ctx: TaskContext, env: Environment, options: DestroyOptions): Promise<PlanSummary> {
  if (ctx.offline) throw new TaskError("There is nothing to destroy offline; drop --offline.");
  if (options.yes && options.confirmName !== env) {
    throw new TaskError(
      `Refusing to destroy ${env}: --yes needs --confirm ${env} (got ${
        options.confirmName ? `"${options.confirmName}"` : "none"
      }).`,
    );
  }
  log.step("Checking", `credentials of ${env} (${ctx.aws.describe(ctx.aws.source(env))})`);
  await ctx.aws.assertEnvironment(env, "destroy");
  const root = ctx.root("main", env);
  await withProgress(`Initializing ${root.id}`, root.prepare());
  const planFile = `${root.workDir}/destroy.tfplan`;
  log.step("Planning", `destruction of ${env}`);
  await root.plan(planFile, { destroy: true });
  const summary = summarizePlan(await root.showPlan(planFile));
  log.step("Plan", describeSummary(summary));
  // Only destroy needs the S3 and SageMaker clients: loading them is most of a deploy's start-up.
  const { describeLeftovers, EnvironmentTeardown, hasLeftovers } = await import("./teardown.ts");
  const teardown = await EnvironmentTeardown.open(ctx, env, options.cleanupSteps ?? []);
  try {
    const leftovers = await teardown.inventory().catch((error) => {
      throw ctx.aws.awsError(env, `list what ${env} holds`, error);
    });
    const first = describeLeftovers(leftovers);
    if (first.length > 0) log.step("First", `deletes ${first.join("; ")}`);
    if (!isPending(summary) && !hasLeftovers(leftovers)) return summary;
    if (!options.yes) {
      const ask = options.ask ?? ((q: string) => askOnTerminal(q, `--yes --confirm ${env} in CI`));
      const typed = ask(
        `This destroys ${summary.destroy} resources in ${env}${
          first.length > 0 ? ` and ${first.join(", ")}` : ""
        }. Type "${env}" to confirm:`,
      );
      if (typed?.trim() !== env) {
        throw new TaskError(`Destroy of ${env} cancelled: the name did not match; nothing was destroyed.`);
      }
    }
    await teardown.run(leftovers).catch((error) => {
      throw ctx.aws.awsError(env, `delete what ${env} holds (re-run destroy to continue)`, error);
    });
    await teardown.assertEmpty();
  } finally {
    teardown.close();
  }
  if (isPending(summary)) {
    log.step("Destroying", env);
    await root.apply(planFile);
  }
  await Deno.remove(outputsFile(env)).catch(() => {});
  return summary;
}
