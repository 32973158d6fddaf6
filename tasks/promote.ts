/**
 * deno task promote <env> — run by CI on a tag (also usable from a laptop):
 * check the ref, find this commit's image digest, refuse what the source
 * environment has not run (prod ← staging), deploy the environment, upload the
 * data, upsert the pipeline pinned to the digest, start it where configured,
 * and record the promotion in the operations account.
 * `deno task promote status` shows what each environment runs now.
 *
 * Example:
 *   deno task promote staging --wait
 *   deno task promote status
 */
import { defineTask, ExitCode } from "../lib/cli.ts";
import { type Environment, ENVIRONMENTS } from "../lib/environments.ts";
import { TERRAFORM_OPTIONS } from "../lib/task_options.ts";

export const task = defineTask({
  name: "promote",
  summary: "Promote this commit to an environment (deploy, pin digest, run pipeline, record).",
  usage: "deno task promote <env|status> [--wait] [--json]",
  positionals: [{
    name: "target",
    description: "Environment, or status",
    choices: [...ENVIRONMENTS, "status"],
    required: true,
  }],
  options: {
    wait: {
      type: "boolean",
      description: "Wait for the pipeline execution to finish (needed by a promoteFrom gate that requires success).",
    },
    json: { type: "boolean", description: "Print the record (or the status) as JSON on stdout." },
    "allow-dirty": {
      type: "boolean",
      description: "Promote even with uncommitted changes to the image, Terraform or config (never in CI).",
    },
    markdown: {
      type: "boolean",
      description: "status: print Markdown with a Mermaid picture (for GitHub job summaries).",
    },
    "provider-mirror": TERRAFORM_OPTIONS["provider-mirror"],
    "lock-timeout": TERRAFORM_OPTIONS["lock-timeout"],
    "no-profile": TERRAFORM_OPTIONS["no-profile"],
  },
  examples: ["deno task promote staging --wait", "deno task promote status"],
  async run({ options, positionals }) {
    const { loadContext } = await import("../lib/context.ts");
    const promotion = await import("../lib/promote.ts");
    const ctx = await loadContext({ ...options, offline: false });
    if (positionals.target === "status") {
      const rows = await promotion.promotionStatus(ctx);
      if (options.json) console.log(JSON.stringify(rows, null, 2));
      else if (options.markdown) console.log(promotion.statusMarkdown(rows));
      else console.log(promotion.describeStatus(rows));
      return ExitCode.ok;
    }
    const pollMs = Number(Deno.env.get("MLOPS_POLL_MS") ?? 15_000);
    const record = await promotion.promote(ctx, positionals.target as Environment, {
      wait: options.wait,
      pollMs,
      allowDirty: options["allow-dirty"],
    });
    if (options.json) console.log(JSON.stringify(record, null, 2));
    return ExitCode.ok;
  },
});

if (import.meta.main) await task.main(Deno.args);
