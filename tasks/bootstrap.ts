/**
 * deno task bootstrap — from empty accounts to ready: the state backend
 * (applied with local state, then migrated into the bucket it creates), the
 * operations stack (registry, GitHub OIDC, CI roles in all four accounts) and
 * each environment's state backend. Safe to re-run: every step checks where
 * the accounts are first, so an interrupted run continues where it stopped.
 *
 * Example:
 *   deno task bootstrap --plan --offline
 */
import { defineTask, ExitCode } from "../lib/cli.ts";
import { TERRAFORM_OPTIONS } from "../lib/task_options.ts";

export const task = defineTask({
  name: "bootstrap",
  summary: "Create the state backend, the operations stack and each environment's backend (idempotent).",
  usage: "deno task bootstrap [--plan] [--offline] [--yes] [--json]",
  description:
    "Exit codes: 0 done or nothing to do; 3 with --plan when something would change; 1 failure; 2 usage; 130 interrupted (re-run to continue).",
  options: {
    plan: { type: "boolean", description: "Show what each step would do; change nothing." },
    yes: { type: "boolean", short: "y", description: "Apply without asking." },
    json: { type: "boolean", description: "Print the step report as JSON on stdout." },
    ...TERRAFORM_OPTIONS,
  },
  examples: ["deno task bootstrap --plan --offline", "deno task bootstrap"],
  async run({ options }) {
    const { loadContext } = await import("../lib/context.ts");
    const { bootstrap, describeBootstrap } = await import("../lib/bootstrap.ts");
    const ctx = await loadContext(options);
    const planOnly = options.plan || ctx.offline;
    const report = await bootstrap(ctx, { planOnly, yes: options.yes });
    console.log(options.json ? JSON.stringify(report, null, 2) : describeBootstrap(report, planOnly));
    return planOnly && report.changed ? ExitCode.changes : ExitCode.ok;
  },
});

if (import.meta.main) await task.main(Deno.args);
