/**
 * deno task doctor — what is ready and what is not: Deno, Terraform (≥ 1.10),
 * Docker engine (optional), Python, the config, the provider mirror if one is
 * set, and, unless --offline, the STS identity of every configured account
 * against the id the config expects.
 *
 * Exit code 1 when something required is missing.
 *
 * Example:
 *   deno task doctor --offline
 */
import { defineTask, ExitCode } from "../lib/cli.ts";
import { AWS_OPTIONS, TERRAFORM_OPTIONS } from "../lib/task_options.ts";

export const task = defineTask({
  name: "doctor",
  summary: "Check tools, config and AWS credentials; print what is ready.",
  usage: "deno task doctor [--offline] [--json]",
  options: {
    offline: { type: "boolean", description: "Skip the AWS identity checks." },
    json: { type: "boolean", description: "Print the checks as JSON on stdout." },
    "provider-mirror": TERRAFORM_OPTIONS["provider-mirror"],
    ...AWS_OPTIONS,
  },
  examples: ["deno task doctor --offline", "deno task doctor --json"],
  async run({ options }) {
    const { runChecks } = await import("../lib/doctor.ts");
    const { table, style } = await import("../lib/log.ts");
    const checks = await runChecks(options);
    if (options.json) {
      console.log(JSON.stringify(checks, null, 2));
    } else {
      const mark = { ok: style.green("ok"), warn: style.yellow("missing"), fail: style.red("FAIL") };
      console.log(table(["check", "status", "detail"], checks.map((c) => [c.name, mark[c.status], c.detail])));
    }
    return checks.some((c) => c.status === "fail") ? ExitCode.failure : ExitCode.ok;
  },
});

if (import.meta.main) await task.main(Deno.args);
