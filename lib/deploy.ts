/**
 * Deploying one environment: account guard, init, workspace, a saved plan,
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
import type { Environment } from "./config.ts";
import type { TaskContext } from "./context.ts";
import { log, style, withProgress } from "./log.ts";
import { type PlanSummary, summarizePlan, type TerraformRoot } from "./terraform.ts";

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

/** One line describing a plan summary. */
export function describeSummary(summary: PlanSummary): string {
  const counts = `${summary.add} to add, ${summary.change} to change, ${summary.destroy} to destroy`;
  const notes = [
    ...summary.replace.map((a) => `${style.yellow("replace")} ${a}`),
    ...summary.delete.map((a) => `${style.red("delete")} ${a}`),
  ];
  return [counts, ...notes.map((n) => `  ${n}`)].join("\n");
}

function promptConfirm(question: string): boolean {
  if (!Deno.stdin.isTerminal()) {
    throw new TaskError(`${question} — cannot ask on a non-interactive terminal. Pass --yes to apply in CI.`);
  }
  return confirm(question);
}

/** Plans the main root of `env` and applies it after confirmation. */
export async function deploy(ctx: TaskContext, env: Environment, options: DeployOptions): Promise<DeployResult> {
  if (!ctx.offline) {
    log.step("Checking", `credentials of ${env} (${ctx.aws.describe(ctx.aws.source(env))})`);
    await ctx.aws.assertAccount(env, "deploy");
    if (ctx.aws.useProfiles) await ctx.aws.assertAccount("operations", "read the Terraform state for");
  }
  const root = ctx.root("main", env);
  await withProgress(`Initializing ${root.id}`, root.prepare());
  return await planAndApply(root, env, options, ctx.offline);
}

async function planAndApply(
  root: TerraformRoot,
  env: Environment,
  options: DeployOptions,
  offline: boolean,
): Promise<DeployResult> {
  const planFile = `${root.workDir}/deploy.tfplan`;
  log.step("Planning", `${env}${offline ? " (offline)" : ""}`);
  const planned = await root.plan(planFile, { quiet: options.quiet });
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
  if (planned === "no-changes") return { ...result, status: "no-changes" };
  if (options.planOnly || offline) return result;
  const ask = options.confirm ?? promptConfirm;
  if (!options.yes && !ask(`Apply these changes to ${env}?`)) {
    throw new TaskError(`Deploy of ${env} cancelled; nothing was applied. The plan is saved at ${planFile}.`);
  }
  log.step("Applying", env);
  await root.apply(planFile);
  const outputs = await root.outputs();
  await Deno.mkdir(outputsFile(env).replace(/\/[^/]+$/, ""), { recursive: true });
  await Deno.writeTextFile(outputsFile(env), JSON.stringify(outputs, null, 2) + "\n");
  log.step("Saved", `outputs of ${env} to ${outputsFile(env)}`);
  return { ...result, status: "applied", outputs };
}
