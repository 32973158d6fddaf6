/**
 * SageMaker pipeline expressions: references to parameters, execution
 * variables and step properties (`Get`), `Std:Join` and `Std:JsonGet`, plus
 * the {@linkcode Widen} type that lets an AWS SDK request shape accept an
 * expression wherever it takes a plain value.
 *
 * @example
 * ```ts
 * import { join, parameter } from "./expressions.ts";
 * const uri = join("/", ["s3://bucket", parameter("Prefix")]);
 * ```
 * @module
 */

/** `{"Get": "Parameters.X" | "Execution.X" | "Steps.X.…"}` */
export interface Get {
  Get: string;
}

/** `{"Std:Join": {"On": ",", "Values": […]}}` */
export interface Join {
  "Std:Join": { On: string; Values: Value[] };
}

/** `{"Std:JsonGet": {"PropertyFile": {"Get": …}, "Path": "a.b"}}` */
export interface JsonGet {
  "Std:JsonGet": { PropertyFile: Get; Path: string };
}

/** Any pipeline expression. */
export type Expression = Get | Join | JsonGet;

/** A plain value or an expression that yields one at run time. */
export type Value = string | number | boolean | Expression;

/**
 * An SDK request shape in which every primitive may also be an expression,
 * as the pipeline definition allows.
 */
export type Widen<T> = T extends string | number | boolean ? T | Expression
  : T extends Date ? T
  : T extends readonly (infer U)[] ? Widen<U>[]
  : T extends object ? { [K in keyof T]: Widen<T[K]> }
  : T;

/** A pipeline parameter reference. */
export function parameter(name: string): Get {
  return { Get: `Parameters.${name}` };
}

/** Execution variables SageMaker provides. */
export const execution = {
  id: { Get: "Execution.PipelineExecutionId" } as Get,
  arn: { Get: "Execution.PipelineExecutionArn" } as Get,
  pipelineName: { Get: "Execution.PipelineName" } as Get,
};

/** A property of an earlier step, e.g. `stepProperty("Train", "ModelArtifacts.S3ModelArtifacts")`. */
export function stepProperty(step: string, path: string): Get {
  return { Get: `Steps.${step}.${path}` };
}

/** `Std:Join` of values with a separator. */
export function join(on: string, values: Value[]): Join {
  return { "Std:Join": { On: on, Values: values } };
}

/** A value of a JSON property file written by a processing step. */
export function jsonGet(step: string, propertyFile: string, path: string): JsonGet {
  return { "Std:JsonGet": { PropertyFile: { Get: `Steps.${step}.PropertyFiles.${propertyFile}` }, Path: path } };
}

/** Whether a value is an expression object. */
export function isExpression(value: unknown): value is Expression {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && ["Get", "Std:Join", "Std:JsonGet"].includes(keys[0]);
}

/** Every `Get` path inside a value, however deeply nested. */
export function collectGets(value: unknown, into: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => collectGets(v, into));
  else if (typeof value === "object" && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === "Get" && typeof inner === "string") into.push(inner);
      else collectGets(inner, into);
    }
  }
  return into;
}
