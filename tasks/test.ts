/**
 * deno task test — everything CI checks: `deno fmt --check`, `deno lint`,
 * type check, the Deno tests, Terraform `fmt -check`, `validate` and
 * `terraform test` for every root, the Python steps' pytest suite, and the
 * end-to-end flow on moto (tests/e2e: four accounts, real Terraform).
 * Suites run in parallel; each one's output is printed when it ends, and the
 * last line counts every test: "tests: N passed, N failed".
 *
 * Example:
 *   deno task test
 *   deno task test --only deno --filter config
 */
import { defineTask, ExitCode } from "../lib/cli.ts";
import { TERRAFORM_OPTIONS } from "../lib/task_options.ts";

const SUITES = ["static", "deno", "terraform", "python", "e2e"] as const;

export const task = defineTask({
  name: "test",
  summary: "Run every check: fmt, lint, types, Deno tests, Terraform validate/test, pytest, the e2e flow on moto.",
  usage: "deno task test [--only <suite>]... [--filter <text>]",
  options: {
    only: {
      type: "string",
      multiple: true,
      value: SUITES.join("|"),
      choices: SUITES,
      description: "Run only these suites.",
    },
    filter: { type: "string", value: "TEXT", description: "Only Deno tests whose name contains TEXT." },
    "provider-mirror": TERRAFORM_OPTIONS["provider-mirror"],
  },
  examples: ["deno task test", "deno task test --only deno --filter config"],
  async run({ options }) {
    const { runSuites } = await import("../lib/test_runner.ts");
    const only = options.only.length > 0 ? options.only as typeof SUITES[number][] : [...SUITES];
    const ok = await runSuites(only, { filter: options.filter, providerMirror: options["provider-mirror"] });
    return ok ? ExitCode.ok : ExitCode.failure;
  },
});

if (import.meta.main) await task.main(Deno.args);
