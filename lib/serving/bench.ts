/**
 * Serving figures for `deno task bench`: requests per second and p50/p99
 * latency of `/invocations` with 1 and 32 texts per request, against the
 * server `deno task serve local` starts (a bounded closed loop on loopback),
 * and the wall time and AWS calls of `serve` against the fake AWS server.
 *
 * @example
 * ```ts
 * import { percentile } from "./bench.ts";
 * console.log(percentile([5, 1, 3, 2, 4], 0.5)); // 3
 * ```
 * @module
 */
import { TaskError } from "../cli.ts";
import type { Figure } from "../bench.ts";
import { firstLine, toCsv } from "./local.ts";
import { sampleTexts } from "./predictions.ts";

/** The `p`-quantile (0..1) of a non-empty list, nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Latencies (ms) and throughput of `requests` POSTs with `concurrency` in flight. */
export async function loadTest(
  url: string,
  body: string,
  requests: number,
  concurrency: number,
): Promise<{ latencies: number[]; perSecond: number }> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < requests) {
      next++;
      const started = performance.now();
      const response = await fetch(`${url}/invocations`, {
        method: "POST",
        headers: { "Content-Type": "text/csv", Accept: "application/json" },
        body,
      });
      await response.arrayBuffer();
      if (!response.ok) throw new TaskError(`The local server answered ${response.status} during the benchmark.`);
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, perSecond: requests / ((performance.now() - started) / 1000) };
}

/** `/invocations` figures against `deno task serve local` (run `pipeline local` first if the registry is empty). */
export async function localServingFigures(config: string, dataset: string): Promise<Figure[]> {
  const { taskCommand } = await import("../../tests/helpers.ts");
  const [cmd, ...args] = taskCommand("serve", ["local", "--config", config]);
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null", stdin: "null" }).spawn();
  const figures: Figure[] = [];
  try {
    const { line: url } = await firstLine(child.stdout);
    if (!url.startsWith("http://")) {
      throw new TaskError("deno task serve local did not start (no model? run: deno task pipeline local).");
    }
    const texts = sampleTexts(await Deno.readTextFile(dataset), "text", 32);
    await loadTest(url, toCsv(texts.slice(0, 1)), 20, 1); // warm-up
    for (const [size, requests, targets] of [[1, 400, [25, 100]], [32, 200, [60, 250]]] as const) {
      const { latencies, perSecond } = await loadTest(url, toCsv(texts.slice(0, size)), requests, 4);
      const note = `${perSecond.toFixed(0)} requests/s (${
        (perSecond * size).toFixed(0)
      } texts/s), ${requests} requests, 4 in flight, ${size === 1 ? "1 text" : `${size} texts`} each`;
      figures.push(
        {
          name: `serve local /invocations, ${size} text(s): p50`,
          value: percentile(latencies, 0.5),
          unit: "ms",
          target: targets[0],
          note,
        },
        {
          name: `serve local /invocations, ${size} text(s): p99`,
          value: percentile(latencies, 0.99),
          unit: "ms",
          target: targets[1],
          note,
        },
      );
    }
  } finally {
    child.kill("SIGINT");
    await child.status;
  }
  return figures;
}

/** Wall time and AWS calls of `serve staging` (create, then update to a new version) against the fakes. */
export async function serveFigures(): Promise<Figure[]> {
  const { promotionWorkspace } = await import("../../tests/promotion_fixture.ts");
  const { runTask } = await import("../../tests/helpers.ts");
  await using w = await promotionWorkspace();
  for (const env of ["dev", "staging"]) {
    if ((await w.promote([env, "--wait"])).code !== 0) throw new TaskError(`The benchmark promotion to ${env} failed.`);
  }
  const image = w.record("staging", "current").imageUri as string;
  const figures: Figure[] = [];
  for (const step of ["create", "update"]) {
    w.hosting.register("333333333333", { status: "Approved", image });
    const before = w.aws.calls.length;
    const started = performance.now();
    const run = await runTask("serve", ["staging"], { cwd: w.dir, env: w.env, clearEnv: true });
    const seconds = (performance.now() - started) / 1000;
    if (run.code !== 0) throw new TaskError(`The benchmark serve failed: ${run.stderr.trim().split("\n").at(-1)}`);
    const calls = w.aws.calls.slice(before);
    const byService = new Map<string, number>();
    for (const c of calls) {
      const service = c.action.startsWith("POST /endpoints/") ? "runtime" : c.service;
      byService.set(service, (byService.get(service) ?? 0) + 1);
    }
    const services = [...byService].map(([k, v]) => `${k} ${v}`).join(", ");
    figures.push(
      {
        name: `serve staging (${step}) against the fakes`,
        value: seconds,
        unit: "s",
        target: 10,
        note: "wall time, polls every 5 ms",
      },
      { name: `AWS calls of serve staging (${step})`, value: calls.length, unit: "", target: 30, note: services },
    );
  }
  return figures;
}
