/**
 * deno task bench — measures, in one run, figures whose targets are ratios
 * (our machines are noisy, so absolute times are only context):
 *
 * - warm `--help` of every task ÷ a bare `deno run` of an empty script
 *   (target ≤ 3×);
 * - the runner's offline `plan` of the dev environment ÷ the same terraform
 *   command run directly (target ≤ 1.05×).
 *
 * Example:
 *   deno task bench --runs 7
 */
import { defineTask, ExitCode } from "../lib/cli.ts";

export const task = defineTask({
  name: "bench",
  summary: "Measure task start-up and runner overhead; print ratios against their targets.",
  usage: "deno task bench [--runs N] [--only help|runner]... [--json]",
  options: {
    runs: { type: "string", value: "N", description: "Samples per measurement (median is reported; default 7)." },
    only: {
      type: "string",
      multiple: true,
      value: "help|runner",
      choices: ["help", "runner"],
      description: "Run only these benchmarks.",
    },
    json: { type: "boolean", description: "Print the figures as JSON on stdout." },
  },
  examples: ["deno task bench", "deno task bench --only help --runs 11"],
  async run({ options }) {
    const { runBenchmarks } = await import("../lib/bench.ts");
    const runs = Number(options.runs ?? 7);
    const only = options.only.length ? options.only : ["help", "runner"];
    const figures = await runBenchmarks({ runs, only, config: options.config });
    if (options.json) console.log(JSON.stringify(figures, null, 2));
    return figures.every((f) => f.ratio <= f.target) ? ExitCode.ok : ExitCode.failure;
  },
});

if (import.meta.main) await task.main(Deno.args);
