/**
 * The Python virtual environment for the training steps and their tests:
 * `.mlops/venv`, installed from the hashed lock
 * `training-pipeline/requirements-dev-lock.txt` (`--require-hashes --no-deps`:
 * exactly the packages and files the lock names, nothing resolved on the way)
 * and rebuilt only when the lock changes.
 *
 * @example
 * ```ts
 * import { PythonEnv } from "./python_env.ts";
 * const venv = await PythonEnv.ensure(".");
 * console.log(venv.python);
 * ```
 * @module
 */
import { TaskError } from "./cli.ts";
import { sha256Hex } from "./hash.ts";
import { log, withProgress } from "./log.ts";
import { run } from "./process.ts";

/**
 * pip's arguments to install a hashed lock: only its packages, each checked against its sha256.
 * Not byte-compiled by pip: {@linkcode compileArgs} does that next, for less.
 */
export function installArgs(lock: string): string[] {
  return [
    "-m",
    "pip",
    "install",
    "--quiet",
    "--no-compile",
    "--require-hashes",
    "--no-deps",
    "--only-binary=:all:",
    "-r",
    lock,
  ];
}

/**
 * Byte-compiles what was installed under `dir`, on every core, except the packages' own test
 * suites (`tests/`, `test/`: 2,090 of the lock's 5,083 files, never imported here). It must be done
 * up front: step processes run with the image's PYTHONDONTWRITEBYTECODE, so a module left
 * uncompiled is compiled again by every process that imports it. Measured: pip compiling
 * everything took 15 s CPU of the install; this way install and compile take 7.8 s.
 */
export function compileArgs(dir: string): string[] {
  return ["-m", "compileall", "-q", "-j", "0", "-x", "/tests?/", `${dir}/lib`];
}

/**
 * The line for a failed `python3 -m venv`: the missing venv module is blamed only when Python
 * says so; otherwise its own last line is the reason.
 */
export function venvFailure(dir: string, output: string): string {
  const lines = output.split("\n").map((l) => l.trim()).filter(Boolean);
  if (/ensurepip is not available|No module named venv|python3(\.\d+)?-venv/i.test(output)) {
    return `Cannot create a Python virtual environment in ${dir}: Python's venv module is missing. Install it (Debian: apt-get install python3-venv) and re-run.`;
  }
  const reason = (lines.findLast((l) => /error/i.test(l)) ?? lines.at(-1) ?? "python3 -m venv failed").replace(
    /\.$/,
    "",
  );
  return `Cannot create a Python virtual environment in ${dir}: ${reason}. Fix that (or delete ${dir}) and re-run.`;
}

/**
 * An exclusive lock on `path` (flock), held until disposed; the file is removed on release, so
 * nothing is left behind. A waiter that wakes on a file its holder removed takes the new one.
 */
export async function exclusiveLock(path: string): Promise<AsyncDisposable> {
  while (true) {
    const file = await Deno.open(path, { create: true, write: true });
    await file.lock(true);
    const [held, onDisk] = await Promise.all([file.stat(), Deno.stat(path).catch(() => null)]);
    if (onDisk?.ino === held.ino) {
      return {
        async [Symbol.asyncDispose]() {
          await Deno.remove(path).catch(() => {});
          file.close();
        },
      };
    }
    file.close();
  }
}

/** A ready virtual environment. */
export class PythonEnv {
  private constructor(readonly dir: string) {}

  /** The environment's interpreter. */
  get python(): string {
    return `${this.dir}/bin/python`;
  }

  /**
   * Creates or updates the venv so it matches the hashed lock file.
   * `PIP_RETRIES=0` keeps pip from waiting on indexes it cannot reach.
   */
  static async ensure(
    repoDir: string,
    options: { requirements?: string; dir?: string; python?: string } = {},
  ): Promise<PythonEnv> {
    const requirements = options.requirements ?? `${repoDir}/training-pipeline/requirements-dev-lock.txt`;
    const dir = options.dir ?? `${repoDir}/.mlops/venv`;
    const venv = new PythonEnv(dir);
    const wanted = await sha256Hex(await PythonEnv.#requirementsText(requirements));
    const marker = `${dir}/.requirements.sha256`;
    const ready = async () => (await Deno.readTextFile(marker).catch(() => "")) === wanted;
    if (await ready()) return venv;

    // One preparer at a time (say `deno task test` and `deno task demo` at once): two pip installs
    // into one directory race. The others wait here, then find it ready.
    const parent = dir.replace(/\/[^/]*$/, "") || ".";
    const madeParent = await Deno.stat(parent).then(() => false, () => true);
    if (madeParent) await Deno.mkdir(parent, { recursive: true });
    try {
      await using _lock = await exclusiveLock(`${dir}.lock`);
      if (await ready()) return venv;
      await PythonEnv.#build(venv, requirements, options.python);
      await Deno.writeTextFile(marker, wanted);
      return venv;
    } catch (error) {
      // A failure before the venv existed leaves the workspace as it was.
      if (madeParent) await Deno.remove(parent).catch(() => {});
      throw error;
    }
  }

  /** Creates the venv and installs the lock into it. */
  static async #build(venv: PythonEnv, requirements: string, python?: string): Promise<void> {
    const dir = venv.dir;
    log.step("Preparing", `Python environment in ${dir}`);
    const create = await run([python ?? "python3", "-m", "venv", dir], { captureStderr: true, capture: true });
    if (create.code !== 0) throw new TaskError(venvFailure(dir, `${create.stdout}\n${create.stderr}`));
    const install = await withProgress(
      "Installing Python packages",
      run([venv.python, ...installArgs(requirements)], {
        captureStderr: true,
        capture: true,
        env: { PIP_RETRIES: Deno.env.get("PIP_RETRIES") ?? "0", PIP_DISABLE_PIP_VERSION_CHECK: "1" },
      }),
    );
    if (install.code !== 0) {
      const reason = install.stderr.trim().split("\n").filter((l) => /error/i.test(l)).at(-1) ?? install.stderr.trim();
      throw new TaskError(
        `Cannot install ${requirements} into ${dir}: ${reason}. The lock holds CPython 3.11 wheels for Linux x86_64 (the image's platform): use that Python, or regenerate the lock with "python3 training-pipeline/lock.py"; and check that pip can reach a package index or mirror.`,
      );
    }
    const compile = await run([venv.python, ...compileArgs(dir)], { captureStderr: true, capture: true });
    if (compile.code !== 0) {
      const reason = `${compile.stdout}${compile.stderr}`.trim().split("\n").at(-1);
      throw new TaskError(`Cannot byte-compile the packages in ${dir}: ${reason}. Delete ${dir} and re-run.`);
    }
  }

  /** The requirements file with its `-r` includes inlined (so the hash covers them). */
  static async #requirementsText(file: string): Promise<string> {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch {
      throw new TaskError(`Cannot read ${file}: the training code's requirements are missing.`);
    }
    const dir = file.slice(0, file.lastIndexOf("/") + 1);
    const parts = [text];
    for (const match of text.matchAll(/^-r\s+(\S+)/gm)) parts.push(await PythonEnv.#requirementsText(dir + match[1]));
    return parts.join("\n");
  }
}
