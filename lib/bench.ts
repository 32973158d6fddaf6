/**
 * Benchmarks behind `deno task bench`. Ratio figures time two commands
 * alternately in the same run (median of N samples after a warm-up), so
 * machine noise affects both sides alike; the few absolute targets (the local
 * pipeline run, definition generation) are reported with what dominates them.
 *
 * @example
 * ```ts
 * import { median } from "./bench.ts";
 * console.log(median([3, 1, 2])); // 2
 * ```
 * @module
 */
import { TaskError, UsageError } from "./cli.ts";
import { loadContext } from "./context.ts";
import { log, table } from "./log.ts";
import { buildDefinition, canonicalJson, offlineInputs } from "./pipeline/definition.ts";
import type { TerraformRoot } from "./terraform.ts";

/** One measured figure and its target. */
export interface Figure {
  name: string;
  /** The measured value: a ratio (`×`), seconds (`s`) or milliseconds (`ms`). */
  value: number;
  unit: "×" | "s" | "ms" | "";
  target: number;
  /** What was compared, or what dominates. */
  note: string;
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Command {
  argv: string[];
  env?: Record<string, string>;
}

async function timeOnce(command: Command): Promise<number> {
  const [cmd, ...args] = command.argv;
  const started = performance.now();
  const out = await new Deno.Command(cmd, { args, env: command.env, stdout: "null", stderr: "piped", stdin: "null" })
    .output();
  const seconds = (performance.now() - started) / 1000;
  if (out.code !== 0 && out.code !== 3) {
    const last = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
    throw new TaskError(`Benchmark command failed (exit ${out.code}): ${command.argv.join(" ")}: ${last}`);
  }
  return seconds;
}

/** Times `subject` and `baseline` alternately `runs` times after one warm-up each; returns both medians. */
async function compare(subject: Command, baseline: Command, runs: number): Promise<[number, number]> {
  await timeOnce(subject);
  await timeOnce(baseline);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(await timeOnce(subject));
    b.push(await timeOnce(baseline));
  }
  return [median(a), median(b)];
}

function ratio(name: string, [subject, baseline]: [number, number], target: number, versus: string): Figure {
  return {
    name,
    value: subject / baseline,
    unit: "×",
    target,
    note: `${subject.toFixed(3)} s vs ${baseline.toFixed(3)} s ${versus}`,
  };
}

const deno = Deno.execPath();
const task = (...args: string[]): Command => ({ argv: [deno, "task", "--quiet", ...args] });

async function helpFigures(runs: number): Promise<Figure[]> {
  const empty = await Deno.makeTempFile({ suffix: ".ts" });
  const tasks = Object.keys((JSON.parse(await Deno.readTextFile("deno.json")) as { tasks: object }).tasks);
  const figures: Figure[] = [];
  for (const name of tasks) {
    const times = await compare(task(name, "--help"), { argv: [deno, "run", empty] }, runs);
    figures.push(ratio(`deno task ${name} --help`, times, 3, "(deno run of an empty script)"));
  }
  await Deno.remove(empty);
  return figures;
}

/** The raw terraform commands the runner issues for a warm plan: plan, then show -json. */
function rawPlan(root: TerraformRoot): string {
  const entries = Object.entries(root.childEnv());
  const env = [
    ...entries.filter(([, v]) => v === undefined).map(([k]) => `-u ${k}`),
    ...entries.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}='${v}'`),
  ].join(" ");
  const plan = `${root.workDir}/bench.tfplan`;
  return [
    `env ${env} terraform -chdir=${root.chdir} plan -input=false -detailed-exitcode -var-file=${root.varFile} -out=${plan} -lock-timeout=${root.lockTimeout} >/dev/null; [ $? -ne 1 ]`,
    `env ${env} terraform -chdir=${root.chdir} show -json ${plan} >/dev/null`,
  ].join(" && ");
}

async function runnerFigure(runs: number, config: string): Promise<Figure> {
  const ctx = await loadContext({ config, offline: true });
  const subject = task("deploy", "dev", "--plan", "--offline", "--config", config);
  await timeOnce(subject); // init once, outside the measurement
  const times = await compare(subject, { argv: ["bash", "-c", rawPlan(ctx.root("main", "dev"))] }, runs);
  const figure = ratio("deploy dev --plan --offline", times, 1.05, "(the same terraform plan + show run directly)");
  // The ratio sits within the noise of a 6 s plan; the runner's own work, with terraform replaced by
  // a no-op, is the steadier number.
  const own = await ownWork(subject, runs);
  return { ...figure, note: `${figure.note}; the runner's own work ${(own * 1000).toFixed(0)} ms` };
}

/** Median seconds of `command` with `terraform` replaced by a stand-in that answers at once. */
async function ownWork(command: Command, runs: number): Promise<number> {
  const bin = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${bin}/terraform`,
    `#!/usr/bin/env bash\ncase "$*" in *" plan "*) exit 2 ;; *" show -json "*) echo '{"format_version":"1.2"}' ;; esac\n`,
    { mode: 0o755 },
  );
  const env = { ...Deno.env.toObject(), PATH: `${bin}:${Deno.env.get("PATH")}` };
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) times.push(await timeOnce({ ...command, env }));
  await Deno.remove(bin, { recursive: true });
  return median(times.slice(1));
}

async function bootstrapFigure(runs: number, config: string): Promise<Figure> {
  const ctx = await loadContext({ config, offline: true });
  const subject = task("bootstrap", "--plan", "--offline", "--config", config);
  await timeOnce(subject);
  const roots = [ctx.root("backend"), ctx.root("operations")];
  const sum = roots.map(rawPlan).join(" && ");
  const times = await compare(subject, { argv: ["bash", "-c", sum] }, runs);
  return ratio(
    "bootstrap --plan --offline (re-run)",
    times,
    1.1,
    "(the sum of its terraform plans run one after another)",
  );
}

async function pipelineFigures(config: string): Promise<Figure[]> {
  const ctx = await loadContext({ config, offline: true });
  const timings: number[] = [];
  for (let i = 0; i < 50; i++) {
    const started = performance.now();
    canonicalJson(buildDefinition(offlineInputs(ctx.config, "dev")));
    timings.push(performance.now() - started);
  }
  const definition: Figure = {
    name: "pipeline definition generation",
    value: median(timings),
    unit: "ms",
    target: 50,
    note: `median of 50; first call ${timings[0].toFixed(1)} ms`,
  };
  await timeOnce(task("pipeline", "local", "--config", config)); // venv ready, caches warm
  const started = performance.now();
  const out = await new Deno.Command(deno, {
    args: ["task", "--quiet", "pipeline", "local", "--json", "--config", config],
    stdout: "piped",
    stderr: "null",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  const result = JSON.parse(new TextDecoder().decode(out.stdout)) as { steps: { name: string; seconds: number }[] };
  const steps = result.steps.map((s) => `${s.name} ${s.seconds.toFixed(1)} s`).join(", ");
  const inSteps = result.steps.reduce((n, s) => n + s.seconds, 0);
  return [definition, {
    name: "pipeline local (sample, end to end)",
    value: seconds,
    unit: "s",
    target: 20,
    note: `${steps}; ${(seconds - inSteps).toFixed(1)} s outside steps (Deno start, data sync)`,
  }];
}

async function promotionFigures(): Promise<Figure[]> {
  const { promotionWorkspace } = await import("../tests/promotion_fixture.ts");
  await using w = await promotionWorkspace();
  const perEnv: string[] = [];
  for (const env of ["dev", "staging", "prod"]) {
    const before = w.aws.calls.length;
    const run = await w.promote([env, "--wait"]);
    if (run.code !== 0) {
      throw new TaskError(`The benchmark promotion to ${env} failed: ${run.stderr.trim().split("\n").at(-1)}`);
    }
    perEnv.push(`${env} ${w.aws.calls.length - before}`);
  }
  const byService = new Map<string, number>();
  for (const call of w.aws.calls) byService.set(call.service, (byService.get(call.service) ?? 0) + 1);
  const services = [...byService].map(([k, v]) => `${k} ${v}`).join(", ");
  return [
    {
      name: "builds in dev → staging → prod",
      value: await w.dockerBuilds(),
      unit: "",
      target: 1,
      note: "one image per commit",
    },
    {
      name: "AWS calls in dev → staging → prod",
      value: w.aws.calls.length,
      unit: "",
      target: 90,
      note: `per env: ${perEnv.join(", ")}; by service: ${services} (against the fakes)`,
    },
  ];
}

async function servingFigures(config: string): Promise<Figure[]> {
  const ctx = await loadContext({ config, offline: true });
  const { latestLocalVersion } = await import("./serving/local.ts");
  const { localServingFigures, serveFigures } = await import("./serving/bench.ts");
  if (await latestLocalVersion(".mlops/local", ctx.config.names.modelPackageGroup) === null) {
    await timeOnce(task("pipeline", "local", "--config", config)); // a model for serve local
  }
  return [...await localServingFigures(config, ctx.config.data.pipeline.dataset.path), ...await serveFigures()];
}

/** Runs the selected benchmarks and prints a table. */
export async function runBenchmarks(options: { runs: number; only: string[]; config: string }): Promise<Figure[]> {
  if (!Number.isInteger(options.runs) || options.runs < 1) {
    throw new UsageError(`Invalid --runs "${options.runs}": give a positive integer`);
  }
  const figures: Figure[] = [];
  const selected = (name: string) => options.only.includes(name);
  if (selected("help")) {
    log.step("Measuring", `--help of every task (${options.runs} runs each)`);
    figures.push(...await helpFigures(options.runs));
  }
  if (selected("runner")) {
    log.step("Measuring", `runner overhead on an offline plan (${options.runs} runs)`);
    figures.push(await runnerFigure(options.runs, options.config));
  }
  if (selected("bootstrap")) {
    log.step("Measuring", `an idempotent offline bootstrap plan (${options.runs} runs)`);
    figures.push(await bootstrapFigure(options.runs, options.config));
  }
  if (selected("pipeline")) {
    log.step("Measuring", "definition generation and a local pipeline run");
    figures.push(...await pipelineFigures(options.config));
  }
  if (selected("serving")) {
    log.step("Measuring", "/invocations of serve local (1 and 32 texts), and serve against the fake AWS server");
    figures.push(...await servingFigures(options.config));
  }
  if (selected("promotion")) {
    log.step("Measuring", "a dev → staging → prod promotion against the fake AWS server");
    figures.push(...await promotionFigures());
  }
  return figures;
}

/** The figures as a table. */
export function describeFigures(figures: Figure[]): string {
  return table(
    ["benchmark", "measured", "target", "", "detail"],
    figures.map((f) => [
      f.name,
      `${f.value.toFixed(f.unit === "×" ? 2 : f.unit === "" ? 0 : 1)}${
        f.unit === "×" || !f.unit ? f.unit : ` ${f.unit}`
      }`,
      `≤ ${f.target}${f.unit === "×" || !f.unit ? f.unit : ` ${f.unit}`}`,
      f.value <= f.target ? "ok" : "MISSED",
      f.note,
    ]),
  );
}
