import assert from "node:assert/strict";
import { defineTask, ExitCode, parseTaskArgs, TaskError, type TaskSpec, UsageError } from "./cli.ts";

const options = {
  yes: { type: "boolean", description: "Do it." },
  mode: { type: "string", description: "Mode.", choices: ["a", "b"] },
  param: { type: "string", multiple: true, description: "Params." },
} as const;

const spec: TaskSpec<typeof options> = {
  name: "demo",
  summary: "A task for tests.",
  usage: "deno task demo <env> [--yes]",
  positionals: [{ name: "env", description: "Environment", choices: ["dev", "prod"], required: true }],
  options,
  examples: ["deno task demo dev --yes"],
  run: () => {},
};

function usageError(argv: string[]): string {
  try {
    parseTaskArgs(spec, argv);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error.message;
  }
  assert.fail(`accepted ${argv.join(" ")}`);
}

Deno.test("parses flags, defaults booleans and lists, reads positionals", () => {
  const args = parseTaskArgs(spec, ["dev", "--yes", "--param", "a=1", "--param", "b=2"]);
  assert.equal(args.options.yes, true);
  assert.deepEqual(args.options.param, ["a=1", "b=2"]);
  assert.equal(args.positionals.env, "dev");
  assert.equal(parseTaskArgs(spec, ["prod"]).options.yes, false);
});

Deno.test("an unknown environment lists the valid ones", () => {
  assert.equal(usageError(["qa"]), 'Unknown env "qa"; valid choices: dev, prod');
});

Deno.test("a missing environment lists the valid ones", () => {
  assert.match(usageError([]), /^Missing <env> for "deno task demo"; one of: dev, prod\./);
});

Deno.test("an unknown flag names itself and the valid flags", () => {
  assert.match(
    usageError(["dev", "--force"]),
    /^Unknown option "--force" for "deno task demo"\. Valid options: --yes, --mode, --param, --help/,
  );
});

Deno.test("a string option outside its choices is a usage error", () => {
  assert.equal(usageError(["dev", "--mode", "c"]), 'Option "--mode" got "c"; valid values: a, b');
});

Deno.test("arguments after -- are refused unless the task passes them through", () => {
  assert.match(usageError(["dev", "--", "plan"]), /takes no arguments after "--"/);
});

Deno.test("--help wins over missing arguments and the help shows usage and examples", async () => {
  const task = defineTask(spec);
  assert.equal(parseTaskArgs(spec, ["--help"]).help, true);
  const help = task.help();
  assert.match(help, /^A task for tests\.\n\nUsage: deno task demo <env> \[--yes\]/);
  assert.match(help, /Examples:\n {2}deno task demo dev --yes/);
  assert.match(help, /--mode <a\|b>/);
  assert.equal(await task.execute(["--help"]), ExitCode.ok);
});

Deno.test("exit codes: usage 2, task failure 1 (or its own), success 0", async () => {
  const failing = defineTask({
    ...spec,
    run: () => {
      throw new TaskError("Cannot do it: because. Fix it.");
    },
  });
  assert.equal(await failing.execute(["dev"]), ExitCode.failure);
  assert.equal(await failing.execute(["nowhere"]), ExitCode.usage);
  const custom = defineTask({
    ...spec,
    run: () => {
      throw new TaskError("x", { exitCode: 7 });
    },
  });
  assert.equal(await custom.execute(["dev"]), 7);
  const ok = defineTask({ ...spec, run: () => ExitCode.changes });
  assert.equal(await ok.execute(["dev"]), ExitCode.changes);
});

Deno.test("a relative --config or MLOPS_CONFIG is read from where the command was typed", async () => {
  const { resolveConfigPath } = await import("./cli.ts");
  assert.equal(resolveConfigPath(undefined, "/repo/sub"), "mlops.config.json", "the default is the repository's");
  assert.equal(resolveConfigPath("./mine.json", "/repo/sub/"), "/repo/sub/mine.json");
  assert.equal(resolveConfigPath("/etc/mlops.json", "/repo/sub"), "/etc/mlops.json");
  assert.equal(resolveConfigPath("mine.json", undefined), "mine.json", "deno run: the working directory");
});
