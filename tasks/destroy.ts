/**
 * deno task destroy <env> — destroy one environment's infrastructure, guarded
 * like deploy. Asks for the environment name to be typed (or --yes --confirm
 * <env> in CI). The backend and operations stacks cannot be destroyed here.
 *
 * Example:
 *   deno task destroy dev
 */
import { defineTask, notBuiltYet } from "../lib/cli.ts";
import { ENVIRONMENTS } from "../lib/config.ts";
import { TERRAFORM_OPTIONS } from "../lib/task_options.ts";

export const task = defineTask({
  name: "destroy",
  summary: "Destroy one environment's infrastructure (asks for the environment name).",
  usage: "deno task destroy <env> [--yes --confirm <env>]",
  positionals: [{ name: "env", description: "Environment to destroy", choices: ENVIRONMENTS, required: true }],
  options: {
    yes: { type: "boolean", short: "y", description: "Do not prompt; requires --confirm <env>." },
    confirm: { type: "string", value: "ENV", description: "The environment name, typed out (with --yes)." },
    ...TERRAFORM_OPTIONS,
  },
  examples: ["deno task destroy dev", "deno task destroy dev --yes --confirm dev"],
  run() {
    notBuiltYet("deno task destroy", "issue #4");
  },
});

if (import.meta.main) await task.main(Deno.args);
