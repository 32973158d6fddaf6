/**
 * Shared pieces of the end-to-end tests: running a task as a real process,
 * writing configs and AWS profile files into temporary directories, and
 * recording stand-ins for external commands on `PATH`.
 *
 * @example
 * ```ts
 * import { runTask } from "./helpers.ts";
 * const result = await runTask("doctor", ["--offline"]);
 * console.log(result.code);
 * ```
 * @module
 */
import type { ConfigData } from "../lib/config.ts";
import { FakeAws } from "./fake_aws.ts";

/** The repository root. */
export const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

const TASKS = (JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`)) as {
  tasks: Record<string, { command: string }>;
}).tasks;

/** The permission flags a task runs with, read from its command in deno.json (so tests run as users do). */
export function taskPermissions(name: string): string[] {
  const words = TASKS[name]?.command.split(/\s+/) ?? [];
  return words.filter((w) => w.startsWith("--allow-"));
}

/** Output of a task process. */
export interface TaskRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode runTask}. */
export interface RunTaskOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Replace the environment instead of extending it. */
  clearEnv?: boolean;
}

/**
 * The test process's environment minus anything AWS or CI, with a temporary
 * home: tasks stay off real AWS and away from the user's profiles, while
 * certificates, proxies and Deno's cache still work.
 */
export function isolatedEnv(home: string): Record<string, string> {
  const env = Deno.env.toObject();
  for (const key of Object.keys(env)) {
    if (/^(AWS_|GITHUB_|TF_)/.test(key) || key === "CI") delete env[key];
  }
  return {
    ...env,
    HOME: home,
    NO_COLOR: "1",
    DENO_DIR: env.DENO_DIR ?? `${Deno.env.get("HOME")}/.cache/deno`,
    AWS_CONFIG_FILE: `${home}/.aws/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${home}/.aws/credentials`,
    AWS_EC2_METADATA_DISABLED: "true",
  };
}

/** The command line that runs a task script directly. */
export function taskCommand(name: string, args: string[]): string[] {
  return [
    Deno.execPath(),
    "run",
    `--config=${REPO}/deno.json`,
    ...taskPermissions(name),
    `${REPO}/${TASKS[name]?.command.split(/\s+/).find((w) => w.endsWith(".ts")) ?? `tasks/${name}.ts`}`,
    ...args,
  ];
}

/** Spawns a task script as the user would and waits for it. */
export async function runTask(name: string, args: string[], options: RunTaskOptions = {}): Promise<TaskRun> {
  return decodeOutput(await spawnTask(name, args, options).output());
}

/** Starts a task process (for tests that signal it before it ends). */
export function spawnTask(name: string, args: string[], options: RunTaskOptions = {}): Deno.ChildProcess {
  const [cmd, ...rest] = taskCommand(name, args);
  return new Deno.Command(cmd, {
    args: rest,
    cwd: options.cwd ?? REPO,
    env: options.env,
    clearEnv: options.clearEnv ?? false,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** A finished process's exit code and text output. */
export function decodeOutput(output: Deno.CommandOutput): TaskRun {
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** Polls `check` every 25 ms until it holds or `ms` pass; returns whether it held. */
export async function waitUntil(check: () => boolean | Promise<boolean>, ms = 15_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) {
    if (await check()) return true;
  }
  return false;
}

/** The example config shipped at the repository root. */
export async function exampleConfig(): Promise<ConfigData> {
  return JSON.parse(await Deno.readTextFile(`${REPO}/mlops.config.json`));
}

/** Writes a config (the example, changed by `edit`) into `dir` and returns its path. */
export async function writeConfig(dir: string, edit: (c: ConfigData) => void = () => {}): Promise<string> {
  const config = await exampleConfig();
  edit(config);
  const path = `${dir}/mlops.config.json`;
  await Deno.writeTextFile(path, JSON.stringify(config, null, 2));
  return path;
}

/**
 * Writes `~/.aws/config` and `credentials` under `home` with one profile per
 * entry, each with its own fake access key (so the fake STS can tell them apart).
 */
export async function writeProfiles(home: string, profiles: Record<string, string>): Promise<void> {
  await Deno.mkdir(`${home}/.aws`, { recursive: true });
  const config = Object.keys(profiles).map((p) => `[profile ${p}]\nregion = eu-west-1\n`).join("\n");
  const credentials = Object.entries(profiles)
    .map(([p, key]) => `[${p}]\naws_access_key_id = ${key}\naws_secret_access_key = fake-secret-${key}\n`)
    .join("\n");
  await Deno.writeTextFile(`${home}/.aws/config`, config);
  await Deno.writeTextFile(`${home}/.aws/credentials`, credentials);
}

/**
 * Puts an executable `name` on a fresh bin directory that appends its
 * arguments to `<dir>/<name>.calls` and then runs `body` (bash).
 */
export async function stubCommand(dir: string, name: string, body = "exit 0"): Promise<string> {
  const bin = `${dir}/bin`;
  await Deno.mkdir(bin, { recursive: true });
  const script = `#!/usr/bin/env bash\necho "$*" >> "${dir}/${name}.calls"\n${body}\n`;
  await Deno.writeTextFile(`${bin}/${name}`, script, { mode: 0o755 });
  return bin;
}

/** Lines a stub recorded (empty when it never ran). */
export async function stubCalls(dir: string, name: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(`${dir}/${name}.calls`)).trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** Access keys of the four example profiles and the accounts the fake STS gives them. */
export const ACCOUNT_KEYS = {
  "mlops-operations": ["AKIDOPS", "111111111111"],
  "mlops-dev": ["AKIDDEV", "222222222222"],
  "mlops-staging": ["AKIDSTG", "333333333333"],
  "mlops-prod": ["AKIDPRD", "444444444444"],
} as const;

/**
 * A temporary checkout with the example config, a profile per account (each
 * answered by the fake STS with its expected account) and symlinks to the
 * repository folders a task needs (`terraform`, `training-pipeline`).
 */
export async function fourAccountWorkspace(links: string[]): Promise<{ dir: string; aws: FakeAws }> {
  const dir = await Deno.makeTempDir();
  for (const link of links) await Deno.symlink(`${REPO}/${link}`, `${dir}/${link}`);
  await writeConfig(dir);
  await writeProfiles(dir, Object.fromEntries(Object.entries(ACCOUNT_KEYS).map(([profile, [key]]) => [profile, key])));
  const aws = await FakeAws.start();
  for (const [key, id] of Object.values(ACCOUNT_KEYS)) aws.identities.set(key, id);
  return { dir, aws };
}

/** Whether a path exists. */
export function exists(path: string): Promise<boolean> {
  return Deno.stat(path).then(() => true, () => false);
}

/** Copies the tree `from` into `to`, leaving out entries named in `skip` (at any depth). */
export async function copyTree(from: string, to: string, skip: string[] = []): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (skip.includes(entry.name)) continue;
    if (entry.isDirectory) await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`, skip);
    else await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}
