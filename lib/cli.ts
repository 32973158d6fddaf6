/**
 * Conventions shared by every `deno task`: argument parsing with `--help`,
 * usage errors (exit 2) that list the valid choices, one-line failures
 * (exit 1) with the fix, `--debug` for detail and stack traces, and exit 130
 * after an interrupt. Kept free of heavy imports so `--help` is fast: task
 * bodies import their libraries lazily.
 *
 * @example
 * ```ts
 * import { defineTask } from "./cli.ts";
 * const task = defineTask({
 *   name: "hello",
 *   summary: "Greets.",
 *   usage: "deno task hello [--loud]",
 *   options: { loud: { type: "boolean", description: "Shout." } },
 *   examples: ["deno task hello --loud"],
 *   run: ({ options }) => console.log(options.loud ? "HELLO" : "hello"),
 * });
 * await task.main(["--loud"]);
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { isDebug, log, setDebug } from "./log.ts";

/** Exit codes shared by all tasks. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** A plan found pending changes (`--plan`). */
  changes: 3,
  interrupted: 130,
} as const;

/** Wrong arguments: exit 2 with the message and a pointer to `--help`. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** An expected failure: exit 1 with one line saying what failed, why, and the fix. */
export class TaskError extends Error {
  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options);
    this.name = "TaskError";
    this.exitCode = options?.exitCode ?? ExitCode.failure;
  }
  readonly exitCode: number;
}

/** The task was interrupted (SIGINT/SIGTERM) and its children have stopped. */
export class Interrupted extends Error {
  constructor(what = "the task") {
    super(`Interrupted: ${what} stopped. Re-run the same command to continue.`);
    this.name = "Interrupted";
  }
}

/** One `--flag` of a task. */
export interface OptionSpec {
  type: "boolean" | "string";
  description: string;
  /** Placeholder shown in help, e.g. `DURATION`. */
  value?: string;
  short?: string;
  multiple?: boolean;
  /** Allowed values of a string option. */
  choices?: readonly string[];
}

/** One positional argument of a task. */
export interface PositionalSpec {
  name: string;
  description: string;
  choices?: readonly string[];
  required?: boolean;
}

type OptionValue<O extends OptionSpec> = O["type"] extends "boolean" ? boolean
  : O["multiple"] extends true ? string[]
  : string | undefined;

/** Parsed options, typed from the task's option specs. */
export type Options<O extends Record<string, OptionSpec>> = { [K in keyof O]: OptionValue<O[K]> } & {
  debug: boolean;
  config: string;
};

/** What a task body receives. */
export interface TaskArgs<O extends Record<string, OptionSpec>> {
  options: Options<O>;
  /** Positional arguments by name (validated against their choices). */
  positionals: Record<string, string | undefined>;
  /** Arguments after `--`, passed through untouched. */
  rest: string[];
}

/** The definition of a task. */
export interface TaskSpec<O extends Record<string, OptionSpec>> {
  name: string;
  summary: string;
  usage: string;
  description?: string;
  positionals?: PositionalSpec[];
  options: O;
  examples: string[];
  /** Whether arguments after `--` are accepted. */
  passthrough?: boolean;
  /** Whether the task reads the config file (and so takes `--config`); default true. */
  usesConfig?: boolean;
  run(args: TaskArgs<O>): Promise<number | void> | number | void;
}

const COMMON_OPTIONS = {
  help: { type: "boolean", short: "h", description: "Show this help." },
  debug: { type: "boolean", description: "Show detail and stack traces." },
  config: {
    type: "string",
    value: "FILE",
    description: "Config file (default: $MLOPS_CONFIG or mlops.config.json).",
  },
} as const satisfies Record<string, OptionSpec>;

/** A defined task: its help text and its entry point. */
export interface Task<O extends Record<string, OptionSpec>> {
  spec: TaskSpec<O>;
  help(): string;
  /** Parses `argv`, runs the task and returns the exit code; never throws. */
  execute(argv: string[]): Promise<number>;
  /** `execute`, then exit the process with its code. */
  main(argv: string[]): Promise<never>;
}

function optionLabel(name: string, spec: OptionSpec): string {
  const value = spec.type === "string" ? ` <${spec.value ?? (spec.choices ? spec.choices.join("|") : "VALUE")}>` : "";
  return `${spec.short ? `-${spec.short}, ` : "    "}--${name}${value}`;
}

/** The common options a task takes: `--config` only when it reads the config. */
function commonOptions(spec: { usesConfig?: boolean }): Record<string, OptionSpec> {
  if (spec.usesConfig !== false) return COMMON_OPTIONS;
  const { config: _config, ...rest } = COMMON_OPTIONS;
  return rest;
}

/** The exit codes every task shares, for help texts that do not list their own. */
export const EXIT_CODES_HELP = "Exit codes: 0 success; 1 failure; 2 usage error; 130 interrupted.";

function renderHelp<O extends Record<string, OptionSpec>>(spec: TaskSpec<O>): string {
  const options: [string, OptionSpec][] = [...Object.entries(spec.options), ...Object.entries(commonOptions(spec))];
  const labels = options.map(([n, o]) => optionLabel(n, o));
  const width = Math.max(...labels.map((l) => l.length), ...(spec.positionals ?? []).map((p) => p.name.length + 2));
  const lines = [spec.summary, "", `Usage: ${spec.usage}`];
  if (spec.description) lines.push("", spec.description);
  if (spec.positionals?.length) {
    lines.push("", "Arguments:");
    for (const p of spec.positionals) {
      const choices = p.choices ? ` (${p.choices.join(", ")})` : "";
      lines.push(`  ${`<${p.name}>`.padEnd(width)}  ${p.description}${choices}`);
    }
  }
  lines.push("", "Options:");
  options.forEach(([, o], i) => {
    const choices = o.choices && o.type === "string" && !o.value ? "" : o.choices ? ` (${o.choices.join(", ")})` : "";
    lines.push(`  ${labels[i].padEnd(width)}  ${o.description}${choices}`);
  });
  lines.push("", "Examples:", ...spec.examples.map((e) => `  ${e}`));
  if (!spec.description?.includes("Exit codes")) lines.push("", EXIT_CODES_HELP);
  return lines.join("\n");
}

function usageFromParseError(error: Error, spec: TaskSpec<Record<string, OptionSpec>>): UsageError {
  const code = (error as { code?: string }).code;
  const flag = /'(-[^']*)'/.exec(error.message)?.[1];
  const valid = [...Object.keys(spec.options), ...Object.keys(commonOptions(spec))].map((o) => `--${o}`).join(", ");
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    return new UsageError(`Unknown option "${flag}" for "deno task ${spec.name}". Valid options: ${valid}`);
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const name = /--([\w-]+)/.exec(error.message)?.[1] ?? flag;
    return new UsageError(
      `Option "--${name}" of "deno task ${spec.name}" ${
        error.message.includes("argument missing") ? "needs a value" : "takes no value"
      }. See: deno task ${spec.name} --help`,
    );
  }
  return new UsageError(error.message);
}

/** Parses `argv` against a task spec; throws {@linkcode UsageError} on bad input. */
export function parseTaskArgs<O extends Record<string, OptionSpec>>(
  spec: TaskSpec<O>,
  argv: string[],
): TaskArgs<O> & { help: boolean } {
  const dashDash = argv.indexOf("--");
  const own = dashDash === -1 ? argv : argv.slice(0, dashDash);
  const rest = dashDash === -1 ? [] : argv.slice(dashDash + 1);
  if (rest.length > 0 && !spec.passthrough) {
    throw new UsageError(`"deno task ${spec.name}" takes no arguments after "--" (got ${rest.join(" ")})`);
  }
  const all = { ...spec.options, ...commonOptions(spec) } as Record<string, OptionSpec>;
  const parseOptions = Object.fromEntries(
    Object.entries(all).map(([name, o]) => [
      name,
      { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
    ]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: own, options: parseOptions, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageFromParseError(error as Error, spec as TaskSpec<Record<string, OptionSpec>>);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) return { help: true, options: {} as Options<O>, positionals: {}, rest };
  for (const [name, o] of Object.entries(all)) {
    if (o.type === "boolean") values[name] ??= false;
    if (o.multiple) values[name] ??= [];
    const given = values[name];
    for (const value of Array.isArray(given) ? given : typeof given === "string" ? [given] : []) {
      if (o.choices && !o.choices.includes(value)) {
        throw new UsageError(`Option "--${name}" got "${value}"; valid values: ${o.choices.join(", ")}`);
      }
    }
  }
  if (spec.usesConfig !== false) {
    values.config = resolveConfigPath(
      (values.config as string | undefined) ?? Deno.env.get("MLOPS_CONFIG"),
      Deno.env.get("INIT_CWD"),
    );
  }

  const specs = spec.positionals ?? [];
  const positionals: Record<string, string | undefined> = {};
  if (parsed.positionals.length > specs.length) {
    const extra = parsed.positionals.slice(specs.length).join(" ");
    throw new UsageError(`Unexpected argument "${extra}" for "deno task ${spec.name}". Usage: ${spec.usage}`);
  }
  specs.forEach((p, i) => {
    const value = parsed.positionals[i];
    if (value === undefined) {
      if (p.required) {
        const choices = p.choices ? `; one of: ${p.choices.join(", ")}` : "";
        throw new UsageError(`Missing <${p.name}> for "deno task ${spec.name}"${choices}. Usage: ${spec.usage}`);
      }
    } else if (p.choices && !p.choices.includes(value)) {
      throw new UsageError(`Unknown ${p.name} "${value}"; valid choices: ${p.choices.join(", ")}`);
    }
    positionals[p.name] = value;
  });
  return { help: false, options: values as Options<O>, positionals, rest };
}

/**
 * The config file a task reads: `given` (from `--config` or `MLOPS_CONFIG`) resolved against the
 * directory the user typed the command in (`deno task` passes it as `INIT_CWD`, and runs the task
 * at the repository root), or `mlops.config.json` at the repository root.
 */
export function resolveConfigPath(given: string | undefined, initCwd: string | undefined): string {
  if (!given) return "mlops.config.json";
  if (given.startsWith("/") || !initCwd) return given;
  return `${initCwd.replace(/\/$/, "")}/${given.replace(/^\.\//, "")}`;
}

/**
 * The one line for a file-system error the task did not expect (a read-only or
 * misplaced `.mlops/`, a full disk), or null for any other error.
 */
export function fileSystemProblem(error: unknown): string | null {
  const kinds: [new (...args: never[]) => Error, string][] = [
    [Deno.errors.PermissionDenied, "permission denied"],
    [Deno.errors.NotADirectory, "a file is in the way of a directory"],
    [Deno.errors.IsADirectory, "a directory is in the way of a file"],
    [Deno.errors.AlreadyExists, "a file is in the way"],
  ];
  const kind = kinds.find(([type]) => error instanceof type);
  if (!kind) return null;
  const path = /'([^']+)'/.exec((error as Error).message)?.[1];
  const where = path ? ` "${path}"` : "";
  return `Cannot write${where}: ${kind[1]} (${(error as Error).message.split(":")[0]}). ` +
    `Make it writable for you, or move it out of the way (.mlops/ holds only scratch files and may be deleted), and re-run.`;
}

/** Prints an error the task conventions way and returns the exit code. */
export function reportError(error: unknown): number {
  if (error instanceof UsageError) {
    log.error(error.message);
    return ExitCode.usage;
  }
  if (error instanceof Interrupted) {
    log.error(error.message);
    return ExitCode.interrupted;
  }
  const err = error instanceof Error ? error : new Error(String(error));
  const fileSystem = fileSystemProblem(err);
  log.error(fileSystem ?? err.message);
  if (isDebug()) {
    log.info(err.stack ?? "");
    let cause = err.cause;
    while (cause) {
      log.info(`caused by: ${cause instanceof Error ? cause.stack : String(cause)}`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  } else if (!(err instanceof TaskError) && !fileSystem) {
    log.info("This is unexpected: re-run with --debug for the stack trace, and please report it.");
  }
  return err instanceof TaskError ? err.exitCode : ExitCode.failure;
}

/** Defines a task from its spec. */
export function defineTask<O extends Record<string, OptionSpec>>(spec: TaskSpec<O>): Task<O> {
  const task: Task<O> = {
    spec,
    help: () => renderHelp(spec),
    async execute(argv) {
      setDebug(argv.includes("--debug"));
      try {
        const args = parseTaskArgs(spec, argv);
        if (args.help) {
          console.log(renderHelp(spec));
          return ExitCode.ok;
        }
        return (await spec.run(args)) ?? ExitCode.ok;
      } catch (error) {
        return reportError(error);
      }
    },
    async main(argv) {
      Deno.exit(await task.execute(argv));
    },
  };
  return task;
}
