/**
 * Typed builders of SageMaker pipeline steps. Each step's `Arguments` are the
 * AWS SDK's own request shape (minus the job name, which SageMaker assigns),
 * widened so any value may be a pipeline expression: a typo in a field name
 * or a wrong type is a compile error, not a failed pipeline run.
 *
 * @example
 * ```ts
 * import { failStep } from "./steps.ts";
 * const fail = failStep("AccuracyTooLow", "Accuracy is below the threshold");
 * ```
 * @module
 */
import type {
  CreateModelPackageInput,
  CreateProcessingJobRequest,
  CreateTrainingJobRequest,
} from "@aws-sdk/client-sagemaker";
import type { Get, JsonGet, Value, Widen } from "./expressions.ts";

/** Arguments of a Processing step: `CreateProcessingJob` without the job name. */
export type ProcessingArguments = Widen<Omit<CreateProcessingJobRequest, "ProcessingJobName">>;
/** Arguments of a Training step: `CreateTrainingJob` without the job name. */
export type TrainingArguments = Widen<Omit<CreateTrainingJobRequest, "TrainingJobName">>;
/** Arguments of a RegisterModel step: `CreateModelPackage`. */
export type RegisterModelArguments = Widen<CreateModelPackageInput>;

/** A JSON file a processing step writes, readable with `Std:JsonGet`. */
export interface PropertyFile {
  PropertyFileName: string;
  OutputName: string;
  FilePath: string;
}

/** How SageMaker retries a step that failed with one of `ExceptionType`. */
export interface RetryPolicy {
  /** `Step.SERVICE_FAULT`, `Step.THROTTLING`; for job steps also `SageMaker.*` job errors. */
  ExceptionType: (
    | "Step.SERVICE_FAULT"
    | "Step.THROTTLING"
    | "SageMaker.JOB_INTERNAL_ERROR"
    | "SageMaker.CAPACITY_ERROR"
    | "SageMaker.RESOURCE_LIMIT"
  )[];
  IntervalSeconds: number;
  BackoffRate: number;
  MaxAttempts: number;
}

/** Step caching: a step with the same arguments reuses an earlier run's result within `ExpireAfter`. */
export interface CacheConfig {
  Enabled: boolean;
  /** ISO 8601 duration, e.g. `P30D`. */
  ExpireAfter?: string;
}

interface StepBase {
  Name: string;
  DependsOn?: string[];
  Description?: string;
  RetryPolicies?: RetryPolicy[];
}

/** A Processing step. */
export interface ProcessingStep extends StepBase {
  Type: "Processing";
  Arguments: ProcessingArguments;
  PropertyFiles?: PropertyFile[];
  CacheConfig?: CacheConfig;
}

/** A Training step. */
export interface TrainingStep extends StepBase {
  Type: "Training";
  Arguments: TrainingArguments;
}

/** A RegisterModel step (creates a model package version). */
export interface RegisterModelStep extends StepBase {
  Type: "RegisterModel";
  Arguments: RegisterModelArguments;
}

/** Comparison operators of a Condition step. */
export type ConditionType =
  | "Equals"
  | "GreaterThan"
  | "GreaterThanOrEqualTo"
  | "LessThan"
  | "LessThanOrEqualTo";

/** One comparison of a Condition step. */
export interface Condition {
  Type: ConditionType;
  LeftValue: Value | JsonGet;
  RightValue: Value | Get;
}

/** A Condition step: runs `IfSteps` when every condition holds, else `ElseSteps`. */
export interface ConditionStep extends StepBase {
  Type: "Condition";
  Arguments: { Conditions: Condition[]; IfSteps: Step[]; ElseSteps: Step[] };
}

/** A Fail step: ends the execution as failed with a message. */
export interface FailStep extends StepBase {
  Type: "Fail";
  Arguments: { ErrorMessage: Value };
}

/** Any step this project builds. */
export type Step = ProcessingStep | TrainingStep | RegisterModelStep | ConditionStep | FailStep;

/** A pipeline parameter declaration. */
export interface Parameter {
  Name: string;
  Type: "String" | "Integer" | "Float" | "Boolean";
  DefaultValue: string | number | boolean;
  /** For String parameters: the only values an execution may use. */
  EnumValues?: string[];
}

/** The pipeline definition document SageMaker stores. */
export interface PipelineDefinition {
  Version: "2020-12-01";
  Metadata: Record<string, never>;
  Parameters: Parameter[];
  Steps: Step[];
}

/** Options every job step takes. */
export interface StepOptions {
  dependsOn?: string[];
  retryPolicies?: RetryPolicy[];
}

function common(options: StepOptions): Partial<StepBase> {
  return {
    ...(options.dependsOn ? { DependsOn: options.dependsOn } : {}),
    ...(options.retryPolicies ? { RetryPolicies: options.retryPolicies } : {}),
  };
}

/** A Processing step, optionally with property files and caching. */
export function processingStep(
  name: string,
  args: ProcessingArguments,
  options: StepOptions & { propertyFiles?: PropertyFile[]; cache?: CacheConfig } = {},
): ProcessingStep {
  return {
    Name: name,
    Type: "Processing",
    Arguments: args,
    ...(options.propertyFiles ? { PropertyFiles: options.propertyFiles } : {}),
    ...(options.cache ? { CacheConfig: options.cache } : {}),
    ...common(options),
  };
}

/** A Training step. */
export function trainingStep(name: string, args: TrainingArguments, options: StepOptions = {}): TrainingStep {
  return { Name: name, Type: "Training", Arguments: args, ...common(options) };
}

/** A RegisterModel step. */
export function registerModelStep(
  name: string,
  args: RegisterModelArguments,
  options: StepOptions = {},
): RegisterModelStep {
  return { Name: name, Type: "RegisterModel", Arguments: args, ...common(options) };
}

/** A Condition step. */
export function conditionStep(
  name: string,
  conditions: Condition[],
  ifSteps: Step[],
  elseSteps: Step[],
): ConditionStep {
  return {
    Name: name,
    Type: "Condition",
    Arguments: { Conditions: conditions, IfSteps: ifSteps, ElseSteps: elseSteps },
  };
}

/** A Fail step. */
export function failStep(name: string, message: Value): FailStep {
  return { Name: name, Type: "Fail", Arguments: { ErrorMessage: message } };
}

/** Every step, including those nested in condition branches. */
export function allSteps(steps: Step[]): Step[] {
  return steps.flatMap((s) =>
    s.Type === "Condition" ? [s, ...allSteps([...s.Arguments.IfSteps, ...s.Arguments.ElseSteps])] : [s]
  );
}
