/**
 * Benchmarks behind `deno task bench`. Each figure is a ratio of two
 * commands measured alternately in the same run (median of N samples after a
 * warm-up), so machine noise affects both sides alike.
 *
 * @example
 * ```ts
 * import { median } from "./bench.ts";
 * console.log(median([3, 1, 2])); // 2
 * ```
 * @module
 */
import { TaskError } from "./cli.ts";
import { loadContext } from "./context.ts";
import { log, table } from "./log.ts";

/** One measured ratio and its target. */
export interface Figure {
  name: string;
  /** Median seconds of the measured command. */
  seconds: number;
  /** Median seconds of the baseline it is compared with. */
  baselineSeconds: number;
  ratio: number;
  target: number;
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
  cwd?: string;
  env?: Record<string, string>;
}

async function timeOnce(command: Command): Promise<number> {
  const [cmd, ...args] = command.argv;
  const started = performance.now();
  const out = await new Deno.Command(cmd, {
    args,
    cwd: command.cwd,
    env: command.env,
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  if (out.code !== 0 && out.code !== 3) {
    throw new TaskError(
      `Benchmark command failed (exit ${out.code}): ${command.argv.join(" ")}: ${
        new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)
      }`,
    );
  }
  return seconds;
}

/** Times `subject` and `baseline` alternately `runs` times after one warm-up each. */
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

async function helpFigures(runs: number): Promise<Figure[]> {
  const deno = Deno.execPath();
  const empty = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(empty, "");
  const tasks = Object.keys((JSON.parse(await Deno.readTextFile("deno.json")) as { tasks: object }).tasks);
  const figures: Figure[] = [];
  for (const name of tasks) {
    const [seconds, baseline] = await compare(
      { argv: [deno, "task", "--quiet", name, "--help"] },
      { argv: [deno, "run", empty] },
      runs,
    );
    figures.push({
      name: `deno task ${name} --help`,
      seconds,
      baselineSeconds: baseline,
      ratio: seconds / baseline,
      target: 3,
      note: "vs deno run of an empty script",
    });
  }
  await Deno.remove(empty);
  return figures;
}

async function runnerFigure(runs: number, config: string): Promise<Figure> {
  const deno = Deno.execPath();
  const ctx = await loadContext({ config, offline: true });
  const root = ctx.root("main", "dev");
  // Warm: the runner inits once; both sides then plan.
  const task = { argv: [deno, "task", "--quiet", "deploy", "dev", "--plan", "--offline", "--config", config] };
  await timeOnce(task);
  const raw = {
    argv: [
      "terraform",
      `-chdir=${root.chdir}`,
      "plan",
      "-input=false",
      "-detailed-exitcode",
      `-var-file=${root.varFile}`,
      `-out=${root.workDir}/bench.tfplan`,
      `-lock-timeout=${root.lockTimeout}`,
    ],
    env: Object.fromEntries(
      Object.entries({ ...Deno.env.toObject(), ...root.childEnv() }).filter((e): e is [string, string] =>
        e[1] !== undefined
      ),
    ),
  };
  const showRaw = {
    argv: ["terraform", `-chdir=${root.chdir}`, "show", "-json", `${root.workDir}/bench.tfplan`],
    env: raw.env,
  };
  // The runner's deploy --plan runs plan + show -json; the raw side runs the same two commands.
  const rawBoth = {
    argv: ["bash", "-c", `"$@" && ${showRaw.argv.map((a) => `'${a}'`).join(" ")} >/dev/null`, "_", ...raw.argv],
    env: raw.env,
  };
  const [seconds, baseline] = await compare(task, rawBoth, runs);
  return {
    name: "deploy dev --plan --offline",
    seconds,
    baselineSeconds: baseline,
    ratio: seconds / baseline,
    target: 1.05,
    note: "vs terraform plan + show -json run directly",
  };
}

/** Runs the selected benchmarks and prints a table. */
export async function runBenchmarks(options: { runs: number; only: string[]; config: string }): Promise<Figure[]> {
  if (!Number.isInteger(options.runs) || options.runs < 1) {
    throw new TaskError(`Invalid --runs "${options.runs}": give a positive integer.`);
  }
  const figures: Figure[] = [];
  if (options.only.includes("help")) {
    log.step("Measuring", `--help of every task (${options.runs} runs each)`);
    figures.push(...await helpFigures(options.runs));
  }
  if (options.only.includes("runner")) {
    log.step("Measuring", `runner overhead on an offline plan (${options.runs} runs)`);
    figures.push(await runnerFigure(options.runs, options.config));
  }
  console.error(table(
    ["benchmark", "median s", "baseline s", "ratio", "target", "baseline"],
    figures.map((f) => [
      f.name,
      f.seconds.toFixed(3),
      f.baselineSeconds.toFixed(3),
      `${f.ratio.toFixed(2)}×`,
      `≤ ${f.target}×${f.ratio <= f.target ? "" : "  MISSED"}`,
      f.note,
    ]),
  ));
  return figures;
}
