/**
 * deno task pipeline <command> — the SageMaker training pipeline:
 * `definition` prints it, `upsert`/`start`/`status`/`watch` act on SageMaker,
 * `upload-data` copies the dataset to the environment's bucket, and `local`
 * runs the same definition on this machine with no AWS account.
 *
 * Example:
 *   deno task pipeline local
 *   deno task pipeline definition --env dev --offline
 */
import { defineTask, notBuiltYet } from "../lib/cli.ts";
import { ENVIRONMENTS } from "../lib/config.ts";
import { AWS_OPTIONS } from "../lib/task_options.ts";

const COMMANDS = ["definition", "upsert", "start", "status", "watch", "upload-data", "local"] as const;

export const task = defineTask({
  name: "pipeline",
  summary: "Print, upsert, start, watch or locally run the training pipeline.",
  usage: "deno task pipeline <command> [--env <env>] [--param name=value]",
  positionals: [{ name: "command", description: "What to do", choices: COMMANDS, required: true }],
  options: {
    env: {
      type: "string",
      value: "ENV",
      choices: ENVIRONMENTS,
      description: `Environment (${ENVIRONMENTS.join(", ")}).`,
    },
    param: {
      type: "string",
      multiple: true,
      value: "NAME=VALUE",
      description: "Override a pipeline parameter (repeatable).",
    },
    offline: { type: "boolean", description: "Use placeholder Terraform outputs and image digest." },
    ...AWS_OPTIONS,
  },
  examples: ["deno task pipeline local", "deno task pipeline definition --env dev --offline"],
  run() {
    notBuiltYet("deno task pipeline", "issue #5");
  },
});

if (import.meta.main) await task.main(Deno.args);
