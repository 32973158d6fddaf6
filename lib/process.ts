/**
 * Child processes through dax, with interrupts handled the way Terraform
 * needs: on SIGINT/SIGTERM the children get one SIGINT and the task waits for
 * them to stop (so Terraform can release its state lock), then exits 130.
 *
 * On a terminal, Ctrl-C already reaches the whole foreground process group,
 * children included, so the signal is not sent a second time (Terraform
 * treats a second interrupt as "stop immediately"). Elsewhere (CI, a
 * supervisor sending `kill -INT` to the task) it is forwarded.
 *
 * One Ctrl-C can reach the task twice: under `deno task` on a terminal, the
 * terminal's signal and the task runner's forward of it arrive a few
 * milliseconds apart. A signal within {@linkcode DUPLICATE_SIGNAL_MS} of the
 * previous one is therefore the same interrupt; a second Ctrl-C after that
 * stops the children at once.
 *
 * @example
 * ```ts
 * import { run } from "./process.ts";
 * const { stdout } = await run(["terraform", "version", "-json"], { capture: true });
 * ```
 * @module
 */
import $, { KillController } from "dax";
import { Interrupted, TaskError } from "./cli.ts";
import { log } from "./log.ts";

/** Signals closer together than this are one interrupt delivered twice (see the module notes). */
export const DUPLICATE_SIGNAL_MS = 500;

/**
 * Whether a signal at `now` repeats the one at `previous` (ms timestamps): the
 * terminal's and the task runner's copies of one Ctrl-C arrive well within
 * {@linkcode DUPLICATE_SIGNAL_MS}; a person's second Ctrl-C does not.
 */
export function isDuplicateSignal(previous: number | null, now: number): boolean {
  return previous !== null && now - previous < DUPLICATE_SIGNAL_MS;
}

const controller = new KillController();
let interruptedBy: Deno.Signal | null = null;
/** When the last interrupt that counted arrived (`performance.now()`). */
let lastSignalAt: number | null = null;
let installed = false;
/** Child processes running now. */
let running = 0;
/** Waits (see {@linkcode sleep}) to cut short on an interrupt. */
const sleepers = new Set<() => void>();

/**
 * Installs the SIGINT/SIGTERM handling. With children running, the first
 * interrupt lets them stop cleanly; with none (say, while polling a pipeline)
 * pending waits end at once and the task unwinds, writing what it must. A
 * second interrupt stops the children now, or exits 130 when there are none.
 */
export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  const forward = Deno.env.get("MLOPS_FORWARD_SIGNALS") ?? (Deno.stdin.isTerminal() ? "0" : "1");
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      const now = performance.now();
      if (isDuplicateSignal(lastSignalAt, now)) {
        log.debug(`${signal} ${Math.round(now - lastSignalAt!)} ms after the last one: the same interrupt, ignored`);
        return;
      }
      lastSignalAt = now;
      const again = interruptedBy !== null;
      interruptedBy = signal;
      if (again && running === 0) {
        log.warn("Interrupted again: exiting now.");
        Deno.exit(130);
      }
      log.warn(
        again
          ? "Interrupted again: stopping child processes now."
          : running > 0
          ? "Interrupted: waiting for child processes to stop cleanly…"
          : "Interrupted: stopping…",
      );
      if (running > 0 && (forward === "1" || again)) controller.kill("SIGINT");
      for (const wake of sleepers) wake();
    });
  }
}

/** `work`'s result, or `fallback` when it takes longer than `ms`. */
export async function within<T, F>(ms: number, fallback: F, work: Promise<T>): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<F>((resolve) => timer = setTimeout(() => resolve(fallback), ms));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits `ms`, or less: an interrupt ends the wait with {@linkcode Interrupted}. */
export function sleep(ms: number): Promise<void> {
  installSignalHandlers();
  throwIfInterrupted();
  return new Promise((resolve, reject) => {
    const wake = () => {
      clearTimeout(timer);
      sleepers.delete(wake);
      reject(new Interrupted());
    };
    const timer = setTimeout(() => {
      sleepers.delete(wake);
      resolve();
    }, ms);
    sleepers.add(wake);
  });
}

/** Throws {@linkcode Interrupted} if an interrupt has been received. */
export function throwIfInterrupted(what?: string): void {
  if (interruptedBy) throw new Interrupted(what);
}

/** Options of {@linkcode run}. */
export interface RunOptions {
  cwd?: string;
  /** Extra environment variables for the child (added to the task's own; `undefined` removes one). */
  env?: Record<string, string | undefined>;
  /** Start the child with only `env`, none of the task's own environment. */
  clearEnv?: boolean;
  /** Capture stdout instead of showing it. */
  capture?: boolean;
  /** Capture stderr instead of showing it. */
  captureStderr?: boolean;
  /** Send the child's stdout to stderr (keeps the task's stdout for data). */
  stdoutToStderr?: boolean;
  /** Text for the child's stdin. */
  stdin?: string;
}

/** The outcome of a child process. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How to install the programs the tasks run, for the "not on PATH" line. */
const INSTALL_HINTS: Record<string, string> = {
  terraform: "Install Terraform ≥ 1.10 (https://developer.hashicorp.com/terraform/install)",
  docker: "Install Docker (https://docs.docker.com/get-docker/)",
  python3: "Install Python ≥ 3.10 with venv (Debian: apt-get install python3 python3-venv)",
  git: "Install git",
  tar: "Install tar",
};

/** The line for a program that is not on PATH: what is missing and how to get it. */
export function notOnPathMessage(program: string): string {
  const hint = INSTALL_HINTS[program] ?? `Install ${program}`;
  return `Cannot run "${program}": it is not on PATH. ${hint}, or add its directory to PATH, and re-run.`;
}

/**
 * Runs a command (an argv array, never a shell string) and returns its exit
 * code and captured output. Throws {@linkcode Interrupted} if the task was
 * interrupted while it ran, and {@linkcode TaskError} if it cannot start.
 */
export async function run(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  installSignalHandlers();
  throwIfInterrupted();
  log.debug(`$ ${argv.join(" ")}${options.cwd ? `  (in ${options.cwd})` : ""}`);
  if (!argv[0].includes("/") && !(await which(argv[0]))) throw new TaskError(notOnPathMessage(argv[0]));
  let command = $`${argv}`.noThrow().signal(controller.signal)
    .stdout(options.capture ? "piped" : options.stdoutToStderr ? Deno.stderr : "inherit")
    .stderr(options.captureStderr ? "piped" : "inherit");
  if (options.cwd) command = command.cwd(options.cwd);
  if (options.clearEnv) command = command.clearEnv();
  if (options.env) command = command.env(options.env);
  if (options.stdin !== undefined) command = command.stdinText(options.stdin);
  let result;
  running++;
  try {
    result = await command;
  } catch (error) {
    throw new TaskError(`Cannot run "${argv[0]}": ${(error as Error).message}. Is it installed and on PATH?`, {
      cause: error,
    });
  } finally {
    running--;
  }
  throwIfInterrupted(`"${argv[0]}"`);
  return {
    code: result.code,
    stdout: options.capture ? result.stdout : "",
    stderr: options.captureStderr ? result.stderr : "",
  };
}

/** Whether an executable is on PATH, and where. */
export async function which(name: string): Promise<string | undefined> {
  return await $.which(name);
}

/**
 * Like `Promise.all`, but waits for every promise to settle before throwing
 * the first error, so no sibling (say a parallel terraform plan holding a
 * state lock) is left running when the task exits.
 */
export async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
