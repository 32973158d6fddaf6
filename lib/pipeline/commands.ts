/**
 * What `deno task pipeline …` and `deno task demo` do, over the definition,
 * the local runner and (later) SageMaker.
 *
 * @example
 * ```ts
 * import { loadContext } from "../context.ts";
 * import { localRun } from "./commands.ts";
 * const ctx = await loadContext({ config: "mlops.config.json", offline: true });
 * const result = await localRun(ctx, { env: "dev", params: [] });
 * ```
 * @module
 */
import { TaskError } from "../cli.ts";
import type { Environment } from "../config.ts";
import type { TaskContext } from "../context.ts";
import { log, style, table } from "../log.ts";
import { PythonEnv } from "../python_env.ts";
import { buildDefinition, canonicalJson, type DefinitionInputs, EVALUATION, offlineInputs } from "./definition.ts";
import { LocalPipelineRun, type LocalRunResult } from "./local.ts";
import type { PipelineDefinition } from "./steps.ts";
import { definitionProblems } from "./validate.ts";

/** Builds the definition and refuses one that is structurally unsound. */
export function checkedDefinition(inputs: DefinitionInputs): PipelineDefinition {
  const definition = buildDefinition(inputs);
  const problems = definitionProblems(definition);
  if (problems.length > 0) {
    throw new TaskError(`The pipeline definition is invalid: ${problems.join("; ")}.`);
  }
  return definition;
}

/** Inputs for an environment: offline placeholders, or the deployed Terraform outputs and a pinned image. */
export async function definitionInputs(
  ctx: TaskContext,
  env: Environment,
  options: { image?: string },
): Promise<DefinitionInputs> {
  const placeholder = offlineInputs(ctx.config, env);
  if (ctx.offline) return options.image ? { ...placeholder, imageUri: options.image } : placeholder;
  if (!options.image) {
    throw new TaskError(
      `The pipeline of ${env} needs the image pinned by digest: pass --image <repository>@sha256:<digest> (printed by deno task build), or use --offline for placeholders.`,
    );
  }
  const root = ctx.root("main", env);
  await root.prepare();
  const outputs = await root.outputs<
    { execution_role_arn?: string; bucket_name?: string; model_package_group_name?: string }
  >();
  if (!outputs.execution_role_arn || !outputs.bucket_name || !outputs.model_package_group_name) {
    throw new TaskError(
      `The ${env} environment has no Terraform outputs yet. Deploy it first: deno task deploy ${env}`,
    );
  }
  return {
    config: ctx.config,
    env,
    executionRoleArn: outputs.execution_role_arn,
    bucket: outputs.bucket_name,
    modelPackageGroup: outputs.model_package_group_name,
    imageUri: options.image,
  };
}

/** Copies a file only when the target differs (the local stand-in for upload-data). */
async function syncFile(from: string, to: string): Promise<boolean> {
  const source = await Deno.readFile(from).catch(() => {
    throw new TaskError(`The dataset "${from}" does not exist. Set pipeline.dataset.path in the config to a CSV file.`);
  });
  const current = await Deno.readFile(to).catch(() => null);
  if (current && current.length === source.length && current.every((b, i) => b === source[i])) return false;
  await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
  await Deno.writeFile(to, source);
  return true;
}

/** Options of {@linkcode localRun}. */
export interface LocalRunCommandOptions {
  env: Environment;
  params: string[];
  /** Root of local state (default `<repo>/.mlops/local`). */
  root?: string;
  repoDir?: string;
}

/** Runs the pipeline locally on the configured dataset. */
export async function localRun(ctx: TaskContext, options: LocalRunCommandOptions): Promise<LocalRunResult> {
  const repoDir = options.repoDir ?? Deno.cwd();
  const root = options.root ?? `${repoDir}/.mlops/local`;
  const inputs = offlineInputs(ctx.config, options.env);
  const definition = checkedDefinition(inputs);
  const venv = await PythonEnv.ensure(repoDir);
  const pipelineRun = new LocalPipelineRun(definition, {
    root,
    python: venv.python,
    programDir: `${repoDir}/training-pipeline/src`,
    params: options.params,
    pipelineName: ctx.config.names.pipeline,
  });
  const dataset = ctx.config.data.pipeline.dataset.path;
  const inputData = String(definition.Parameters.find((p) => p.Name === "InputData")!.DefaultValue);
  const uploaded = await syncFile(`${repoDir}/${dataset}`, pipelineRun.s3Path(inputData));
  log.step(uploaded ? "Uploaded" : "Unchanged", `${dataset} → ${inputData} (local)`);
  log.step("Starting", `${ctx.config.names.pipeline} locally, execution ${pipelineRun.executionId}`);
  return await pipelineRun.run();
}

/** Human summary of a local run. */
export function describeLocalRun(result: LocalRunResult): string {
  const lines = [
    table(
      ["step", "type", "status", "seconds", "detail"],
      result.steps.map((s) => [
        s.name,
        s.type,
        s.status === "Succeeded" ? style.green(s.status) : style.red(s.status),
        s.seconds.toFixed(1),
        s.detail.length > 90 ? `${s.detail.slice(0, 87)}...` : s.detail,
      ]),
    ),
    "",
  ];
  const report = Object.entries(result.propertyFiles).find(([k]) => k.endsWith(`.${EVALUATION.file}`))?.[1] as
    | { metrics?: Record<string, { value: number }> }
    | undefined;
  if (report?.metrics) {
    const metrics = Object.entries(report.metrics).map(([k, v]) => `${k} ${v.value.toFixed(3)}`).join(", ");
    lines.push(`Metrics:     ${metrics} (threshold ${result.parameters.AccuracyThreshold})`);
  }
  if (result.registered) {
    const r = result.registered;
    lines.push(`Registered:  ${r.group} version ${r.version} (${r.approvalStatus}) in ${r.dir}`);
  } else {
    lines.push("Registered:  nothing");
  }
  lines.push(`Artifacts:   ${result.runDir}`);
  lines.push(
    result.status === "Succeeded"
      ? `Pipeline ${style.green("succeeded")} (execution ${result.executionId}).`
      : `Pipeline ${style.red("failed")} at step ${result.failedStep}: ${result.failureReason}`,
  );
  return lines.join("\n");
}

/** Prints the definition as canonical JSON. */
export async function printDefinition(ctx: TaskContext, env: Environment, image?: string): Promise<void> {
  const definition = checkedDefinition(await definitionInputs(ctx, env, { image }));
  console.log(canonicalJson(definition, 2));
}
