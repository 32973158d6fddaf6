/**
 * deno task promote <env> — run by CI on a tag: deploy the environment, pin
 * the commit's image by digest, upsert and start the training pipeline, and
 * record the promotion. Refuses what the source environment has not run.
 * `deno task promote status` shows what each environment runs now.
 *
 * Example:
 *   deno task promote staging --wait
 */
import { defineTask, notBuiltYet } from "../lib/cli.ts";
import { ENVIRONMENTS } from "../lib/config.ts";
import { AWS_OPTIONS } from "../lib/task_options.ts";

export const task = defineTask({
  name: "promote",
  summary: "Promote this commit to an environment (deploy, pin digest, run pipeline, record).",
  usage: "deno task promote <env|status> [--wait] [--json]",
  positionals: [{
    name: "target",
    description: "Environment, or status",
    choices: [...ENVIRONMENTS, "status"],
    required: true,
  }],
  options: {
    wait: { type: "boolean", description: "Wait for the pipeline execution to finish." },
    json: { type: "boolean", description: "Print the result as JSON on stdout." },
    ...AWS_OPTIONS,
  },
  examples: ["deno task promote staging --wait", "deno task promote status"],
  run() {
    notBuiltYet("deno task promote", "issue #6");
  },
});

if (import.meta.main) await task.main(Deno.args);
