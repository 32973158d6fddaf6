/**
 * deno task bootstrap — from empty accounts to ready: the state backend
 * (applied with local state, then migrated into the bucket it creates), the
 * operations stack (registry, GitHub OIDC, CI roles in all four accounts) and
 * the environments' workspaces. Safe to re-run: every step checks first.
 *
 * Example:
 *   deno task bootstrap --plan --offline
 */
import { defineTask, notBuiltYet } from "../lib/cli.ts";
import { TERRAFORM_OPTIONS } from "../lib/task_options.ts";

export const task = defineTask({
  name: "bootstrap",
  summary: "Create the state backend, the operations stack and the workspaces (idempotent).",
  usage: "deno task bootstrap [--plan] [--offline] [--yes]",
  options: {
    plan: { type: "boolean", description: "Show what each step would do; change nothing." },
    yes: { type: "boolean", short: "y", description: "Apply without asking." },
    ...TERRAFORM_OPTIONS,
  },
  examples: ["deno task bootstrap --plan --offline", "deno task bootstrap"],
  run() {
    notBuiltYet("deno task bootstrap", "issue #4");
  },
});

if (import.meta.main) await task.main(Deno.args);
