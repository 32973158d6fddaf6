/**
 * deno task serve <local|env|status> — approved models become endpoints.
 *
 * `local` starts the image's `serve` program (gunicorn) with the project's
 * virtual environment and the latest model of the local registry, prints its
 * URL and runs until Ctrl-C. `<env>` deploys an approved model version of the
 * environment's model package group (default: the latest Approved) to the
 * environment's endpoint: model → endpoint config → create or update → wait →
 * smoke test through InvokeEndpoint → record. A failed smoke test puts the
 * previous version back and exits 1. `--approve N` (prod, from the serve
 * workflow) approves version N first, after the gate: staging must have served
 * the same commit and image digest. `--delete` removes what serving created.
 *
 * Example:
 *   deno task serve local
 *   deno task serve staging
 *   deno task serve prod --approve 7 --reason "staging metrics reviewed"
 *   deno task serve status
 */
import { defineTask, ExitCode, UsageError } from "../lib/cli.ts";
import { type Environment, ENVIRONMENTS } from "../lib/environments.ts";
import { AWS_OPTIONS } from "../lib/task_options.ts";

/** A positive integer version from a flag, or a usage error naming the flag. */
function versionFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(value)) {
    throw new UsageError(`--${name} "${value}" is not a model version: give a number such as 3`);
  }
  return Number(value);
}

export const task = defineTask({
  name: "serve",
  summary: "Serve a model: locally (no AWS), or as an environment's endpoint; approve, status, delete.",
  usage: "deno task serve <local|env|status> [--version N] [--approve N --reason TEXT] [--delete] [--json]",
  positionals: [{
    name: "target",
    description: "local, an environment, or status",
    choices: ["local", ...ENVIRONMENTS, "status"],
    required: true,
  }],
  options: {
    version: {
      type: "string",
      value: "N",
      description: "The model version to serve (default: the latest Approved; local: the latest).",
    },
    approve: {
      type: "string",
      value: "N",
      description: "Approve model version N (after the gate), record who approved it, then serve it.",
    },
    reason: { type: "string", value: "TEXT", description: "With --approve: why it is approved (recorded)." },
    delete: { type: "boolean", description: "Delete the environment's endpoint, endpoint configs, models and record." },
    port: { type: "string", value: "PORT", description: "local: the port (default: a free one)." },
    json: { type: "boolean", description: "Print the record (or the status) as JSON on stdout." },
    ...AWS_OPTIONS,
  },
  examples: [
    "deno task serve local",
    "deno task serve staging",
    'deno task serve prod --approve 7 --reason "staging metrics reviewed"',
    "deno task serve status --json",
    "deno task serve dev --delete",
  ],
  async run({ options, positionals }) {
    const target = positionals.target!;
    const version = versionFlag("version", options.version);
    const approve = versionFlag("approve", options.approve);
    if (approve !== undefined && version !== undefined && approve !== version) {
      throw new UsageError(`--approve ${approve} and --version ${version} disagree: give only --approve ${approve}`);
    }
    if (options.reason !== undefined && approve === undefined) {
      throw new UsageError("--reason goes with --approve N: it records why version N was approved");
    }
    if ((target === "local" || target === "status") && (approve !== undefined || options.delete)) {
      throw new UsageError(`--approve and --delete act on an environment, not "${target}": deno task serve <env> …`);
    }
    if (options.port !== undefined && (target !== "local" || !/^\d{1,5}$/.test(options.port))) {
      throw new UsageError(`--port takes a port number and only goes with "local" (got "${options.port}")`);
    }
    if (target === "local") {
      const { Config } = await import("../lib/config.ts");
      const { serveLocal } = await import("../lib/serving/local.ts");
      const { log } = await import("../lib/log.ts");
      const server = await serveLocal(await Config.load(options.config), {
        repoDir: Deno.cwd(),
        version,
        port: options.port ? Number(options.port) : undefined,
      });
      console.log(server.url);
      log.step(
        "Serving",
        `model version ${server.version} at ${server.url} (POST /invocations, GET /ping); Ctrl-C stops it`,
      );
      const signal = Promise.withResolvers<Deno.Signal>();
      for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, () => signal.resolve(s));
      const outcome = await Promise.race([server.exited, signal.promise]);
      if (typeof outcome === "number") {
        log.error(`The local server stopped on its own (exit code ${outcome}); its log above says why.`);
        return ExitCode.failure;
      }
      await server.stop();
      log.step("Stopped", "the local server");
      return ExitCode.interrupted;
    }
    const { loadContext } = await import("../lib/context.ts");
    const serving = await import("../lib/serving/endpoint.ts");
    const ctx = await loadContext({ ...options, offline: false });
    if (target === "status") {
      const rows = await serving.servingStatus(ctx);
      console.log(options.json ? JSON.stringify(rows, null, 2) : serving.describeServingStatus(rows));
      return ExitCode.ok;
    }
    const env = target as Environment;
    if (options.delete) {
      if (version !== undefined) throw new UsageError("--delete removes everything serving created: drop --version");
      await serving.deleteServing(ctx, env);
      return ExitCode.ok;
    }
    const record = await serving.serve(ctx, env, {
      version: approve ?? version,
      approve: approve !== undefined ? { reason: options.reason ?? null } : null,
      pollMs: Number(Deno.env.get("MLOPS_POLL_MS") ?? 15_000),
    });
    if (options.json) console.log(JSON.stringify(record, null, 2));
    return ExitCode.ok;
  },
});

if (import.meta.main) await task.main(Deno.args);
