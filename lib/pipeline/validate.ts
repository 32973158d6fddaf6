/**
 * Structural checks of a pipeline definition, run before anything uses it:
 * unique step names, every `Get` pointing at a declared parameter, a known
 * execution variable, an existing step or one of its property files, and
 * condition branches that exist.
 *
 * @example
 * ```ts
 * import { definitionProblems } from "./validate.ts";
 * const problems = definitionProblems({ Version: "2020-12-01", Metadata: {}, Parameters: [], Steps: [] });
 * ```
 * @module
 */
import { collectGets } from "./expressions.ts";
import { allSteps, type PipelineDefinition, type Step } from "./steps.ts";

/** SageMaker's execution variables, exactly (the SDK's `ExecutionVariables`). */
export const EXECUTION_VARIABLES: ReadonlySet<string> = new Set([
  "StartDateTime",
  "CurrentDateTime",
  "PipelineName",
  "PipelineArn",
  "PipelineExecutionId",
  "PipelineExecutionArn",
  "TrainingJobName",
  "ProcessingJobName",
]);

/** Every problem found in a definition (empty when it is sound). */
export function definitionProblems(definition: PipelineDefinition): string[] {
  const problems: string[] = [];
  if (definition.Version !== "2020-12-01") problems.push(`Version is "${definition.Version}", expected "2020-12-01"`);
  const parameters = new Set<string>();
  for (const p of definition.Parameters) {
    if (parameters.has(p.Name)) problems.push(`parameter "${p.Name}" is declared twice`);
    if (p.EnumValues && !p.EnumValues.includes(String(p.DefaultValue))) {
      problems.push(`parameter "${p.Name}" defaults to "${p.DefaultValue}", which is not one of its EnumValues`);
    }
    parameters.add(p.Name);
  }
  const steps = allSteps(definition.Steps);
  const byName = new Map<string, Step>();
  for (const step of steps) {
    if (byName.has(step.Name)) problems.push(`step name "${step.Name}" is used twice`);
    byName.set(step.Name, step);
  }
  for (const step of steps) {
    for (const dep of step.DependsOn ?? []) {
      if (!byName.has(dep)) problems.push(`step "${step.Name}" depends on unknown step "${dep}"`);
    }
    if (step.Type === "Condition") {
      const { IfSteps, ElseSteps, Conditions } = step.Arguments;
      if (Conditions.length === 0) problems.push(`condition "${step.Name}" has no conditions`);
      if (IfSteps.length + ElseSteps.length === 0) problems.push(`condition "${step.Name}" has no branch steps`);
    }
    const ownArguments = step.Type === "Condition" ? step.Arguments.Conditions : step.Arguments;
    for (const path of collectGets(ownArguments)) {
      const problem = getProblem(path, parameters, byName, step.Name);
      if (problem) problems.push(`step "${step.Name}": ${problem}`);
    }
  }
  return problems;
}

function getProblem(path: string, parameters: Set<string>, steps: Map<string, Step>, self: string): string | null {
  const [kind, name, ...rest] = path.split(".");
  if (kind === "Parameters") return parameters.has(name) ? null : `"Get": "${path}" names an undeclared parameter`;
  if (kind === "Execution") {
    return EXECUTION_VARIABLES.has(name) ? null : `"Get": "${path}" is not an execution variable`;
  }
  if (kind !== "Steps") return `"Get": "${path}" is neither a parameter, an execution variable nor a step property`;
  const target = steps.get(name);
  if (!target) return `"Get": "${path}" names unknown step "${name}"`;
  if (name === self) return `"Get": "${path}" refers to the step itself`;
  if (rest[0] === "PropertyFiles") {
    const files = target.Type === "Processing" ? target.PropertyFiles ?? [] : [];
    if (!files.some((f) => f.PropertyFileName === rest[1])) {
      return `"Get": "${path}" names property file "${rest[1]}", which step "${name}" does not declare`;
    }
  }
  if (rest.length === 0) return `"Get": "${path}" names a step but no property`;
  return null;
}
