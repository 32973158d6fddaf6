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
import { TaskError, UsageError } from "../cli.ts";
import { type Environment, hyperparameterProblem, HYPERPARAMETERS } from "../config.ts";
import type { TaskContext } from "../context.ts";
import { outputsFile } from "../deploy.ts";
import { sha256Hex } from "../hash.ts";
import { writeIfChanged } from "../terraform.ts";
import { log, style, table } from "../log.ts";
import { PythonEnv } from "../python_env.ts";
import {
  buildDefinition,
  canonicalJson,
  definitionHash,
  type DefinitionInputs,
  EVALUATION,
  offlineInputs,
  UNKNOWN_COMMIT,
} from "./definition.ts";
import { LocalPipelineRun, type LocalRunResult, type ParamCheck, parseParams } from "./local.ts";
import { dataVersion, type ExecutionState, PipelineService, uploadIfChanged, type UpsertAction } from "./sagemaker.ts";

export { failureOf } from "./sagemaker.ts";
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

/** Hyperparameter overrides must pass the config's own check of that hyperparameter. */
export const hyperparameterCheck: ParamCheck = (name, value) =>
  (HYPERPARAMETERS as readonly string[]).includes(name) ? hyperparameterProblem(name, value) : null;

/** SageMaker's bounds on `StartPipelineExecution`'s `ClientRequestToken`. */
export const TOKEN_LENGTH = { min: 32, max: 128 };

/** Why SageMaker would reject a start token, or null when it is valid. */
export function tokenProblem(token: string): string | null {
  const { min, max } = TOKEN_LENGTH;
  if (token.length >= min && token.length <= max) return null;
  return `--token "${token}" has ${token.length} characters; SageMaker needs ${min} to ${max} (leave it out to get a fresh one)`;
}

/** The Terraform outputs of the main stack the pipeline needs. */
export interface EnvironmentOutputs {
  execution_role_arn: string;
  bucket_name: string;
  model_package_group_name: string;
}

/** The environment's outputs: saved by the last deploy, else read from its state. */
export async function environmentOutputs(ctx: TaskContext, env: Environment): Promise<EnvironmentOutputs> {
  const { names } = ctx.config;
  // The saved copy is a cache: used only when it matches this config (another config, account or
  // rename would point at the wrong resources); otherwise the state is read.
  const matches = (o: Partial<EnvironmentOutputs>) =>
    o.bucket_name === names.mlBucket(env) && o.model_package_group_name === names.modelPackageGroup &&
    o.execution_role_arn ===
      `arn:aws:iam::${ctx.config.account(env).id}:role${names.workloadRolePath}${names.executionRole(env)}`;
  let outputs: Partial<EnvironmentOutputs> = await Deno.readTextFile(outputsFile(env)).then(JSON.parse, () => ({}));
  if (!matches(outputs)) {
    const root = ctx.root("main", env);
    await root.prepare();
    outputs = await root.outputs<Partial<EnvironmentOutputs>>();
  }
  if (!outputs.execution_role_arn || !outputs.bucket_name || !outputs.model_package_group_name) {
    throw new TaskError(
      `The ${env} environment has no Terraform outputs yet. Deploy it first: deno task deploy ${env}`,
    );
  }
  return outputs as EnvironmentOutputs;
}

/** Inputs for an environment: offline placeholders, or the deployed outputs and a pinned image. */
export async function definitionInputs(
  ctx: TaskContext,
  env: Environment,
  options: { image?: string; commit?: string },
): Promise<DefinitionInputs> {
  if (options.commit !== undefined && !/^[0-9a-f]{7,64}$/.test(options.commit)) {
    throw new UsageError(
      `--commit "${options.commit}" is not a git commit id: give 7 to 64 hex digits (git rev-parse HEAD)`,
    );
  }
  const placeholder = { ...offlineInputs(ctx.config, env), commit: options.commit ?? UNKNOWN_COMMIT };
  if (options.image && !/^[^@\s]+@sha256:[0-9a-f]{64}$/.test(options.image)) {
    throw new UsageError(
      `--image "${options.image}" is not pinned by digest: give <repository>@sha256:<64 hex> (deno task build prints it)`,
    );
  }
  if (ctx.offline) return options.image ? { ...placeholder, imageUri: options.image } : placeholder;
  if (!options.image) {
    throw new TaskError(
      `The pipeline of ${env} needs the image pinned by digest: pass --image <repository>@sha256:<digest> (printed by deno task build), or use --offline for placeholders.`,
    );
  }
  const outputs = await environmentOutputs(ctx, env);
  return {
    config: ctx.config,
    env,
    executionRoleArn: outputs.execution_role_arn,
    bucket: outputs.bucket_name,
    modelPackageGroup: outputs.model_package_group_name,
    imageUri: options.image,
    commit: placeholder.commit,
  };
}

/**
 * The commit checked out in `repoDir`, read from its git files (a linked worktree's too), or null
 * outside a checkout: the local run records it without running git.
 */
export async function headCommit(repoDir: string): Promise<string | null> {
  const read = (path: string) => Deno.readTextFile(path).then((t) => t.trim(), () => null);
  let gitDir = `${repoDir}/.git`;
  const pointer = await read(gitDir);
  if (pointer?.startsWith("gitdir: ")) gitDir = pointer.slice(8);
  const head = await read(`${gitDir}/HEAD`);
  if (!head) return null;
  if (!head.startsWith("ref: ")) return head;
  const ref = head.slice(5);
  const commonDir = await read(`${gitDir}/commondir`);
  const common = commonDir ? (commonDir.startsWith("/") ? commonDir : `${gitDir}/${commonDir}`) : gitDir;
  for (const dir of [gitDir, common]) {
    const loose = await read(`${dir}/${ref}`);
    if (loose) return loose;
  }
  const packed = await read(`${common}/packed-refs`);
  return packed?.split("\n").find((line) => line.endsWith(` ${ref}`))?.split(" ")[0] ?? null;
}

/** Options of {@linkcode localRun}. */
export interface LocalRunCommandOptions {
  env: Environment;
  params: string[];
  /** Root of local state (default `<repo>/.mlops/local`). */
  root?: string;
  repoDir?: string;
  /** The commit recorded on a registered version (default: the checkout's HEAD). */
  commit?: string;
}

/** Runs the pipeline locally on the configured dataset. */
export async function localRun(ctx: TaskContext, options: LocalRunCommandOptions): Promise<LocalRunResult> {
  const repoDir = options.repoDir ?? Deno.cwd();
  const root = options.root ?? `${repoDir}/.mlops/local`;
  const commit = options.commit ?? await headCommit(repoDir) ?? UNKNOWN_COMMIT;
  const definition = checkedDefinition({ ...offlineInputs(ctx.config, options.env), commit });
  const venv = await PythonEnv.ensure(repoDir);
  const dataset = ctx.config.data.pipeline.dataset.path;
  const bytes = await Deno.readFile(`${repoDir}/${dataset}`).catch(() => {
    throw new TaskError(
      `The dataset "${dataset}" does not exist. Set pipeline.dataset.path in the config to a CSV file.`,
    );
  });
  // As `start` does: the run declares the version of the data it trains on, unless told otherwise.
  const given = new Set(options.params.map((p) => p.slice(0, p.indexOf("="))));
  const params = given.has("InputData") || given.has("InputDataVersion")
    ? options.params
    : [...options.params, `InputDataVersion=${await sha256Hex(bytes)}`];
  const pipelineRun = new LocalPipelineRun(definition, {
    root,
    python: venv.python,
    programDir: `${repoDir}/training-pipeline/src`,
    params,
    check: hyperparameterCheck,
    pipelineName: ctx.config.names.pipeline,
  });
  const inputData = String(definition.Parameters.find((p) => p.Name === "InputData")!.DefaultValue);
  const target = pipelineRun.s3Path(inputData);
  await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
  const uploaded = await writeIfChanged(target, bytes);
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
export async function printDefinition(
  ctx: TaskContext,
  env: Environment,
  options: { image?: string; commit?: string },
): Promise<void> {
  const definition = checkedDefinition(await definitionInputs(ctx, env, options));
  console.log(canonicalJson(definition, 2));
}

/**
 * Runs `work` with a pipeline service acting in the environment's account, after the
 * account guard; SDK failures become one line (credentials ones say how to log in).
 */
async function withPipelineService<T>(
  ctx: TaskContext,
  env: Environment,
  what: string,
  work: (service: PipelineService) => Promise<T>,
  options: { pollMs?: number } = {},
): Promise<T> {
  await ctx.aws.assertAccount(env, what);
  const { SageMakerClient } = await import("@aws-sdk/client-sagemaker");
  const client = new SageMakerClient(await ctx.aws.clientConfig(env));
  try {
    return await work(new PipelineService(client, options));
  } catch (error) {
    throw ctx.aws.awsError(env, `${what} ${env}`, error);
  } finally {
    client.destroy();
  }
}

/** Upserts the environment's pipeline pinned to `image`. */
export async function upsertPipeline(
  ctx: TaskContext,
  env: Environment,
  image: string | undefined,
  commit?: string,
): Promise<{ action: UpsertAction; hash: string; definition: PipelineDefinition }> {
  await ctx.aws.assertAccount(env, "upsert the pipeline of");
  const inputs = await definitionInputs(ctx, env, { image, commit });
  const definition = checkedDefinition(inputs);
  const hash = await definitionHash(definition);
  const action = await withPipelineService(
    ctx,
    env,
    "upsert the pipeline of",
    (service) => service.upsert(ctx.config.names.pipeline, definition, inputs.executionRoleArn, ctx.config.data.tags),
  );
  log.step(
    action === "unchanged" ? "Unchanged" : action === "created" ? "Created" : "Updated",
    `pipeline ${ctx.config.names.pipeline} in ${env} (definition ${hash.slice(0, 12)})`,
  );
  return { action, hash, definition };
}

/**
 * Starts an execution with parameter overrides; the token makes retries start it once. Unless
 * given, `InputDataVersion` is set to the version of the data at `InputData` (which keys
 * Preprocess's cache, and which Preprocess checks against what it reads).
 */
export async function startPipeline(
  ctx: TaskContext,
  env: Environment,
  options: { params: string[]; token?: string },
): Promise<string> {
  // Overrides are checked against the declared parameters before anything is sent.
  const declared = buildDefinition(offlineInputs(ctx.config, env)).Parameters;
  const values = parseParams(declared, options.params, hyperparameterCheck);
  const problem = options.token === undefined ? null : tokenProblem(options.token);
  if (problem) throw new UsageError(problem);
  const token = options.token ??
    `${ctx.config.names.pipeline}-${env}-${crypto.randomUUID()}`.slice(0, TOKEN_LENGTH.max);
  const overrides = Object.fromEntries(
    options.params.map((p) => p.slice(0, p.indexOf("="))).map((name) => [name, String(values.get(name))]),
  );
  await ctx.aws.assertAccount(env, "start the pipeline of");
  if (!("InputDataVersion" in overrides)) {
    overrides.InputDataVersion = await currentDataVersion(ctx, env, String(values.get("InputData")));
  }
  const arn = await withPipelineService(
    ctx,
    env,
    "start the pipeline of",
    (service) => service.start(ctx.config.names.pipeline, overrides, token),
  );
  log.step("Started", `${arn} (data version ${overrides.InputDataVersion.slice(0, 12)})`);
  return arn;
}

async function currentDataVersion(ctx: TaskContext, env: Environment, uri: string): Promise<string> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new UsageError(`InputData "${uri}" is not an S3 object URI (s3://bucket/key)`);
  const s3 = await ctx.aws.s3Client(env);
  try {
    const version = await dataVersion(s3, match[1], match[2]);
    if (version) return version;
  } catch (error) {
    throw ctx.aws.awsError(env, `read ${uri}`, error);
  } finally {
    s3.destroy();
  }
  throw new TaskError(
    `There is no data at ${uri}. Upload it first: deno task pipeline upload-data --env ${env} (or pass --param InputData=s3://…).`,
  );
}

/** Renders an execution's state as lines (plain text, for CI logs and the live view). */
export function describeExecution(state: ExecutionState): string {
  return [
    `Execution ${state.arn}: ${state.status}`,
    table(["step", "status", "reason"], state.steps.map((s) => [s.name, s.status, s.failureReason ?? ""])),
  ].join("\n");
}

/** Prints each new state: a redrawn table on a terminal, one plain line per step change elsewhere. */
function executionReporter(): (state: ExecutionState) => void {
  const live = Deno.stderr.isTerminal();
  let printedLines = 0;
  const seen = new Map<string, string>();
  return (state) => {
    if (live) {
      const text = describeExecution(state);
      if (printedLines) Deno.stderr.writeSync(new TextEncoder().encode(`\x1b[${printedLines}A\x1b[J`));
      console.error(text);
      printedLines = text.split("\n").length;
      return;
    }
    for (const step of state.steps) {
      if (seen.get(step.name) !== step.status) {
        log.info(`${step.name}: ${step.status}${step.failureReason ? ` (${step.failureReason})` : ""}`);
      }
      seen.set(step.name, step.status);
    }
    if (["Succeeded", "Failed", "Stopped"].includes(state.status)) log.info(`Execution ${state.arn}: ${state.status}`);
  };
}

/** Follows an execution (the latest when no ARN is given) until it ends. */
export function watchPipeline(
  ctx: TaskContext,
  env: Environment,
  arn?: string,
  pollMs?: number,
): Promise<ExecutionState> {
  return withPipelineService(ctx, env, "watch the pipeline of", async (service) => {
    const target = arn ?? await service.latestExecution(ctx.config.names.pipeline);
    if (!target) {
      throw new TaskError(
        `The pipeline of ${env} has no executions yet. Start one: deno task pipeline start --env ${env}`,
      );
    }
    return await service.watch(target, executionReporter());
  }, { pollMs });
}

/** The latest execution's state, or null when the pipeline never ran. */
export function pipelineStatus(ctx: TaskContext, env: Environment): Promise<ExecutionState | null> {
  return withPipelineService(ctx, env, "read the pipeline of", async (service) => {
    const arn = await service.latestExecution(ctx.config.names.pipeline);
    return arn ? await service.state(arn) : null;
  });
}

/** Uploads the configured dataset to the environment's bucket unless it is already there. */
export async function uploadData(ctx: TaskContext, env: Environment): Promise<{ uri: string; uploaded: boolean }> {
  await ctx.aws.assertAccount(env, "upload data to");
  const { bucket_name } = await environmentOutputs(ctx, env);
  const path = ctx.config.data.pipeline.dataset.path;
  const bytes = await Deno.readFile(path).catch(() => {
    throw new TaskError(`The dataset "${path}" does not exist. Set pipeline.dataset.path in the config to a CSV file.`);
  });
  const key = `data/${path.split("/").at(-1)}`;
  const uri = `s3://${bucket_name}/${key}`;
  const s3 = await ctx.aws.s3Client(env);
  try {
    const uploaded = await uploadIfChanged(s3, bucket_name, key, bytes);
    log.step(uploaded ? "Uploaded" : "Unchanged", `${path} → ${uri}`);
    return { uri, uploaded };
  } catch (error) {
    throw ctx.aws.awsError(env, `upload ${path} to ${uri}`, error);
  } finally {
    s3.destroy();
  }
}
