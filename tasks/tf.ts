/**
 * deno task tf <root> [env] -- <terraform args> — the power-user escape
 * hatch: runs any terraform command in the root's directory with the
 * generated backend config, CLI config and (where the command
 * takes one) var file.
 *
 * Example:
 *   deno task tf main dev --offline -- state list
 *   deno task tf operations --offline -- plan
 */
import { defineTask, UsageError } from "../lib/cli.ts";
import { ENVIRONMENTS } from "../lib/environments.ts";
import { TERRAFORM_OPTIONS } from "../lib/task_options.ts";

const ROOT_CHOICES = ["backend", "operations", "main"] as const;
const TAKES_VAR_FILE = new Set(["plan", "apply", "destroy", "import", "console", "refresh"]);

/** Whether `args` is a terraform command that accepts `-var-file` (not `apply <saved plan>`). */
export function takesVarFile(args: string[]): boolean {
  const [command, ...rest] = args;
  if (!TAKES_VAR_FILE.has(command)) return false;
  return !(command === "apply" && rest.some((a) => !a.startsWith("-")));
}

export const task = defineTask({
  name: "tf",
  summary: "Run any terraform command in a root, with the generated backend and var file.",
  description:
    "Exit codes: terraform's own (so -detailed-exitcode's 2 means changes here); before terraform runs, 1 failure and 2 usage error; 130 interrupted.",
  usage: "deno task tf <root> [env] [--offline] -- <terraform args>",
  positionals: [
    { name: "root", description: "Terraform root", choices: ROOT_CHOICES, required: true },
    { name: "env", description: "Environment, for the main root only", choices: ENVIRONMENTS },
  ],
  options: { ...TERRAFORM_OPTIONS },
  passthrough: true,
  examples: ["deno task tf main dev --offline -- state list", "deno task tf operations --offline -- plan"],
  async run({ options, positionals, rest }) {
    const root = positionals.root as typeof ROOT_CHOICES[number];
    const env = (positionals.env ?? null) as typeof ENVIRONMENTS[number] | null;
    if (root === "main" && !env) {
      throw new UsageError(`The main root needs an environment: one of ${ENVIRONMENTS.join(", ")}`);
    }
    if (root !== "main" && env) throw new UsageError(`The ${root} root is shared by all environments; drop "${env}"`);
    if (rest.length === 0) {
      throw new UsageError(
        `Give the terraform command after "--", e.g. deno task tf ${root} ${env ?? ""} -- plan`.replace("  ", " "),
      );
    }
    const { loadContext } = await import("../lib/context.ts");
    const ctx = await loadContext(options);
    if (!ctx.offline) {
      // The same guard as the tasks that run this root: main acts in its environment (and reads state
      // as operations on a laptop); operations acts in all four accounts; backend in operations.
      if (env) await ctx.aws.assertEnvironment(env, "run terraform in");
      else if (root === "operations") {
        for (const account of ["operations", ...ENVIRONMENTS] as const) {
          await ctx.aws.assertAccount(account, "run terraform in");
        }
      } else await ctx.aws.assertAccount("operations", "run terraform in");
    }
    const runner = ctx.root(root, env);
    await runner.prepare();
    const args = takesVarFile(rest) ? [rest[0], `-var-file=${runner.varFile}`, ...rest.slice(1)] : rest;
    const result = await runner.terraform(args);
    return result.code;
  },
});

if (import.meta.main) await task.main(Deno.args);
