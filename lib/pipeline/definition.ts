/**
 * The training pipeline, defined once in TypeScript: preprocess → train →
 * evaluate → accuracy check → register (or fail). The same definition is
 * upserted to SageMaker and interpreted by the local runner.
 *
 * Inputs are explicit: the config, the environment's Terraform outputs and
 * the image pinned by digest. Output is canonical JSON (sorted keys), so an
 * unchanged pipeline serialises to the same bytes and needs no update.
 *
 * @example
 * ```ts
 * import { Config } from "../config.ts";
 * import { buildDefinition, offlineInputs } from "./definition.ts";
 * const config = await Config.load("mlops.config.json");
 * const definition = buildDefinition(offlineInputs(config, "dev"));
 * ```
 * @module
 */
import type { Config, Environment } from "../config.ts";
import { sha256Hex } from "../hash.ts";
import { execution, type Expression, join, jsonGet, parameter, stepProperty, type Value } from "./expressions.ts";
import {
  conditionStep,
  failStep,
  type Parameter,
  type PipelineDefinition,
  processingStep,
  registerModelStep,
  trainingStep,
} from "./steps.ts";

/** What the pipeline definition is built from. */
export interface DefinitionInputs {
  config: Config;
  env: Environment;
  /** From the environment's Terraform outputs. */
  executionRoleArn: string;
  bucket: string;
  modelPackageGroup: string;
  /** The training image, pinned: `<registry>/<repository>@sha256:<digest>`. */
  imageUri: string;
}

/** Step names, shared with tests and the local runner. */
export const STEP = {
  preprocess: "Preprocess",
  train: "Train",
  evaluate: "Evaluate",
  check: "CheckAccuracy",
  register: "RegisterModel",
  fail: "AccuracyTooLow",
} as const;

/** The property file the accuracy check reads. */
export const EVALUATION = {
  file: "EvaluationReport",
  output: "evaluation",
  path: "evaluation.json",
  accuracy: "metrics.accuracy.value",
};

/** Where container paths and the entrypoints live in the image (see training-pipeline/Dockerfile). */
export const CONTAINER = {
  program: "/opt/program",
  processing: "/opt/ml/processing",
};

/** Request content types the image's `serve` program accepts (training-pipeline/src/serve.py). */
export const SERVE_CONTENT_TYPES = ["text/csv", "application/json"] as const;
/** Response types `serve` answers in, chosen by `Accept` (JSON by default). */
export const SERVE_RESPONSE_TYPES = ["application/json", "text/csv"] as const;

const DIGEST_URI = /^[^@\s]+@sha256:[0-9a-f]{64}$/;

/** Placeholder inputs for offline use: names from the config, an all-zero digest. */
export function offlineInputs(config: Config, env: Environment): DefinitionInputs {
  const { names } = config;
  return {
    config,
    env,
    executionRoleArn: `arn:aws:iam::${config.account(env).id}:role${names.workloadRolePath}${names.executionRole(env)}`,
    bucket: names.mlBucket(env),
    modelPackageGroup: names.modelPackageGroup,
    imageUri: `${names.registry}/${names.ecrRepository}@sha256:${"0".repeat(64)}`,
  };
}

/** The pipeline's parameters with their defaults from the config. */
export function parameters(inputs: DefinitionInputs): Parameter[] {
  const { pipeline } = inputs.config.data;
  const settings = inputs.config.environment(inputs.env);
  const dataFile = pipeline.dataset.path.split("/").at(-1)!;
  return [
    { Name: "InputData", Type: "String", DefaultValue: `s3://${inputs.bucket}/data/${dataFile}` },
    { Name: "TextColumn", Type: "String", DefaultValue: pipeline.dataset.textColumn },
    { Name: "LabelColumn", Type: "String", DefaultValue: pipeline.dataset.labelColumn },
    { Name: "AccuracyThreshold", Type: "Float", DefaultValue: pipeline.accuracyThreshold },
    { Name: "ModelApprovalStatus", Type: "String", DefaultValue: settings.modelApprovalStatus },
    { Name: "ProcessingInstanceType", Type: "String", DefaultValue: pipeline.processingInstanceType },
    { Name: "TrainingInstanceType", Type: "String", DefaultValue: pipeline.trainingInstanceType },
    // SageMaker hands hyperparameters to the container as strings; the training code parses them.
    ...Object.entries(pipeline.hyperparameters).sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => ({
      Name: name,
      Type: "String" as const,
      DefaultValue: String(value),
    })),
  ];
}

/** Builds the pipeline definition. */
export function buildDefinition(inputs: DefinitionInputs): PipelineDefinition {
  if (!DIGEST_URI.test(inputs.imageUri)) {
    throw new Error(`The image must be pinned by digest (<repository>@sha256:<64 hex>), got "${inputs.imageUri}".`);
  }
  const { config, bucket, imageUri, executionRoleArn: RoleArn } = inputs;
  const hyperparameters = Object.keys(config.data.pipeline.hyperparameters).sort();
  const s3 = (...parts: Value[]) =>
    join("/", [`s3://${bucket}/pipelines/${config.names.pipeline}`, execution.id, ...parts]);
  const outputUri = (step: string, output: string) =>
    stepProperty(step, `ProcessingOutputConfig.Outputs['${output}'].S3Output.S3Uri`);
  const resources = (instanceType: string) => ({
    ClusterConfig: { InstanceCount: 1, InstanceType: parameter(instanceType), VolumeSizeInGB: 30 },
  });
  const input = (name: string, uri: string | Expression, localPath: string) => ({
    InputName: name,
    AppManaged: false,
    S3Input: {
      S3Uri: uri,
      LocalPath: localPath,
      S3DataType: "S3Prefix" as const,
      S3InputMode: "File" as const,
      S3DataDistributionType: "FullyReplicated" as const,
    },
  });
  const output = (step: string, name: string, localPath: string) => ({
    OutputName: name,
    AppManaged: false,
    S3Output: { S3Uri: s3(step.toLowerCase(), name), LocalPath: localPath, S3UploadMode: "EndOfJob" as const },
  });
  const stopping = { MaxRuntimeInSeconds: 3600 };
  const P = CONTAINER.processing;

  const preprocess = processingStep(STEP.preprocess, {
    RoleArn,
    AppSpecification: {
      ImageUri: imageUri,
      ContainerEntrypoint: ["python3", `${CONTAINER.program}/preprocess.py`],
      ContainerArguments: [
        "--input-dir",
        `${P}/input/data`,
        "--train-dir",
        `${P}/output/train`,
        "--test-dir",
        `${P}/output/test`,
        "--text-column",
        parameter("TextColumn"),
        "--label-column",
        parameter("LabelColumn"),
      ],
    },
    ProcessingInputs: [input("data", parameter("InputData"), `${P}/input/data`)],
    ProcessingOutputConfig: {
      Outputs: [
        output(STEP.preprocess, "train", `${P}/output/train`),
        output(STEP.preprocess, "test", `${P}/output/test`),
      ],
    },
    ProcessingResources: resources("ProcessingInstanceType"),
    StoppingCondition: stopping,
  });

  const train = trainingStep(STEP.train, {
    RoleArn,
    AlgorithmSpecification: { TrainingImage: imageUri, TrainingInputMode: "File" },
    HyperParameters: Object.fromEntries(hyperparameters.map((name) => [name, parameter(name)])),
    InputDataConfig: [{
      ChannelName: "train",
      ContentType: "text/csv",
      DataSource: {
        S3DataSource: {
          S3DataType: "S3Prefix",
          S3Uri: outputUri(STEP.preprocess, "train"),
          S3DataDistributionType: "FullyReplicated",
        },
      },
    }],
    OutputDataConfig: { S3OutputPath: s3("train") },
    ResourceConfig: { InstanceCount: 1, InstanceType: parameter("TrainingInstanceType"), VolumeSizeInGB: 30 },
    StoppingCondition: stopping,
  });

  const model = stepProperty(STEP.train, "ModelArtifacts.S3ModelArtifacts");
  const evaluate = processingStep(STEP.evaluate, {
    RoleArn,
    AppSpecification: {
      ImageUri: imageUri,
      ContainerEntrypoint: ["python3", `${CONTAINER.program}/evaluate.py`],
      ContainerArguments: [
        "--model-dir",
        `${P}/model`,
        "--test-dir",
        `${P}/test`,
        "--output-dir",
        `${P}/evaluation`,
      ],
    },
    ProcessingInputs: [
      input("model", model, `${P}/model`),
      input("test", outputUri(STEP.preprocess, "test"), `${P}/test`),
    ],
    ProcessingOutputConfig: { Outputs: [output(STEP.evaluate, EVALUATION.output, `${P}/evaluation`)] },
    ProcessingResources: resources("ProcessingInstanceType"),
    StoppingCondition: stopping,
  }, {
    propertyFiles: [{ PropertyFileName: EVALUATION.file, OutputName: EVALUATION.output, FilePath: EVALUATION.path }],
  });

  const accuracy = jsonGet(STEP.evaluate, EVALUATION.file, EVALUATION.accuracy);
  const register = registerModelStep(STEP.register, {
    ModelPackageGroupName: inputs.modelPackageGroup,
    ModelPackageDescription: join(" ", ["Trained by pipeline execution", execution.arn]),
    ModelApprovalStatus: parameter("ModelApprovalStatus"),
    InferenceSpecification: {
      Containers: [{ Image: imageUri, ModelDataUrl: model }],
      // Exactly what the image's `serve` program accepts and answers (training-pipeline/src/serve.py).
      SupportedContentTypes: [...SERVE_CONTENT_TYPES],
      SupportedResponseMIMETypes: [...SERVE_RESPONSE_TYPES],
    },
    ModelMetrics: {
      ModelQuality: {
        Statistics: {
          ContentType: "application/json",
          S3Uri: join("/", [outputUri(STEP.evaluate, EVALUATION.output), EVALUATION.path]),
        },
      },
    },
  });
  const fail = failStep(
    STEP.fail,
    join(" ", ["Model accuracy", accuracy, "is below the threshold", parameter("AccuracyThreshold")]),
  );
  const check = conditionStep(
    STEP.check,
    [{ Type: "GreaterThanOrEqualTo", LeftValue: accuracy, RightValue: parameter("AccuracyThreshold") }],
    [register],
    [fail],
  );

  return {
    Version: "2020-12-01",
    Metadata: {},
    Parameters: parameters(inputs),
    Steps: [preprocess, train, evaluate, check],
  };
}

/** Recursively key-sorted copy of a JSON value. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Canonical JSON of a definition: sorted keys; `indent` for people, none for hashing and upload. */
export function canonicalJson(definition: unknown, indent?: number): string {
  return JSON.stringify(sortKeys(definition), null, indent);
}

/** SHA-256 of the canonical JSON, hex. */
export function definitionHash(definition: unknown): Promise<string> {
  return sha256Hex(canonicalJson(definition));
}
