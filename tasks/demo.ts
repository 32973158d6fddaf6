/**
 * deno task demo — the first command on a fresh machine, no AWS account
 * needed: runs the training pipeline locally on the sample data and plans
 * the dev environment offline.
 *
 * Example:
 *   deno task demo
 */
import { defineTask, notBuiltYet } from "../lib/cli.ts";

export const task = defineTask({
  name: "demo",
  summary: "Run the pipeline locally on the sample data and plan dev offline (no AWS account).",
  usage: "deno task demo",
  options: {},
  examples: ["deno task demo"],
  run() {
    notBuiltYet("deno task demo", "issue #5");
  },
});

if (import.meta.main) await task.main(Deno.args);
