/**
 * Runs a SageMaker pipeline definition on this machine, with no AWS account.
 *
 * The interpreter walks the same definition that is upserted to SageMaker:
 * steps in dependency order, `Get` / `Std:Join` / `Std:JsonGet` resolved,
 * Processing and Training steps run as local processes with container paths
 * (`/opt/ml/…`, `/opt/program`) and S3 locations mapped into a run
 * directory, the Condition step picks its branch, RegisterModel writes a
 * versioned entry to a local model registry, and Fail fails the run.
 *
 * @example
 * ```ts
 * import { LocalPipelineRun } from "./local.ts";
 * // const result = await new LocalPipelineRun(definition, options).run();
 * ```
 * @module
 */
import { TaskError, UsageError } from "../cli.ts";
import { log } from "../log.ts";
import { run } from "../process.ts";
import { CONTAINER, ENUM_VALUES } from "./definition.ts";
import { collectGets, isExpression, type Value } from "./expressions.ts";
import type { Condition, Parameter, PipelineDefinition, Step } from "./steps.ts";
import { EXECUTION_VARIABLES } from "./validate.ts";

/** Where the local run finds things. */
export interface LocalRunOptions {
  /** Root of local state: `s3/` (buckets), `runs/` (executions), `registry/` (models). */
  root: string;
  /** Python interpreter with the training requirements installed. */
  python: string;
  /** Directory the image copies to `/opt/program` (training-pipeline/src). */
  programDir: string;
  /** Parameter overrides as given on the command line (`name=value`). */
  params?: string[];
  /** Checks each override beyond its declared type (hyperparameter ranges). */
  check?: ParamCheck;
  /** Pipeline name, for execution variables and the registry. */
  pipelineName: string;
  /** Execution id; generated when absent. */
  executionId?: string;
}

/** How one step ended. */
export interface StepOutcome {
  name: string;
  type: Step["Type"];
  status: "Succeeded" | "Failed";
  seconds: number;
  detail: string;
}

/** A model version the local registry received. */
export interface RegisteredModel {
  group: string;
  version: number;
  approvalStatus: string;
  dir: string;
}

/** How the local run ended. */
export interface LocalRunResult {
  executionId: string;
  status: "Succeeded" | "Failed";
  failedStep: string | null;
  failureReason: string | null;
  steps: StepOutcome[];
  registered: RegisteredModel | null;
  /** The parameter values the run used (defaults with overrides applied). */
  parameters: Record<string, string | number | boolean>;
  /** Every property file the run produced, by `Steps.<step>.PropertyFiles.<name>`. */
  propertyFiles: Record<string, unknown>;
  runDir: string;
}

/** A step failed; the run stops and reports it. */
class StepFailed extends Error {}

const SUPPORTED: Step["Type"][] = ["Processing", "Training", "Condition", "RegisterModel", "Fail"];

/** Splits `A.B['c'].D[0]` into path tokens. */
export function pathTokens(path: string): string[] {
  return [...path.matchAll(/([^.[\]]+)|\['([^']*)'\]|\[(\d+)\]/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

function lookup(value: unknown, tokens: string[], what: string): unknown {
  let current = value;
  for (const token of tokens) {
    if (typeof current !== "object" || current === null || !(token in current)) {
      throw new StepFailed(`Cannot resolve ${what}: "${token}" is not there.`);
    }
    current = (current as Record<string, unknown>)[token];
  }
  return current;
}

/** Checks a typed parameter value beyond its declaration (say, a hyperparameter's range): the problem, or null. */
export type ParamCheck = (name: string, value: string | number | boolean) => string | null;

/** "a", "b" or "c" for a short list; for a long one its size and a few values like `near`. */
export function choices(values: string[], near = ""): string {
  const quoted = (list: string[]) => list.map((v) => `"${v}"`);
  if (values.length <= 5) return quoted(values).join(", ").replace(/, ([^,]*)$/, " or $1");
  const family = near.split(".").slice(0, 2).join(".") + ".";
  const similar = values.filter((v) => v.startsWith(family));
  return `one of ${values.length} values such as ${
    quoted((similar.length > 0 ? similar : values).slice(0, 3)).join(", ")
  }`;
}

/**
 * Parses `name=value` overrides against the declared parameters: each value of the declared type,
 * a String parameter with `EnumValues` one of them, and `check` passed (hyperparameter ranges).
 */
export function parseParams(
  declared: Parameter[],
  given: string[],
  check: ParamCheck = () => null,
): Map<string, string | number | boolean> {
  const values = new Map<string, string | number | boolean>(declared.map((p) => [p.Name, p.DefaultValue]));
  const names = declared.map((p) => p.Name).join(", ");
  for (const item of given) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`Invalid --param "${item}": use name=value (parameters: ${names})`);
    const name = item.slice(0, eq);
    const raw = item.slice(eq + 1);
    const spec = declared.find((p) => p.Name === name);
    if (!spec) throw new UsageError(`Unknown pipeline parameter "${name}"; valid parameters: ${names}`);
    const value = coerce(spec, raw);
    if (spec.EnumValues && !spec.EnumValues.includes(String(value))) {
      throw new UsageError(`Parameter "${name}" takes ${choices(spec.EnumValues, raw)}; "${raw}" is not valid`);
    }
    const problem = check(name, value);
    if (problem) throw new UsageError(`Parameter "${name}": ${problem}`);
    values.set(name, value);
  }
  return values;
}

function coerce(spec: Parameter, raw: string): string | number | boolean {
  const bad = () => new UsageError(`Parameter "${spec.Name}" is ${spec.Type}; "${raw}" is not a valid value`);
  switch (spec.Type) {
    case "String":
      return raw;
    case "Integer":
      if (!/^-?\d+$/.test(raw)) throw bad();
      return Number(raw);
    case "Float":
      if (raw.trim() === "" || !Number.isFinite(Number(raw))) throw bad();
      return Number(raw);
    case "Boolean":
      if (raw !== "true" && raw !== "false") throw bad();
      return raw === "true";
  }
}

/**
 * A training job's `FinalMetricDataList` as SageMaker derives it from `MetricDefinitions`: for each
 * metric, the first capture group of the last log line its regex matches.
 */
export function finalMetrics(
  definitions: { Name: string; Regex: string }[],
  log: string,
): { MetricName: string; Value: number }[] {
  return definitions.flatMap(({ Name, Regex }) => {
    const regex = new RegExp(Regex);
    const value = log.split("\n").map((line) => regex.exec(line)?.[1]).filter((v) => v !== undefined).at(-1);
    return value === undefined || !Number.isFinite(Number(value)) ? [] : [{ MetricName: Name, Value: Number(value) }];
  });
}

/** Names of the steps a step depends on (explicit and through `Get`). */
function dependencies(step: Step): Set<string> {
  const deps = new Set(step.DependsOn ?? []);
  for (const path of collectGets(step.Arguments)) {
    const [kind, name] = path.split(".");
    if (kind === "Steps" && name !== step.Name) deps.add(name);
  }
  return deps;
}

/** Orders steps so each runs after those it depends on (stable for independent steps). */
export function dependencyOrder(steps: Step[]): Step[] {
  const names = new Set(steps.map((s) => s.Name));
  const remaining = [...steps];
  const done = new Set<string>();
  const ordered: Step[] = [];
  while (remaining.length > 0) {
    const index = remaining.findIndex((s) => [...dependencies(s)].every((d) => done.has(d) || !names.has(d)));
    if (index === -1) {
      throw new TaskError(
        `The pipeline's steps depend on each other in a cycle: ${remaining.map((s) => s.Name).join(", ")}.`,
      );
    }
    const [step] = remaining.splice(index, 1);
    ordered.push(step);
    done.add(step.Name);
  }
  return ordered;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function copyPath(from: string, to: string): Promise<void> {
  const info = await Deno.stat(from);
  if (info.isFile) {
    await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(from, to);
    return;
  }
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) await copyPath(`${from}/${entry.name}`, `${to}/${entry.name}`);
}

function executionIdNow(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "");
  return `local-${stamp}-${crypto.randomUUID().slice(0, 4)}`;
}

/** One local execution of a pipeline definition. */
export class LocalPipelineRun {
  readonly executionId: string;
  readonly runDir: string;
  readonly #params: Map<string, string | number | boolean>;
  readonly #properties = new Map<string, Record<string, unknown>>();
  readonly #propertyFiles: Record<string, unknown> = {};
  readonly #outcomes: StepOutcome[] = [];
  #registered: RegisteredModel | null = null;
  #current: Step | null = null;
  readonly #started = new Date();

  constructor(readonly definition: PipelineDefinition, readonly options: LocalRunOptions) {
    const unsupported = definition.Steps.flatMap(function walk(s): Step[] {
      return s.Type === "Condition" ? [...s.Arguments.IfSteps, ...s.Arguments.ElseSteps].flatMap(walk) : [s];
    }).filter((s) => !SUPPORTED.includes(s.Type));
    if (unsupported.length > 0) {
      const s = unsupported[0];
      throw new TaskError(
        `Step "${s.Name}" has type "${s.Type}", which the local runner does not support (it runs ${
          SUPPORTED.join(", ")
        }). Run it on SageMaker with: deno task pipeline start --env dev`,
      );
    }
    this.#params = parseParams(definition.Parameters, options.params ?? [], options.check);
    this.executionId = options.executionId ?? executionIdNow();
    this.runDir = `${options.root}/runs/${this.executionId}`;
  }

  /** The local directory standing in for an S3 URI. */
  s3Path(uri: string): string {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
    if (!match) throw new TaskError(`"${uri}" is not an S3 URI (s3://bucket/key).`);
    return `${this.options.root}/s3/${match[1]}/${match[2]}`.replace(/\/+$/, "");
  }

  /**
   * Copies an input as SageMaker does: a URI naming one object gives `target/<its name>`; a prefix
   * ending at a `/` boundary (a "folder") gives every object under it, at its path below the prefix.
   */
  async #download(uri: string, target: string, what: string): Promise<void> {
    if (!/^s3:\/\/[^/]+/.test(uri)) throw new StepFailed(`${what}: "${uri}" is not an S3 URI (s3://bucket/key).`);
    const source = this.s3Path(uri);
    const info = await Deno.stat(source).catch(() => null);
    if (!info) throw new StepFailed(`${what}: ${uri} does not exist.`);
    await copyPath(source, info.isFile ? `${target}/${source.split("/").at(-1)}` : target);
  }

  /** Resolves an expression (or plain value) against the run so far. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (typeof value !== "object" || value === null) return value;
    if (!isExpression(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
    }
    if ("Get" in value) return this.#get(value.Get);
    if ("Std:Join" in value) {
      const { On, Values } = value["Std:Join"];
      return Values.map((v: Value) => String(this.resolve(v))).join(On);
    }
    const { PropertyFile, Path } = value["Std:JsonGet"];
    const file = this.#propertyFiles[PropertyFile.Get];
    if (file === undefined) throw new StepFailed(`Cannot resolve ${PropertyFile.Get}: no step has written it yet.`);
    return lookup(file, pathTokens(Path), `${PropertyFile.Get} path "${Path}"`);
  }

  #get(path: string): unknown {
    const [kind, name, ...rest] = pathTokens(path);
    if (kind === "Parameters") {
      if (!this.#params.has(name)) throw new StepFailed(`Cannot resolve ${path}: no such parameter.`);
      return this.#params.get(name);
    }
    if (kind === "Execution") {
      if (!EXECUTION_VARIABLES.has(name)) {
        throw new StepFailed(`Cannot resolve ${path}: it is not an execution variable.`);
      }
      const value = this.#executionVariable(name);
      if (value === undefined) throw new StepFailed(`Cannot resolve ${path}: a ${this.#current?.Type} step has none.`);
      return value;
    }
    const properties = this.#properties.get(name);
    if (!properties) throw new StepFailed(`Cannot resolve ${path}: step "${name}" has not run.`);
    return lookup(properties, rest, path);
  }

  /** SageMaker's execution variables (the job names only inside a step of that kind). */
  #executionVariable(name: string): string | undefined {
    const pipelineArn = `local:pipeline/${this.options.pipelineName}`;
    const step = this.#current;
    const vars: Record<string, string | undefined> = {
      StartDateTime: this.#started.toISOString(),
      CurrentDateTime: new Date().toISOString(),
      PipelineName: this.options.pipelineName,
      PipelineArn: pipelineArn,
      PipelineExecutionId: this.executionId,
      PipelineExecutionArn: `${pipelineArn}/execution/${this.executionId}`,
      TrainingJobName: step?.Type === "Training" ? this.#jobName(step) : undefined,
      ProcessingJobName: step?.Type === "Processing" ? this.#jobName(step) : undefined,
    };
    return vars[name];
  }

  #jobName(step: Step): string {
    return `pipelines-${this.executionId}-${step.Name}`;
  }

  /** Maps a container path or command into this machine's run directory. */
  #local(stepDir: string, value: string): string {
    if (value === "python3" || value === "python") return this.options.python;
    if (value.startsWith("/opt/program/") || value === "/opt/program") {
      return this.options.programDir + value.slice("/opt/program".length);
    }
    if (value.startsWith("/opt/ml/") || value === "/root") return `${stepDir}/container${value}`;
    return value;
  }

  /** Runs the whole pipeline; a failing step ends it with status Failed. */
  async run(): Promise<LocalRunResult> {
    await Deno.mkdir(this.runDir, { recursive: true });
    let failure: { step: string; reason: string } | null = null;
    try {
      await this.#runSteps(this.definition.Steps);
    } catch (error) {
      if (!(error instanceof StepFailed)) throw error;
      const failed = this.#outcomes.at(-1)!;
      failure = { step: failed.name, reason: failed.detail };
    }
    const result: LocalRunResult = {
      executionId: this.executionId,
      status: failure ? "Failed" : "Succeeded",
      failedStep: failure?.step ?? null,
      failureReason: failure?.reason ?? null,
      steps: this.#outcomes,
      registered: this.#registered,
      parameters: Object.fromEntries(this.#params),
      propertyFiles: this.#propertyFiles,
      runDir: this.runDir,
    };
    await Deno.writeTextFile(`${this.runDir}/result.json`, JSON.stringify(result, null, 2) + "\n");
    return result;
  }

  async #runSteps(steps: Step[]): Promise<void> {
    for (const step of dependencyOrder(steps)) {
      const started = performance.now();
      log.step("Running", `${step.Name} (${step.Type})`);
      let detail = "";
      let status: StepOutcome["status"] = "Succeeded";
      try {
        this.#current = step;
        detail = await this.#runStep(step);
      } catch (error) {
        if (!(error instanceof StepFailed)) throw error;
        status = "Failed";
        detail = error.message;
      }
      this.#outcomes.push({
        name: step.Name,
        type: step.Type,
        status,
        seconds: (performance.now() - started) / 1000,
        detail,
      });
      if (status === "Failed") throw new StepFailed(detail);
      if (step.Type === "Condition") {
        const branch = this.#properties.get(step.Name)!.Outcome ? step.Arguments.IfSteps : step.Arguments.ElseSteps;
        await this.#runSteps(branch);
      }
    }
  }

  #runStep(step: Step): Promise<string> {
    switch (step.Type) {
      case "Processing":
        return this.#processing(step);
      case "Training":
        return this.#training(step);
      case "Condition":
        return Promise.resolve(this.#condition(step));
      case "RegisterModel":
        return this.#register(step);
      case "Fail":
        throw new StepFailed(String(this.resolve(step.Arguments.ErrorMessage)));
    }
  }

  /**
   * Runs a step's process with exactly the environment its container would have: the image's
   * (paths mapped here; the image's python3 is the project's virtual environment) and `env`.
   * Nothing comes from the caller's shell. A failure's reason is read from `reasonFile` (where
   * SageMaker reads it: `/opt/ml/output/failure` for training, `/opt/ml/output/message` for
   * processing), else the last line of stderr.
   */
  async #exec(stepDir: string, argv: string[], env: Record<string, string>, reasonFile: string): Promise<string> {
    const image = CONTAINER.env;
    const python = this.options.python;
    const path = [
      ...(python.includes("/") ? [python.slice(0, python.lastIndexOf("/"))] : []),
      ...image.PATH.split(":").map((dir) => this.#local(stepDir, dir)),
    ];
    const result = await run(argv, {
      env: { ...image, PATH: path.join(":"), HOME: this.#local(stepDir, image.HOME), ...env },
      clearEnv: true,
      capture: true,
      captureStderr: true,
    });
    await Deno.writeTextFile(`${stepDir}/output.log`, `$ ${argv.join(" ")}\n${result.stdout}${result.stderr}`);
    if (result.code !== 0) {
      const lines = result.stderr.trim().split("\n").filter(Boolean);
      const failureFile = this.#local(stepDir, reasonFile);
      const reason = (await exists(failureFile))
        ? (await Deno.readTextFile(failureFile)).trim()
        : lines.at(-1) ?? `exit code ${result.code}`;
      throw new StepFailed(`${reason} (log: ${stepDir}/output.log)`);
    }
    return `${result.stdout}${result.stderr}`;
  }

  async #processing(step: Extract<Step, { Type: "Processing" }>): Promise<string> {
    const args = this.resolve(step.Arguments) as {
      AppSpecification: { ContainerEntrypoint?: string[]; ContainerArguments?: string[] };
      Environment?: Record<string, string>;
      ProcessingInputs?: { InputName: string; S3Input: { S3Uri: string; LocalPath: string } }[];
      ProcessingOutputConfig?: { Outputs: { OutputName: string; S3Output: { S3Uri: string; LocalPath: string } }[] };
    };
    const stepDir = `${this.runDir}/${step.Name}`;
    for (const input of args.ProcessingInputs ?? []) {
      await this.#download(
        input.S3Input.S3Uri,
        this.#local(stepDir, input.S3Input.LocalPath),
        `Input "${input.InputName}"`,
      );
    }
    const outputs = args.ProcessingOutputConfig?.Outputs ?? [];
    for (const output of outputs) {
      await Deno.mkdir(this.#local(stepDir, output.S3Output.LocalPath), { recursive: true });
    }
    const entrypoint = args.AppSpecification.ContainerEntrypoint ?? [];
    if (entrypoint.length === 0) throw new StepFailed("The local runner needs AppSpecification.ContainerEntrypoint.");
    const argv = [...entrypoint, ...(args.AppSpecification.ContainerArguments ?? [])].map((a) =>
      this.#local(stepDir, a)
    );
    await this.#exec(stepDir, argv, args.Environment ?? {}, "/opt/ml/output/message");
    const outputProps: Record<string, unknown> = {};
    for (const output of outputs) {
      await copyPath(this.#local(stepDir, output.S3Output.LocalPath), this.s3Path(output.S3Output.S3Uri));
      outputProps[output.OutputName] = { OutputName: output.OutputName, S3Output: output.S3Output };
    }
    this.#properties.set(step.Name, {
      ProcessingJobName: this.#jobName(step),
      ProcessingJobStatus: "Completed",
      ProcessingOutputConfig: { Outputs: outputProps },
    });
    for (const file of step.PropertyFiles ?? []) {
      const output = outputs.find((o) => o.OutputName === file.OutputName);
      if (!output) {
        throw new StepFailed(`Property file "${file.PropertyFileName}" names unknown output "${file.OutputName}".`);
      }
      const path = `${this.#local(stepDir, output.S3Output.LocalPath)}/${file.FilePath}`;
      try {
        this.#propertyFiles[`Steps.${step.Name}.PropertyFiles.${file.PropertyFileName}`] = JSON.parse(
          await Deno.readTextFile(path),
        );
      } catch (error) {
        throw new StepFailed(
          `Property file "${file.PropertyFileName}" (${file.FilePath}) could not be read: ${(error as Error).message}`,
        );
      }
    }
    return outputs.map((o) => `${o.OutputName} → ${o.S3Output.S3Uri}`).join(", ");
  }

  async #training(step: Extract<Step, { Type: "Training" }>): Promise<string> {
    const args = this.resolve(step.Arguments) as {
      AlgorithmSpecification?: {
        ContainerEntrypoint?: string[];
        ContainerArguments?: string[];
        MetricDefinitions?: { Name: string; Regex: string }[];
      };
      HyperParameters?: Record<string, unknown>;
      Environment?: Record<string, string>;
      InputDataConfig?: { ChannelName: string; DataSource: { S3DataSource: { S3Uri: string } } }[];
      OutputDataConfig: { S3OutputPath: string };
    };
    const stepDir = `${this.runDir}/${step.Name}`;
    const ml = (path: string) => this.#local(stepDir, `/opt/ml/${path}`);
    const env: Record<string, string> = {
      ...args.Environment,
      SM_MODEL_DIR: ml("model"),
      SM_INPUT_CONFIG_DIR: ml("input/config"),
      SM_OUTPUT_DATA_DIR: ml("output/data"),
      SM_OUTPUT_DIR: ml("output"),
    };
    for (const dir of ["model", "input/config", "output/data"]) await Deno.mkdir(ml(dir), { recursive: true });
    for (const channel of args.InputDataConfig ?? []) {
      const target = ml(`input/data/${channel.ChannelName}`);
      await this.#download(channel.DataSource.S3DataSource.S3Uri, target, `Channel "${channel.ChannelName}"`);
      env[`SM_CHANNEL_${channel.ChannelName.toUpperCase()}`] = target;
    }
    const hyperparameters = Object.fromEntries(
      Object.entries(args.HyperParameters ?? {}).map(([k, v]) => [k, String(v)]),
    );
    await Deno.writeTextFile(ml("input/config/hyperparameters.json"), JSON.stringify(hyperparameters));
    const spec = args.AlgorithmSpecification ?? {};
    const argv = [...(spec.ContainerEntrypoint ?? CONTAINER.train), ...(spec.ContainerArguments ?? [])];
    const log = await this.#exec(stepDir, argv.map((a) => this.#local(stepDir, a)), env, "/opt/ml/output/failure");
    const jobName = this.#jobName(step);
    const artifact = `${args.OutputDataConfig.S3OutputPath.replace(/\/$/, "")}/${jobName}/output/model.tar.gz`;
    const archive = this.s3Path(artifact);
    await Deno.mkdir(archive.slice(0, archive.lastIndexOf("/")), { recursive: true });
    const tar = await run(["tar", "-czf", archive, "-C", ml("model"), "."], { capture: true, captureStderr: true });
    if (tar.code !== 0) throw new StepFailed(`Packaging the model failed: ${tar.stderr.trim()}`);
    this.#properties.set(step.Name, {
      TrainingJobName: jobName,
      TrainingJobStatus: "Completed",
      HyperParameters: hyperparameters,
      ModelArtifacts: { S3ModelArtifacts: artifact },
      FinalMetricDataList: finalMetrics(spec.MetricDefinitions ?? [], log),
    });
    return `model → ${artifact}`;
  }

  #condition(step: Extract<Step, { Type: "Condition" }>): string {
    const results = step.Arguments.Conditions.map((c) => this.#compare(c));
    const outcome = results.every((r) => r.holds);
    this.#properties.set(step.Name, { Outcome: outcome });
    return results.map((r) => r.text).join(" and ") + ` → ${outcome ? "if" : "else"} branch`;
  }

  #compare(condition: Condition): { holds: boolean; text: string } {
    const left = this.resolve(condition.LeftValue);
    const right = this.resolve(condition.RightValue);
    const [l, r] = typeof left === "number" || typeof right === "number"
      ? [Number(left), Number(right)]
      : [left, right];
    const ops: Record<Condition["Type"], [string, (a: never, b: never) => boolean]> = {
      Equals: ["=", (a, b) => a === b],
      GreaterThan: [">", (a, b) => a > b],
      GreaterThanOrEqualTo: ["≥", (a, b) => a >= b],
      LessThan: ["<", (a, b) => a < b],
      LessThanOrEqualTo: ["≤", (a, b) => a <= b],
    };
    const [symbol, test] = ops[condition.Type];
    return { holds: test(l as never, r as never), text: `${JSON.stringify(left)} ${symbol} ${JSON.stringify(right)}` };
  }

  async #register(step: Extract<Step, { Type: "RegisterModel" }>): Promise<string> {
    const args = this.resolve(step.Arguments) as {
      ModelPackageGroupName: string;
      ModelApprovalStatus?: string;
      InferenceSpecification?: { Containers: { Image: string; ModelDataUrl?: string }[] };
      ModelMetrics?: { ModelQuality?: { Statistics?: { S3Uri: string } } };
    };
    const approvalStatus = args.ModelApprovalStatus ?? "PendingManualApproval";
    if (!ENUM_VALUES.ModelApprovalStatus.includes(approvalStatus as never)) {
      throw new StepFailed(
        `ModelApprovalStatus "${approvalStatus}" is not one of ${ENUM_VALUES.ModelApprovalStatus.join(", ")}.`,
      );
    }
    const groupDir = `${this.options.root}/registry/${args.ModelPackageGroupName}`;
    await Deno.mkdir(groupDir, { recursive: true });
    const versions: number[] = [];
    for await (const entry of Deno.readDir(groupDir)) if (/^\d+$/.test(entry.name)) versions.push(Number(entry.name));
    const version = Math.max(0, ...versions) + 1;
    const dir = `${groupDir}/${version}`;
    await Deno.mkdir(dir);
    const modelUrl = args.InferenceSpecification?.Containers[0]?.ModelDataUrl;
    if (modelUrl) await Deno.copyFile(this.s3Path(modelUrl), `${dir}/model.tar.gz`);
    const metricsUrl = args.ModelMetrics?.ModelQuality?.Statistics?.S3Uri;
    if (metricsUrl) await Deno.copyFile(this.s3Path(metricsUrl), `${dir}/metrics.json`);
    const arn = `local:model-package/${args.ModelPackageGroupName}/${version}`;
    await Deno.writeTextFile(
      `${dir}/model-package.json`,
      JSON.stringify(
        {
          ...args,
          ModelPackageVersion: version,
          ModelPackageArn: arn,
          PipelineExecutionId: this.executionId,
          CreationTime: new Date().toISOString(),
        },
        null,
        2,
      ) + "\n",
    );
    this.#properties.set(step.Name, { ModelPackageArn: arn });
    this.#registered = { group: args.ModelPackageGroupName, version, approvalStatus, dir };
    return `version ${version} (${approvalStatus}) → ${dir}`;
  }
}
