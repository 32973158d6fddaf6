/**
 * deno task bench — measures, in one run, figures whose targets are ratios
 * (our machines are noisy, so absolute times are only context):
 *
 * - warm `--help` of every task ÷ a bare `deno run` of an empty script
 *   (target ≤ 3×);
 * - the runner's offline `plan` of the dev environment ÷ the same terraform
 *   commands run directly (target ≤ 1.05×);
 * - an idempotent `bootstrap --plan --offline` ÷ the sum of the plans it runs
 *   (target ≤ 1.1×; the roots plan in parallel);
 * - pipeline definition generation (≤ 50 ms) and a local run on the sample
 *   (≤ 20 s), with the time of each step;
 * - local serving: p50/p99 latency and requests per second of `/invocations`
 *   with 1 and 32 texts against `serve local`; wall time and AWS calls of
 *   `serve staging` (create, update) against the fake AWS server;
 * - builds and AWS calls of a dev → staging → prod promotion against the fake
 *   AWS server (one build per commit).
 *
 * Example:
 *   deno task bench --runs 7
 */
import { defineTask, ExitCode, UsageError } from "../lib/cli.ts";

/** Kept here (not imported from lib/bench.ts) so `--help` stays fast. */
const BENCHMARK_NAMES = ["help", "runner", "bootstrap", "pipeline", "serving", "promotion"] as const;

export const task = defineTask({
  name: "bench",
  summary: "Measure start-up, runner overhead, bootstrap and pipeline timings against their targets.",
  usage: "deno task bench [--runs N] [--only help|runner|bootstrap|pipeline|serving|promotion]... [--json]",
  options: {
    runs: { type: "string", value: "N", description: "Samples per measurement (median is reported; default 7)." },
    only: {
      type: "string",
      multiple: true,
      value: "NAME",
      choices: BENCHMARK_NAMES,
      description: "Run only these benchmarks.",
    },
    json: { type: "boolean", description: "Print the figures as JSON on stdout." },
  },
  examples: ["deno task bench", "deno task bench --only help --runs 11"],
  async run({ options }) {
    const { describeFigures, runBenchmarks } = await import("../lib/bench.ts");
    const runs = Number(options.runs ?? 7);
    if (!Number.isInteger(runs) || runs < 1) {
      throw new UsageError(`Option "--runs" got "${options.runs}"; give a whole number of samples such as 7`);
    }
    const only = options.only.length ? options.only : [...BENCHMARK_NAMES];
    const figures = await runBenchmarks({ runs, only, config: options.config });
    console.log(options.json ? JSON.stringify(figures, null, 2) : describeFigures(figures));
    return figures.every((f) => f.value <= f.target) ? ExitCode.ok : ExitCode.failure;
  },
});

if (import.meta.main) await task.main(Deno.args);
