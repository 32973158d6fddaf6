/**
 * deno task pipeline <command> — the SageMaker training pipeline:
 * `definition` prints it, `upsert`/`start`/`status`/`watch` act on SageMaker,
 * `upload-data` copies the dataset to the environment's bucket, and `local`
 * runs the same definition on this machine with no AWS account.
 *
 * Example:
 *   deno task pipeline local
 *   deno task pipeline local --param AccuracyThreshold=0.95
 *   deno task pipeline definition --env dev --offline
 */
import { defineTask, ExitCode, TaskError, UsageError } from "../lib/cli.ts";
import { type Environment, ENVIRONMENTS } from "../lib/environments.ts";
import { AWS_OPTIONS } from "../lib/task_options.ts";

/** Milliseconds between status polls of watch (MLOPS_POLL_MS overrides, for tests). */
const pollMs = () => Number(Deno.env.get("MLOPS_POLL_MS") ?? 15_000);

const COMMANDS = ["definition", "upsert", "start", "status", "watch", "upload-data", "local"] as const;

export const task = defineTask({
  name: "pipeline",
  summary: "Print, upsert, start, watch or locally run the training pipeline.",
  usage: "deno task pipeline <command> [env] [--param name=value]...",
  description: [
    "Commands:",
    "  definition   print the pipeline definition (canonical JSON)",
    "  local        run the pipeline on this machine (no AWS account; the environment defaults to dev)",
    "  upsert       create or update the pipeline in SageMaker",
    "  start        start an execution (--param overrides)",
    "  status       show the latest execution",
    "  watch        follow an execution until it ends",
    "  upload-data  copy the dataset to the environment's bucket",
  ].join("\n"),
  positionals: [
    { name: "command", description: "What to do", choices: COMMANDS, required: true },
    { name: "env", description: "Environment, as in the other tasks; or --env", choices: ENVIRONMENTS },
  ],
  options: {
    env: {
      type: "string",
      value: "ENV",
      choices: ENVIRONMENTS,
      description: "Environment, the same as the [env] argument.",
    },
    param: {
      type: "string",
      multiple: true,
      value: "NAME=VALUE",
      description: "Override a pipeline parameter (repeatable).",
    },
    image: { type: "string", value: "URI@sha256:…", description: "The training image pinned by digest." },
    commit: {
      type: "string",
      value: "SHA",
      description: "definition, upsert: the git commit recorded on model versions (default: $GITHUB_SHA).",
    },
    offline: { type: "boolean", description: "definition: use placeholder Terraform outputs and image digest." },
    token: {
      type: "string",
      value: "TOKEN",
      description: "start: idempotency token (the same token never starts twice).",
    },
    wait: { type: "boolean", description: "start: follow the execution until it ends." },
    execution: { type: "string", value: "ARN", description: "watch: the execution to follow (default: the latest)." },
    json: { type: "boolean", description: "Print the result as JSON on stdout." },
    ...AWS_OPTIONS,
  },
  examples: [
    "deno task pipeline local",
    "deno task pipeline local --param AccuracyThreshold=0.95",
    "deno task pipeline definition dev --offline",
    "deno task pipeline upsert staging --image URI@sha256:…",
  ],
  async run({ options, positionals }) {
    const command = positionals.command as typeof COMMANDS[number];
    if (positionals.env && options.env && positionals.env !== options.env) {
      throw new UsageError(`Give the environment once: "${positionals.env}" and --env "${options.env}" differ`);
    }
    const env = (positionals.env ?? options.env) as Environment | undefined;
    const { loadContext } = await import("../lib/context.ts");
    const commands = await import("../lib/pipeline/commands.ts");
    if (command === "local") {
      const ctx = await loadContext({ ...options, offline: true });
      const result = await commands.localRun(ctx, { env: env ?? "dev", params: options.param });
      console.log(options.json ? JSON.stringify(result, null, 2) : commands.describeLocalRun(result));
      if (result.status !== "Succeeded") throw commands.localRunFailure(result);
      return ExitCode.ok;
    }
    if (!env) {
      throw new UsageError(
        `"deno task pipeline ${command}" needs an environment: one of ${
          ENVIRONMENTS.join(", ")
        } (deno task pipeline ${command} dev)`,
      );
    }
    const ctx = await loadContext(options);
    const commit = options.commit ?? Deno.env.get("GITHUB_SHA");
    const json = (value: unknown) => options.json && console.log(JSON.stringify(value, null, 2));
    const ended = (state: { status: string }) => {
      if (state.status === "Succeeded") return ExitCode.ok;
      throw new TaskError(
        `The pipeline execution in ${env} ended ${state.status}: ${commands.failureOf(state as never)}.`,
      );
    };
    switch (command) {
      case "definition":
        await commands.printDefinition(ctx, env, { image: options.image, commit });
        return ExitCode.ok;
      case "upsert": {
        const { action, hash } = await commands.upsertPipeline(ctx, env, options.image, commit);
        json({ action, definitionHash: hash });
        return ExitCode.ok;
      }
      case "start": {
        const arn = await commands.startPipeline(ctx, env, { params: options.param, token: options.token });
        if (!options.wait) return json({ executionArn: arn }), ExitCode.ok;
        const state = await commands.watchPipeline(ctx, env, arn, pollMs());
        json(state);
        return ended(state);
      }
      case "watch": {
        const state = await commands.watchPipeline(ctx, env, options.execution, pollMs());
        json(state);
        return ended(state);
      }
      case "status": {
        const state = await commands.pipelineStatus(ctx, env);
        if (options.json) json(state);
        else console.log(state ? commands.describeExecution(state) : `The pipeline of ${env} has not run yet.`);
        return ExitCode.ok;
      }
      case "upload-data":
        json(await commands.uploadData(ctx, env));
        return ExitCode.ok;
    }
  },
});

if (import.meta.main) await task.main(Deno.args);
