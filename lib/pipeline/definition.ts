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
import { ModelApprovalStatus, ProcessingInstanceType, TrainingInstanceType } from "@aws-sdk/client-sagemaker";
import { type Config, type Environment, HYPERPARAMETERS, isIntegerHyperparameter } from "../config.ts";
import { sha256Hex } from "../hash.ts";
import { execution, type Expression, join, jsonGet, parameter, stepProperty, type Value } from "./expressions.ts";
import {
  conditionStep,
  failStep,
  type Parameter,
  type PipelineDefinition,
  processingStep,
  registerModelStep,
  type RetryPolicy,
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
  /** The git commit the pipeline's code comes from (recorded on every model version). */
  commit: string;
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

/** The property file the accuracy check reads, and the model-quality report the registry shows. */
export const EVALUATION = {
  file: "EvaluationReport",
  output: "evaluation",
  path: "evaluation.json",
  accuracy: "metrics.accuracy.value",
  modelQuality: "model_quality.json",
};

/** The property file in which Preprocess identifies its input data (see preprocess.py). */
export const DATASET = { file: "DatasetVersion", output: "dataset", path: "dataset.json" };

/** `InputDataVersion` of a run started without one (the retraining schedule): no check. */
export const LATEST_DATA = "latest";

/**
 * Preprocess reuses an earlier result for the same arguments, data version included. A run
 * with `InputDataVersion=latest` (the schedule's) could reuse one made from older data, so
 * results expire after 12 hours: less than a daily schedule's interval.
 */
export const PREPROCESS_CACHE = { Enabled: true, ExpireAfter: "PT12H" };

/** The commit recorded when none is known (a definition printed or run outside a checkout). */
export const UNKNOWN_COMMIT = "unknown";

/** Training metrics SageMaker reads from the job's log (train.py prints `train_accuracy=0.9876`). */
export const METRIC_DEFINITIONS = [{ Name: "train:accuracy", Regex: "train_accuracy=([0-9.]+)" }];

/**
 * Retries of transient failures: SageMaker's throttling and service faults for every step,
 * and for jobs also capacity, resource-limit and internal errors (at most about 25 minutes).
 */
export const RETRY = {
  step: {
    ExceptionType: ["Step.SERVICE_FAULT", "Step.THROTTLING"],
    IntervalSeconds: 10,
    BackoffRate: 2,
    MaxAttempts: 5,
  },
  job: {
    ExceptionType: ["SageMaker.JOB_INTERNAL_ERROR", "SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT"],
    IntervalSeconds: 60,
    BackoffRate: 2,
    MaxAttempts: 4,
  },
} satisfies Record<string, RetryPolicy>;

/** Where container paths and the entrypoints live in the image (see training-pipeline/Dockerfile). */
export const CONTAINER = {
  program: "/opt/program",
  processing: "/opt/ml/processing",
  /** What SageMaker runs for a training job: `docker run <image> train`, `train` found on PATH. */
  train: ["python3", "/opt/program/train"],
  /**
   * The environment the image gives every process: the Dockerfile's `ENV` over the python base
   * image's (and Docker's `HOME`). SageMaker adds only what a request's `Environment` names.
   */
  env: {
    PATH: "/opt/program:/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/root",
    LANG: "C.UTF-8",
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
    OMP_NUM_THREADS: "1",
  } as Record<string, string>,
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
    commit: UNKNOWN_COMMIT,
  };
}

/** Values SageMaker accepts for the closed-set string parameters (from the service model, via the SDK). */
export const ENUM_VALUES = {
  ModelApprovalStatus: Object.values(ModelApprovalStatus),
  ProcessingInstanceType: Object.values(ProcessingInstanceType),
  TrainingInstanceType: Object.values(TrainingInstanceType),
};

/** The pipeline's parameters with their defaults from the config. */
export function parameters(inputs: DefinitionInputs): Parameter[] {
  const { pipeline } = inputs.config.data;
  const settings = inputs.config.environment(inputs.env);
  const dataFile = pipeline.dataset.path.split("/").at(-1)!;
  const closed = (name: keyof typeof ENUM_VALUES, value: string): Parameter => ({
    Name: name,
    Type: "String",
    DefaultValue: value,
    EnumValues: ENUM_VALUES[name],
  });
  return [
    { Name: "InputData", Type: "String", DefaultValue: `s3://${inputs.bucket}/data/${dataFile}` },
    // Set by `pipeline start` to the data's SHA-256 (or ETag): keys Preprocess's cache; Preprocess checks it.
    { Name: "InputDataVersion", Type: "String", DefaultValue: LATEST_DATA },
    { Name: "TextColumn", Type: "String", DefaultValue: pipeline.dataset.textColumn },
    { Name: "LabelColumn", Type: "String", DefaultValue: pipeline.dataset.labelColumn },
    { Name: "AccuracyThreshold", Type: "Float", DefaultValue: pipeline.accuracyThreshold },
    closed("ModelApprovalStatus", settings.modelApprovalStatus),
    closed("ProcessingInstanceType", pipeline.processingInstanceType),
    closed("TrainingInstanceType", pipeline.trainingInstanceType),
    // Typed like the config declares them; the training step receives them as strings (Std:Join).
    ...HYPERPARAMETERS.map((name) => ({
      Name: name,
      Type: isIntegerHyperparameter(name) ? "Integer" as const : "Float" as const,
      DefaultValue: pipeline.hyperparameters[name],
    })),
  ];
}

/** Builds the pipeline definition. */
export function buildDefinition(inputs: DefinitionInputs): PipelineDefinition {
  if (!DIGEST_URI.test(inputs.imageUri)) {
    throw new Error(`The image must be pinned by digest (<repository>@sha256:<64 hex>), got "${inputs.imageUri}".`);
  }
  const { config, bucket, imageUri, executionRoleArn: RoleArn } = inputs;
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
  const Tags = Object.entries(config.data.tags).map(([Key, Value]) => ({ Key, Value }));
  const jobRetries = [RETRY.step, RETRY.job];
  const P = CONTAINER.processing;
  const MESSAGE_FILE = "/opt/ml/output/message";

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
        "--dataset-dir",
        `${P}/output/${DATASET.output}`,
        "--data-version",
        parameter("InputDataVersion"),
        "--text-column",
        parameter("TextColumn"),
        "--label-column",
        parameter("LabelColumn"),
        "--message-file",
        MESSAGE_FILE,
      ],
    },
    ProcessingInputs: [input("data", parameter("InputData"), `${P}/input/data`)],
    ProcessingOutputConfig: {
      Outputs: [
        output(STEP.preprocess, "train", `${P}/output/train`),
        output(STEP.preprocess, "test", `${P}/output/test`),
        output(STEP.preprocess, DATASET.output, `${P}/output/${DATASET.output}`),
      ],
    },
    ProcessingResources: resources("ProcessingInstanceType"),
    StoppingCondition: stopping,
    Tags,
  }, {
    propertyFiles: [{ PropertyFileName: DATASET.file, OutputName: DATASET.output, FilePath: DATASET.path }],
    retryPolicies: jobRetries,
    cache: PREPROCESS_CACHE,
  });

  const train = trainingStep(STEP.train, {
    RoleArn,
    AlgorithmSpecification: {
      TrainingImage: imageUri,
      TrainingInputMode: "File",
      MetricDefinitions: METRIC_DEFINITIONS,
    },
    HyperParameters: Object.fromEntries(HYPERPARAMETERS.map((name) => [name, join("", [parameter(name)])])),
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
    Tags,
  }, { retryPolicies: jobRetries });

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
        "--message-file",
        MESSAGE_FILE,
      ],
    },
    ProcessingInputs: [
      input("model", model, `${P}/model`),
      input("test", outputUri(STEP.preprocess, "test"), `${P}/test`),
    ],
    ProcessingOutputConfig: { Outputs: [output(STEP.evaluate, EVALUATION.output, `${P}/evaluation`)] },
    ProcessingResources: resources("ProcessingInstanceType"),
    StoppingCondition: stopping,
    Tags,
  }, {
    propertyFiles: [{ PropertyFileName: EVALUATION.file, OutputName: EVALUATION.output, FilePath: EVALUATION.path }],
    retryPolicies: jobRetries,
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
          S3Uri: join("/", [outputUri(STEP.evaluate, EVALUATION.output), EVALUATION.modelQuality]),
        },
      },
    },
    // What a registry user asks of a version: which code, which image, which data.
    CustomerMetadataProperties: {
      GitCommit: inputs.commit,
      ImageDigest: imageUri.slice(imageUri.indexOf("@") + 1),
      DataUri: parameter("InputData"),
      DataSha256: jsonGet(STEP.preprocess, DATASET.file, "sha256"),
      DataETag: jsonGet(STEP.preprocess, DATASET.file, "etag"),
    },
    Tags,
  }, { retryPolicies: [RETRY.step] });
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
    // No PipelineExperimentConfig, on purpose: SageMaker would record each run as a trial of a (legacy)
    // SageMaker Experiments experiment, which needs CreateExperiment/CreateTrial/AssociateTrialComponent
    // rights on the execution role. What a run produced is already traceable without them: every model
    // version names its execution, commit, image and data, and the jobs carry the pipeline's lineage.
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
