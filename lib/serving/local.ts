/**
 * Local serving, no AWS and no Docker: the image's own `serve` program
 * (`training-pipeline/src/serve`, gunicorn) started as a child process with
 * the project's virtual environment, on a free loopback port, with a model
 * from the local registry that `deno task pipeline local` fills.
 *
 * Layout: the registry keeps `.mlops/local/registry/<group>/<version>/model.tar.gz`;
 * the archive is unpacked once into `.mlops/local/serving/<group>/<version>/model`,
 * as SageMaker unpacks it into `/opt/ml/model`.
 *
 * @example
 * ```ts
 * import { LocalServer, latestLocalVersion } from "./local.ts";
 * const version = await latestLocalVersion(".mlops/local", "mlops-models");
 * await using server = await LocalServer.start({ repoDir: ".", root: ".mlops/local", group: "mlops-models", version: version!, python: ".mlops/venv/bin/python" });
 * console.log(await server.invoke(["chest pain and troponin"]));
 * ```
 * @module
 */
import { TaskError } from "../cli.ts";
import type { Config } from "../config.ts";
import { PythonEnv } from "../python_env.ts";
import { run, within } from "../process.ts";
import { type Predictions, predictionsProblem } from "./predictions.ts";

/** The highest version number in the local registry's group, or null when it has none. */
export async function latestLocalVersion(root: string, group: string): Promise<number | null> {
  const versions: number[] = [];
  try {
    for await (const entry of Deno.readDir(`${root}/registry/${group}`)) {
      if (entry.isDirectory && /^\d+$/.test(entry.name)) versions.push(Number(entry.name));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return versions.length ? Math.max(...versions) : null;
}

/** A free TCP port on the loopback interface (free when asked; the server binds it right after). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Options of {@linkcode LocalServer.start}. */
export interface LocalServerOptions {
  repoDir: string;
  /** Root of local state (`<repo>/.mlops/local`). */
  root: string;
  group: string;
  version: number;
  /** The virtual environment's interpreter. */
  python: string;
  port?: number;
  /** gunicorn workers (`SAGEMAKER_MODEL_SERVER_WORKERS`); default: the CPU count. */
  workers?: number;
  /** How long to wait for `/ping`. */
  readyMs?: number;
}

/** A running `serve` process. Dispose (or {@linkcode LocalServer.stop}) to stop it. */
export class LocalServer {
  private constructor(readonly url: string, readonly version: number, private readonly child: Deno.ChildProcess) {}

  /** Unpacks the version's model, starts `serve` and waits until `/ping` answers 200. */
  static async start(options: LocalServerOptions): Promise<LocalServer> {
    const modelDir = await unpackModel(options.root, options.group, options.version);
    const port = options.port ?? freePort();
    const env: Record<string, string> = { SM_MODEL_DIR: modelDir, PYTHONDONTWRITEBYTECODE: "1" };
    if (options.workers) env.SAGEMAKER_MODEL_SERVER_WORKERS = String(options.workers);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(options.python, {
        args: [`${options.repoDir}/training-pipeline/src/serve`, "--host", "127.0.0.1", "--port", String(port)],
        env,
        stdin: "null",
        // The task's stdout carries results (the URL); the server's log goes to stderr.
        stdout: "null",
        stderr: "inherit",
      }).spawn();
    } catch (error) {
      throw new TaskError(
        `Cannot start the local server with "${options.python}": ${
          (error as Error).message
        }. Re-run to recreate the virtual environment.`,
      );
    }
    const server = new LocalServer(`http://127.0.0.1:${port}`, options.version, child);
    await server.#waitReady(options.readyMs ?? 60_000);
    return server;
  }

  async #waitReady(ms: number): Promise<void> {
    const exited = this.child.status.then((s) => s);
    for (const end = Date.now() + ms; Date.now() < end;) {
      const done = await within(100, null, exited);
      if (done) {
        throw new TaskError(
          `The local server exited with code ${done.code} before answering /ping. Its log above says why; check the model with: deno task pipeline local`,
        );
      }
      const ping = await fetch(`${this.url}/ping`).catch(() => null);
      if (ping) {
        const text = await ping.text();
        if (ping.ok) return;
        await this.stop();
        throw new TaskError(`The local server is up but not healthy (${ping.status}): ${text.trim()}.`);
      }
    }
    await this.stop();
    throw new TaskError(`The local server did not answer ${this.url}/ping within ${ms / 1000} s.`);
  }

  /** Sends texts as CSV (one per line; quotes keep commas and newlines) and returns the JSON predictions. */
  async invoke(texts: string[]): Promise<Predictions> {
    const response = await fetch(`${this.url}/invocations`, {
      method: "POST",
      headers: { "Content-Type": "text/csv", Accept: "application/json" },
      body: toCsv(texts),
    });
    const text = await response.text();
    if (!response.ok) throw new TaskError(`The local server answered ${response.status}: ${text.trim()}.`);
    const predictions = JSON.parse(text) as Predictions;
    const problem = predictionsProblem(predictions, texts.length);
    if (problem) throw new TaskError(`The local server's answer is wrong: ${problem}.`);
    return predictions;
  }

  /** Resolves with the exit code when the server stops on its own (or is stopped). */
  get exited(): Promise<number> {
    return this.child.status.then((s) => s.code);
  }

  /** SIGTERM (gunicorn stops its workers gracefully) and wait for it to exit. */
  async stop(): Promise<number> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // already gone
    }
    return (await this.child.status).code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Reads a child's stdout until its first line (the URL `serve local` prints); `rest` resolves
 * with everything it printed once the stream ends.
 */
export async function firstLine(stream: ReadableStream<Uint8Array>): Promise<{ line: string; rest: Promise<string> }> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const rest = (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value;
    return text;
  })();
  return { line: text.split("\n")[0].trim(), rest };
}

/** CSV body with one record per text (each quoted, so commas and newlines stay inside the text). */
export function toCsv(texts: string[]): string {
  return texts.map((t) => `"${t.replaceAll('"', '""')}"`).join("\n") + "\n";
}

/** Unpacks the version's `model.tar.gz` once; returns the model directory. */
async function unpackModel(root: string, group: string, version: number): Promise<string> {
  const archive = `${root}/registry/${group}/${version}/model.tar.gz`;
  const dir = `${root}/serving/${group}/${version}/model`;
  const marker = `${dir}/.unpacked`;
  if (await Deno.stat(marker).then(() => true, () => false)) return dir;
  if (!(await Deno.stat(archive).then(() => true, () => false))) {
    throw new TaskError(
      `The local registry has no model archive for ${group} version ${version} (${archive}). Train one with: deno task pipeline local`,
    );
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const tar = await run(["tar", "-xzf", archive, "-C", dir], { capture: true, captureStderr: true });
  if (tar.code !== 0) throw new TaskError(`Cannot unpack ${archive}: ${tar.stderr.trim()}.`);
  await Deno.writeTextFile(marker, "");
  return dir;
}

/** Options of {@linkcode serveLocal}. */
export interface ServeLocalOptions {
  repoDir: string;
  /** A version of the local registry; default: the latest. */
  version?: number;
  port?: number;
  workers?: number;
}

/** Starts `serve` with a model of the local registry (the latest unless a version is given). */
export async function serveLocal(config: Config, options: ServeLocalOptions): Promise<LocalServer> {
  const root = `${options.repoDir}/.mlops/local`;
  const group = config.names.modelPackageGroup;
  const version = options.version ?? await latestLocalVersion(root, group);
  if (version === null) {
    throw new TaskError(`The local registry has no model in "${group}" yet. Train one first: deno task pipeline local`);
  }
  const venv = await PythonEnv.ensure(options.repoDir);
  return await LocalServer.start({ ...options, root, group, version, python: venv.python });
}
