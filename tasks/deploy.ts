/**
 * deno task deploy <env> — plan, confirm and apply one environment's
 * infrastructure (the `main` Terraform root, with the env's own state key).
 *
 * Steps: account guard (STS) → init with the generated backend config →
 * plan saved to a file → summary → confirm
 * (a TTY prompt, or --yes) → apply exactly that plan → outputs.
 *
 * `--all --plan` plans every environment in parallel and prints one drift
 * table; its exit code (3) tells a scheduled job that something is pending.
 * `--plan --markdown` (one environment or `--all`) plans read-only, without
 * the state lock, and prints the plan as Markdown for a pull request.
 *
 * Example:
 *   deno task deploy dev --plan --offline
 *   deno task deploy --all --plan
 *   deno task deploy dev --plan --markdown
 */
import { defineTask, ExitCode, UsageError } from "../lib/cli.ts";
import { ENVIRONMENTS } from "../lib/environments.ts";
import { TERRAFORM_OPTIONS } from "../lib/task_options.ts";

export const task = defineTask({
  name: "deploy",
  summary: "Plan, confirm and apply one environment's infrastructure.",
  usage:
    "deno task deploy <env> [--plan] [--yes] [--offline] [--json] | deno task deploy <env>|--all --plan [--json|--markdown]",
  description:
    "Exit codes: 0 applied or nothing to do; 3 with --plan when changes are pending; 1 failure; 2 usage; 130 interrupted.",
  positionals: [{ name: "env", description: "Environment to deploy; or --all with --plan", choices: ENVIRONMENTS }],
  options: {
    plan: { type: "boolean", description: "Stop after the plan summary; change nothing." },
    all: { type: "boolean", description: "With --plan: plan every environment and print a drift table." },
    yes: { type: "boolean", short: "y", description: "Apply without asking (CI)." },
    json: { type: "boolean", description: "Print the plan summary and outputs as JSON on stdout." },
    markdown: {
      type: "boolean",
      description: "With --plan: plan read-only (no state lock) and print Markdown for a pull request.",
    },
    "detailed-exitcode": {
      type: "boolean",
      description: "Also exit 3 after applying changes, so 0 means there was nothing to do.",
    },
    ...TERRAFORM_OPTIONS,
  },
  examples: [
    "deno task deploy dev --plan --offline",
    "deno task deploy staging --yes",
    "deno task deploy --all --plan",
    "deno task deploy dev --plan --markdown",
  ],
  async run({ options, positionals }) {
    if (options.all && positionals.env) throw new UsageError(`Give an environment or --all, not both`);
    if (options.all && !options.plan) {
      throw new UsageError(`--all only plans: add --plan (deploy environments one at a time)`);
    }
    if (!options.all && !positionals.env) {
      throw new UsageError(
        `Missing <env> for "deno task deploy"; one of: ${ENVIRONMENTS.join(", ")} (or --all --plan)`,
      );
    }
    if (options.markdown && !options.plan) throw new UsageError(`--markdown only plans: add --plan`);
    if (options.markdown && options.json) throw new UsageError(`Give --json or --markdown, not both`);
    const { loadContext } = await import("../lib/context.ts");
    const { deploy, describeDrift, planAll } = await import("../lib/deploy.ts");
    const ctx = await loadContext(options);
    if (options.markdown) {
      const { planSection } = await import("../lib/plan_report.ts");
      const envs = options.all ? ENVIRONMENTS : [positionals.env as typeof ENVIRONMENTS[number]];
      const rows = await planAll(ctx, envs);
      console.log(planSection(rows, { offline: ctx.offline }));
      return rows.some((r) => r.pending) ? ExitCode.changes : ExitCode.ok;
    }
    if (options.all) {
      const rows = await planAll(ctx);
      console.log(options.json ? JSON.stringify(rows, null, 2) : describeDrift(rows));
      return rows.some((r) => r.pending) ? ExitCode.changes : ExitCode.ok;
    }
    const env = positionals.env as typeof ENVIRONMENTS[number];
    const result = await deploy(ctx, env, { planOnly: options.plan, yes: options.yes });
    if (options.json) console.log(JSON.stringify(result, null, 2));
    const changed = result.status === "planned" || (result.status === "applied" && options["detailed-exitcode"]);
    return changed ? ExitCode.changes : ExitCode.ok;
  },
});

if (import.meta.main) await task.main(Deno.args);
