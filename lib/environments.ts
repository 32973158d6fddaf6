/**
 * The environment names, apart from the config module so that task entry
 * scripts can list them in `--help` and argument checks without loading the
 * config schema (zod) at start-up.
 *
 * @example
 * ```ts
 * import { ENVIRONMENTS, isEnvironment } from "./environments.ts";
 * console.log(ENVIRONMENTS, isEnvironment("dev"));
 * ```
 * @module
 */

/** The deployment environments, in promotion order. */
export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;
/** One of {@linkcode ENVIRONMENTS}. */
export type Environment = typeof ENVIRONMENTS[number];
/** Environments plus the operations account. */
export type AccountName = Environment | "operations";

/** Whether `value` names an environment. */
export function isEnvironment(value: string): value is Environment {
  return (ENVIRONMENTS as readonly string[]).includes(value);
}
