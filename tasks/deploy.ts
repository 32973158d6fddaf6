/**
 * deno task deploy <env> — plan, confirm and apply one environment's
 * infrastructure (the `main` Terraform root in the env's workspace).
 *
 * Steps: account guard (STS) → init with the generated backend config →
 * workspace select-or-create → plan saved to a file → summary → confirm
 * (a TTY prompt, or --yes) → apply exactly that plan → outputs.
 *
 * Example:
 *   deno task deploy dev --plan --offline
 */
import { defineTask, ExitCode } from "../lib/cli.ts";
import { ENVIRONMENTS } from "../lib/config.ts";
import { TERRAFORM_OPTIONS } from "../lib/task_options.ts";

export const task = defineTask({
  name: "deploy",
  summary: "Plan, confirm and apply one environment's infrastructure.",
  usage: "deno task deploy <env> [--plan] [--yes] [--offline] [--json]",
  description:
    "Exit codes: 0 applied or nothing to do; 3 with --plan when changes are pending; 1 failure; 2 usage; 130 interrupted.",
  positionals: [{ name: "env", description: "Environment to deploy", choices: ENVIRONMENTS, required: true }],
  options: {
    plan: { type: "boolean", description: "Stop after the plan summary; change nothing." },
    yes: { type: "boolean", short: "y", description: "Apply without asking (CI)." },
    json: { type: "boolean", description: "Print the plan summary and outputs as JSON on stdout." },
    ...TERRAFORM_OPTIONS,
  },
  examples: ["deno task deploy dev --plan --offline", "deno task deploy staging --yes"],
  async run({ options, positionals }) {
    const { loadContext } = await import("../lib/context.ts");
    const { deploy } = await import("../lib/deploy.ts");
    const ctx = await loadContext(options);
    const env = positionals.env as typeof ENVIRONMENTS[number];
    const result = await deploy(ctx, env, { planOnly: options.plan, yes: options.yes });
    if (options.json) console.log(JSON.stringify(result, null, 2));
    return result.status === "planned" ? ExitCode.changes : ExitCode.ok;
  },
});

if (import.meta.main) await task.main(Deno.args);
