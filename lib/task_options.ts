/**
 * Option specs shared by several tasks, so each flag means the same thing
 * everywhere.
 *
 * @example
 * ```ts
 * import { TERRAFORM_OPTIONS } from "./task_options.ts";
 * console.log(Object.keys(TERRAFORM_OPTIONS));
 * ```
 * @module
 */
import type { OptionSpec } from "./cli.ts";

/** Flags of every task that reaches AWS. */
export const AWS_OPTIONS = {
  "no-profile": {
    type: "boolean",
    description: "Use credentials from the environment instead of the config's profiles (the default in CI).",
  },
} as const satisfies Record<string, OptionSpec>;

/** Flags of every task that runs Terraform. */
export const TERRAFORM_OPTIONS = {
  offline: {
    type: "boolean",
    description: "Plan with no AWS account: local state in .mlops/offline, fake credentials.",
  },
  "provider-mirror": {
    type: "string",
    value: "DIR",
    description: "Install providers only from this filesystem mirror (air-gapped machines; env MLOPS_PROVIDER_MIRROR).",
  },
  "lock-timeout": {
    type: "string",
    value: "DURATION",
    description: "How long to wait for the state lock (default: terraform.lockTimeout in the config).",
  },
  ...AWS_OPTIONS,
} as const satisfies Record<string, OptionSpec>;
