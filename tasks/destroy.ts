/**
 * deno task destroy <env> — destroy one environment's infrastructure, guarded
 * like deploy, after the environment name is typed (or --yes --confirm <env>
 * in CI). The backend and operations stacks are never destroyed by this task.
 *
 * Example:
 *   deno task destroy dev
 *   deno task destroy dev --yes --confirm dev
 */
import { defineTask, ExitCode, UsageError } from "../lib/cli.ts";
import { ENVIRONMENTS, isEnvironment } from "../lib/environments.ts";
import { TERRAFORM_OPTIONS } from "../lib/task_options.ts";

export const task = defineTask({
  name: "destroy",
  summary: "Destroy one environment's infrastructure (asks for the environment name).",
  usage: "deno task destroy <env> [--yes --confirm <env>]",
  positionals: [{ name: "env", description: `Environment to destroy (${ENVIRONMENTS.join(", ")})`, required: true }],
  options: {
    yes: { type: "boolean", short: "y", description: "Do not prompt; requires --confirm <env>." },
    confirm: { type: "string", value: "ENV", description: "The environment name, typed out (with --yes)." },
    // No --offline: there is nothing to destroy offline.
    "provider-mirror": TERRAFORM_OPTIONS["provider-mirror"],
    "lock-timeout": TERRAFORM_OPTIONS["lock-timeout"],
    "no-profile": TERRAFORM_OPTIONS["no-profile"],
  },
  examples: ["deno task destroy dev", "deno task destroy dev --yes --confirm dev"],
  async run({ options, positionals }) {
    const env = positionals.env!;
    if (env === "backend" || env === "operations") {
      throw new UsageError(
        `The ${env} stack is shared by every environment and is not destroyed by this task; if you really mean it, use: deno task tf ${env} -- destroy`,
      );
    }
    if (!isEnvironment(env)) throw new UsageError(`Unknown env "${env}"; valid choices: ${ENVIRONMENTS.join(", ")}`);
    if (options.yes && options.confirm !== env) {
      throw new UsageError(
        `--yes needs --confirm ${env} (got ${
          options.confirm ? `"${options.confirm}"` : "none"
        }): type the environment's name to destroy it without a prompt`,
      );
    }
    const { loadContext } = await import("../lib/context.ts");
    const { destroy } = await import("../lib/deploy.ts");
    const ctx = await loadContext(options);
    const { servingCleanup } = await import("../lib/serving/endpoint.ts");
    // Serving's endpoint, endpoint configs and models go before the stack (they are not Terraform's).
    await destroy(ctx, env, {
      yes: options.yes,
      confirmName: options.confirm,
      cleanupSteps: [servingCleanup(ctx, env)],
    });
    return ExitCode.ok;
  },
});

if (import.meta.main) await task.main(Deno.args);
