/**
 * Reliability under bad input, hangs and interrupts: one table of cases, each
 * running the real task as a process (with the permissions deno.json gives it)
 * in a workspace of its own, and asserting the exit code, one `error:` line
 * that names the problem and the fix, no stack trace without `--debug`, and
 * that nothing in the workspace changed (`.mlops/`, state, the local registry).
 *
 * Cases run concurrently (a few at a time); each Deno test awaits its own.
 * Hung-endpoint cases use `MLOPS_AWS_TIMEOUT=1`; interrupt cases type Ctrl-C
 * into a pseudo-terminal (tests/pty_run.py) running `deno task …`.
 */
import assert from "node:assert/strict";
import { FakeAws } from "./fake_aws.ts";
import {
  ACCOUNT_KEYS,
  decodeOutput,
  isolatedEnv,
  REPO,
  stubCalls,
  stubCommand,
  taskCommand,
  type TaskRun,
  writeConfig,
  writeProfiles,
} from "./helpers.ts";

/** A case's scratch checkout. */
interface Workspace {
  dir: string;
  /** Environment the task gets (isolated from the user's AWS, CI and Terraform settings). */
  env: Record<string, string>;
  /** Prepends a directory to PATH. */
  path(bin: string): void;
  /** Things to stop after the run (fake servers). */
  cleanup: (() => Promise<void>)[];
}

/** What a case runs and expects. */
interface Case {
  name: string;
  /**
   * Whether the case passed before this suite's fixes (the issue's "clean" ones), as measured by
   * running this file against the code before them; three were clean but are pinned reworded.
   */
  cleanBefore: boolean;
  task: string;
  args: string[];
  /** Repository folders the task needs, symlinked into the workspace. */
  links?: string[];
  prepare?: (ws: Workspace) => Promise<void>;
  /** Run through `deno task` from this subdirectory of the workspace (INIT_CWD), not `deno run`. */
  viaDenoTask?: string;
  code: number;
  /** The `error:` line (stderr), or for doctor's table the matching line on stdout. */
  message?: RegExp;
  /** Where `message` is looked for. */
  stream?: "stderr" | "stdout";
  /** Workspace paths a case may change (scratch the task legitimately writes). */
  mayChange?: RegExp;
  /** Further assertions. */
  check?: (run: TaskRun, ws: Workspace) => Promise<void> | void;
}

const DAX_NOT_FOUND = /command not found/;

async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (path: string) => {
    for await (const entry of Deno.readDir(path)) {
      const full = `${path}/${entry.name}`;
      if (entry.isSymlink) continue;
      if (entry.isDirectory) {
        files.set(`${full.slice(dir.length + 1)}/`, "dir");
        await walk(full);
      } else {
        const bytes = await Deno.readFile(full);
        const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
        files.set(full.slice(dir.length + 1), Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join(""));
      }
    }
  };
  await walk(dir);
  return files;
}

function changedPaths(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((p) => before.get(p) !== after.get(p)).sort();
}

/** A deno.json whose tasks run this repository's scripts with their own permissions, for `deno task` runs. */
async function writeTaskConfig(dir: string): Promise<void> {
  const { tasks } = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)) as {
    tasks: Record<string, { description: string; command: string }>;
  };
  const rewritten = Object.fromEntries(
    Object.entries(tasks).map(([name, task]) => [name, {
      description: task.description,
      command: task.command.replace("deno run ", `deno run --config=${REPO}/deno.json `)
        .replace(" tasks/", ` ${REPO}/tasks/`),
    }]),
  );
  await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ lock: false, tasks: rewritten }, null, 2));
}

async function workspace(links: string[]): Promise<Workspace> {
  const dir = await Deno.makeTempDir({ prefix: "mlops-bad-input-" });
  for (const link of links) await Deno.symlink(`${REPO}/${link}`, `${dir}/${link}`);
  await writeConfig(dir);
  // CHECKPOINT_DISABLE: terraform version would write ~/.terraform.d (HOME is the workspace).
  const env: Record<string, string> = { ...isolatedEnv(dir), NO_COLOR: "1", CHECKPOINT_DISABLE: "1" };
  // The cases set what they test; nothing of the caller's MLOPS_* or INIT_CWD (deno task test passes it) leaks in.
  for (const key of Object.keys(env)) if (key.startsWith("MLOPS_") || key === "INIT_CWD") delete env[key];
  const path = (bin: string) => {
    env.PATH = `${bin}:${env.PATH}`;
  };
  return { dir, env, path, cleanup: [] };
}

/** A workspace whose profiles the fake STS answers with the expected accounts. */
async function withFakeAws(ws: Workspace): Promise<FakeAws> {
  await writeProfiles(ws.dir, Object.fromEntries(Object.entries(ACCOUNT_KEYS).map(([p, [key]]) => [p, key])));
  const aws = await FakeAws.start();
  for (const [key, id] of Object.values(ACCOUNT_KEYS)) aws.identities.set(key, id);
  Object.assign(ws.env, aws.endpointEnv());
  ws.cleanup.push(() => aws.close());
  return aws;
}

/** A TCP endpoint that accepts connections and never answers; counts them. */
function hungEndpoint(ws: Workspace): { url: string; connections: () => number } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  ws.cleanup.push(() => {
    listener.close();
    for (const conn of held) conn.close();
    return Promise.resolve();
  });
  return { url: `http://127.0.0.1:${listener.addr.port}`, connections: () => held.length };
}

const hung = new Map<string, ReturnType<typeof hungEndpoint>>();

async function runCase(c: Case): Promise<{ run: TaskRun; ws: Workspace; changed: string[]; seconds: number }> {
  const ws = await workspace(c.links ?? []);
  try {
    await c.prepare?.(ws);
    const before = await snapshot(ws.dir);
    const started = performance.now();
    let output: Deno.CommandOutput;
    if (c.viaDenoTask !== undefined) {
      await writeTaskConfig(ws.dir);
      const cwd = `${ws.dir}/${c.viaDenoTask}`;
      await Deno.mkdir(cwd, { recursive: true });
      output = await new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", c.task, ...c.args],
        cwd,
        env: ws.env,
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    } else {
      const [cmd, ...args] = taskCommand(c.task, c.args);
      output = await new Deno.Command(cmd, {
        args,
        cwd: ws.dir,
        env: ws.env,
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await snapshot(ws.dir);
    const changed = changedPaths(before, after).filter((p) => !(c.mayChange?.test(p)) && p !== "deno.json");
    return { run: decodeOutput(output), ws, changed, seconds };
  } finally {
    for (const stop of ws.cleanup) await stop();
  }
}

/** A stand-in `terraform` whose plan fails with a multi-line error, as Terraform prints it. */
const TERRAFORM_ERROR = `case "$*" in
  *" plan "*) cat >&2 <<'EOF'
╷
│ Error: Unsupported argument
│
│   on main.tf line 3, in resource "aws_s3_bucket" "ml":
│    3:   bucket_name = "x"
│
│ An argument named "bucket_name" is not expected here. Did you mean "bucket"? Every argument of this resource is
│ documented by the provider, and a misspelt one is never ignored.
╵
EOF
  exit 1 ;;
  *) exit 0 ;;
esac`;

/** A stand-in `terraform` that records the CLI configuration and plugin cache it was given. */
const TERRAFORM_RECORDING_ENV =
  `echo "cli=$TF_CLI_CONFIG_FILE cache=$TF_PLUGIN_CACHE_DIR" >> "$(dirname "$0")/../terraform.env"
case "$*" in
  *" show "*) echo '{"format_version":"1.2"}' ;;
esac
exit 0`;

const CASES: Case[] = [
  // Usage errors: exit 2, the valid choices or the fix named.
  {
    name: "deploy: unknown environment",
    cleanBefore: true,
    task: "deploy",
    args: ["nosuchenv"],
    code: 2,
    message: /^Unknown env "nosuchenv"; valid choices: dev, staging, prod$/,
  },
  {
    name: "deploy: unknown option",
    cleanBefore: true,
    task: "deploy",
    args: ["dev", "--nope"],
    code: 2,
    message: /^Unknown option "--nope" for "deno task deploy"\. Valid options: --plan, /,
  },
  {
    name: "deploy: missing environment",
    cleanBefore: true,
    task: "deploy",
    args: [],
    code: 2,
    message: /^Missing <env> for "deno task deploy"; one of: dev, staging, prod \(or --all --plan\)$/,
  },
  {
    name: "deploy: --all without --plan",
    cleanBefore: true,
    task: "deploy",
    args: ["--all"],
    code: 2,
    message: /^--all only plans: add --plan/,
  },
  {
    name: "deploy: an environment and --all",
    cleanBefore: true,
    task: "deploy",
    args: ["dev", "--all", "--plan"],
    code: 2,
    message: /^Give an environment or --all, not both$/,
  },
  {
    name: "deploy: a lock timeout that is no duration",
    cleanBefore: true,
    task: "deploy",
    args: ["dev", "--plan", "--offline", "--lock-timeout", "soon"],
    code: 2,
    message: /^Invalid --lock-timeout "soon": use a duration such as 30s, 5m or 1h$/,
  },
  {
    name: "deploy: --config without its value",
    cleanBefore: true,
    task: "deploy",
    args: ["dev", "--config"],
    code: 2,
    message: /^Option "--config" of "deno task deploy" needs a value\. See: deno task deploy --help$/,
  },
  {
    name: "deploy: a value given to a boolean flag",
    cleanBefore: true,
    task: "deploy",
    args: ["dev", "--plan=yes"],
    code: 2,
    message: /^Option "--plan" of "deno task deploy" takes no value/,
  },
  {
    name: "tf: the main root without an environment",
    cleanBefore: true,
    task: "tf",
    args: ["main", "--", "plan"],
    code: 2,
    message: /^The main root needs an environment: one of dev, staging, prod$/,
  },
  {
    name: "tf: an environment for a shared root",
    cleanBefore: true,
    task: "tf",
    args: ["operations", "dev", "--", "plan"],
    code: 2,
    message: /^The operations root is shared by all environments; drop "dev"$/,
  },
  {
    name: "tf: no terraform command after --",
    cleanBefore: true,
    task: "tf",
    args: ["main", "dev"],
    code: 2,
    message: /^Give the terraform command after "--", e\.g\. deno task tf main dev -- plan$/,
  },
  {
    name: "promote: unknown target",
    cleanBefore: true,
    task: "promote",
    args: ["qa"],
    code: 2,
    message: /^Unknown target "qa"; valid choices: dev, staging, prod, status$/,
  },
  {
    name: "destroy: a shared stack",
    cleanBefore: true,
    task: "destroy",
    args: ["operations"],
    code: 2,
    message: /^The operations stack is shared by every environment .* use: deno task tf operations -- destroy$/,
  },
  {
    name: "destroy: --yes without --confirm is a usage error",
    cleanBefore: false,
    task: "destroy",
    args: ["dev", "--yes"],
    code: 2,
    message: /^--yes needs --confirm dev \(got none\): type the environment's name/,
  },
  {
    name: "destroy: --offline is not offered (it could only fail)",
    cleanBefore: false,
    task: "destroy",
    args: ["dev", "--offline"],
    code: 2,
    message: /^Unknown option "--offline" for "deno task destroy"/,
  },
  {
    name: "pipeline: unknown command",
    cleanBefore: true,
    task: "pipeline",
    args: ["launch"],
    code: 2,
    message: /^Unknown command "launch"; valid choices: definition, upsert, start, status, watch, upload-data, local$/,
  },
  {
    name: "pipeline: a command that needs an environment",
    cleanBefore: true,
    task: "pipeline",
    args: ["upsert"],
    code: 2,
    message:
      /^"deno task pipeline upsert" needs an environment: one of dev, staging, prod \(deno task pipeline upsert dev\)$/,
  },
  {
    name: "pipeline: definition without --image is a usage error",
    cleanBefore: false,
    task: "pipeline",
    args: ["definition", "dev"],
    code: 2,
    message: /^The pipeline of dev needs the image pinned by digest: pass --image .*or use --offline for placeholders$/,
  },
  {
    name: "pipeline: an image not pinned by digest",
    cleanBefore: true,
    task: "pipeline",
    args: ["definition", "--env", "dev", "--offline", "--image", "repo:latest"],
    code: 2,
    message: /^--image "repo:latest" is not pinned by digest: give <repository>@sha256:<64 hex>/,
  },
  {
    name: "pipeline: two different environments",
    cleanBefore: false,
    task: "pipeline",
    args: ["status", "dev", "--env", "prod"],
    code: 2,
    message: /^Give the environment once: "dev" and --env "prod" differ$/,
  },
  {
    name: "bench: --runs that is not a number",
    cleanBefore: false,
    task: "bench",
    args: ["--runs", "abc"],
    code: 2,
    message: /^Option "--runs" got "abc"; give a whole number of samples such as 7$/,
  },
  {
    name: "test: an unknown suite",
    cleanBefore: true,
    task: "test",
    args: ["--only", "unit"],
    code: 2,
    message: /^Option "--only" got "unit"; valid values: static, deno, terraform, python, e2e$/,
  },
  {
    name: "schema: takes no --config (it reads none)",
    cleanBefore: false,
    task: "schema",
    args: ["--config", "x.json"],
    code: 2,
    message: /^Unknown option "--config" for "deno task schema"/,
  },
  {
    name: "build: an unexpected argument",
    cleanBefore: true,
    task: "build",
    args: ["now"],
    code: 2,
    message: /^Unexpected argument "now" for "deno task build"\. Usage: deno task build/,
  },
  {
    name: "an AWS timeout that is not a number",
    cleanBefore: false,
    task: "deploy",
    args: ["dev", "--plan"],
    prepare: async (ws) => {
      await withFakeAws(ws);
      ws.env.MLOPS_AWS_TIMEOUT = "soon";
    },
    code: 2,
    message: /^Invalid MLOPS_AWS_TIMEOUT "soon": use a number of seconds such as 20$/,
  },

  // The config: exit 1, the field path, the value and what is expected.
  {
    name: "config: a malformed account id",
    cleanBefore: true,
    task: "deploy",
    args: ["dev", "--plan", "--offline"],
    prepare: async (ws) => {
      await writeConfig(ws.dir, (c) => (c.accounts.prod.id = "12345"));
    },
    code: 1,
    message:
      /^Invalid config "mlops\.config\.json": accounts\.prod\.id: "12345" is not a 12-digit AWS account id\. Fix it in mlops\.config\.json$/,
  },
  {
    name: "config: malformed JSON names line and column",
    cleanBefore: true,
    task: "deploy",
    args: ["dev", "--plan", "--offline"],
    prepare: (ws) => Deno.writeTextFile(`${ws.dir}/mlops.config.json`, '{\n  "name": "mlops",\n  oops\n}'),
    code: 1,
    message: /^Invalid config "mlops\.config\.json": malformed JSON at line 3, column 3/,
  },
  {
    name: "config: an unknown field lists the allowed ones",
    cleanBefore: true,
    task: "deploy",
    args: ["dev", "--plan", "--offline"],
    prepare: async (ws) => {
      await writeConfig(ws.dir, (c) => Object.assign(c.environments.dev, { runPipline: true }));
    },
    code: 1,
    message: /environments\.dev\.runPipline: unknown field; expected one of runPipeline,/,
  },
  {
    name: "config: promoting from itself",
    cleanBefore: true,
    task: "deploy",
    args: ["dev", "--plan", "--offline"],
    prepare: async (ws) => {
      await writeConfig(ws.dir, (c) => (c.environments.staging.promoteFrom = "staging"));
    },
    code: 1,
    message: /environments\.staging\.promoteFrom: "staging" cannot promote from itself/,
  },
  {
    name: "config: a missing file points to a fix that exists",
    cleanBefore: false,
    task: "deploy",
    args: ["dev", "--plan", "--offline"],
    prepare: (ws) => Deno.remove(`${ws.dir}/mlops.config.json`),
    code: 1,
    message:
      /^Invalid config "mlops\.config\.json": cannot be read: the file does not exist\. Run the task in the repository \(its mlops\.config\.json is the example to edit\), or pass --config <file>$/,
  },
  {
    name: "config: a directory given as the config",
    cleanBefore: false,
    task: "deploy",
    args: ["dev", "--plan", "--offline", "--config", "."],
    code: 1,
    message: /^Invalid config "\.": cannot be read: it is a directory\. /,
  },
  {
    name: "config: a region AWS does not have",
    cleanBefore: false,
    task: "deploy",
    args: ["dev", "--plan", "--offline"],
    prepare: async (ws) => {
      await writeConfig(ws.dir, (c) => (c.region = "eu-moon-1"));
    },
    code: 1,
    message: /region: "eu-moon-1" is not an AWS region the AWS SDK knows; use one such as eu-west-1/,
  },
  {
    name: "config: cross-field problems are listed with the others, at once",
    cleanBefore: false,
    task: "deploy",
    args: ["dev", "--plan", "--offline"],
    prepare: async (ws) => {
      await writeConfig(ws.dir, (c) => {
        c.name = "Bad Name";
        c.accounts.prod.id = c.accounts.dev.id;
      });
    },
    code: 1,
    message:
      /^Invalid config "mlops\.config\.json" \(2 problems\)\. Fix it in mlops\.config\.json:\n {2}- name: .*\n {2}- accounts\.prod\.id: "222222222222" is also the dev account/,
  },
  {
    name: "config: a UTF-8 byte order mark is accepted",
    cleanBefore: false,
    task: "pipeline",
    args: ["definition", "dev", "--offline"],
    prepare: async (ws) => {
      const text = await Deno.readTextFile(`${ws.dir}/mlops.config.json`);
      await Deno.writeTextFile(`${ws.dir}/mlops.config.json`, `\uFEFF${text}`);
    },
    code: 0,
    check: (run) => assert.equal((JSON.parse(run.stdout) as { Version: string }).Version, "2020-12-01"),
  },
  {
    name: "config: a relative --config is read from where the user typed it",
    cleanBefore: false,
    task: "doctor",
    args: ["--offline", "--json", "--config", "mine.json"],
    viaDenoTask: "sub",
    prepare: async (ws) => {
      await Deno.mkdir(`${ws.dir}/sub`);
      await writeConfig(`${ws.dir}/sub`, (c) => (c.name = "from-sub"));
      await Deno.rename(`${ws.dir}/sub/mlops.config.json`, `${ws.dir}/sub/mine.json`);
    },
    code: 0,
    check: (run, ws) => {
      const config = (JSON.parse(run.stdout) as { name: string; detail: string }[]).find((c) => c.name === "config");
      assert.equal(config?.detail, `${ws.dir}/sub/mine.json is valid`);
    },
  },
  {
    name: "config: a relative MLOPS_CONFIG is read from where the user typed it",
    cleanBefore: false,
    task: "doctor",
    args: ["--offline", "--json"],
    viaDenoTask: "sub",
    prepare: async (ws) => {
      await Deno.mkdir(`${ws.dir}/sub`);
      await writeConfig(`${ws.dir}/sub`);
      ws.env.MLOPS_CONFIG = "mlops.config.json";
      await Deno.remove(`${ws.dir}/mlops.config.json`);
    },
    code: 0,
    check: (run, ws) => {
      const config = (JSON.parse(run.stdout) as { name: string; detail: string }[]).find((c) => c.name === "config");
      assert.equal(config?.detail, `${ws.dir}/sub/mlops.config.json is valid`);
    },
  },

  // Tools and the file system.
  {
    name: "terraform missing from PATH says how to install it",
    cleanBefore: false,
    task: "deploy",
    args: ["dev", "--plan", "--offline"],
    links: ["terraform"],
    prepare: (ws) => {
      ws.env.PATH = `${ws.dir}/no-such-bin`;
      return Promise.resolve();
    },
    code: 1,
    message:
      /^Cannot run "terraform": it is not on PATH\. Install Terraform ≥ 1\.10 \(https:\/\/developer\.hashicorp\.com\/terraform\/install\), or add its directory to PATH, and re-run\.$/,
    mayChange: /^\.mlops\//,
    check: (run) => assert.doesNotMatch(run.stderr, DAX_NOT_FOUND),
  },
  {
    name: "a Terraform error keeps its whole sentences and carries a fix",
    cleanBefore: false,
    task: "deploy",
    args: ["dev", "--plan", "--offline"],
    links: ["terraform"],
    prepare: async (ws) => ws.path(await stubCommand(ws.dir, "terraform", TERRAFORM_ERROR)),
    code: 1,
    message:
      /^terraform plan failed in main-dev: Unsupported argument: An argument named "bucket_name" is not expected here\. Did you mean "bucket"\? Every argument of this resource is documented by the provider, and a misspelt one is never ignored\. Re-run with --debug for Terraform's full output\.$/,
    mayChange: /^(\.mlops\/|terraform\.calls)/,
  },
  {
    name: "the user's Terraform CLI configuration stays in force without a mirror",
    cleanBefore: false,
    task: "deploy",
    args: ["dev", "--plan", "--offline"],
    links: ["terraform"],
    prepare: async (ws) => {
      ws.path(await stubCommand(ws.dir, "terraform", TERRAFORM_RECORDING_ENV));
      Object.assign(ws.env, { TF_CLI_CONFIG_FILE: `${ws.dir}/corporate.tfrc` });
    },
    code: 0,
    mayChange: /^(\.mlops\/|terraform\.(calls|env))/,
    check: async (_run, ws) => {
      const seen = (await Deno.readTextFile(`${ws.dir}/terraform.env`)).trim().split("\n");
      assert.ok(seen.length >= 2, "init and plan ran");
      for (const line of seen) {
        assert.match(line, new RegExp(`^cli=${ws.dir}/corporate\\.tfrc cache=.*/\\.mlops/plugin-cache$`));
      }
    },
  },
  {
    name: "a provider mirror asked for gets the runner's CLI configuration",
    cleanBefore: true,
    task: "deploy",
    args: ["dev", "--plan", "--offline"],
    links: ["terraform"],
    prepare: async (ws) => {
      ws.path(await stubCommand(ws.dir, "terraform", TERRAFORM_RECORDING_ENV));
      await Deno.mkdir(`${ws.dir}/mirror/registry.terraform.io/hashicorp/aws`, { recursive: true });
      Object.assign(ws.env, {
        TF_CLI_CONFIG_FILE: `${ws.dir}/corporate.tfrc`,
        MLOPS_PROVIDER_MIRROR: `${ws.dir}/mirror`,
      });
    },
    code: 0,
    mayChange: /^(\.mlops\/|terraform\.(calls|env))/,
    check: async (_run, ws) => {
      const seen = (await Deno.readTextFile(`${ws.dir}/terraform.env`)).trim().split("\n");
      for (const line of seen) assert.match(line, /^cli=.*\/\.mlops\/offline\/main-dev\/cli\.tfrc /);
      const tfrc = await Deno.readTextFile(`${ws.dir}/.mlops/offline/main-dev/cli.tfrc`);
      assert.match(tfrc, new RegExp(`filesystem_mirror \\{\\n {4}path = "${ws.dir}/mirror"`));
    },
  },
  {
    name: "deploy checks the provider mirror's layout before running terraform",
    cleanBefore: false,
    task: "deploy",
    args: ["dev", "--plan", "--offline"],
    links: ["terraform"],
    prepare: async (ws) => {
      ws.path(await stubCommand(ws.dir, "terraform"));
      ws.env.MLOPS_PROVIDER_MIRROR = `${ws.dir}/empty-mirror`;
      await Deno.mkdir(`${ws.dir}/empty-mirror`);
    },
    code: 1,
    message:
      /^The provider mirror ".*\/empty-mirror" has no registry\.terraform\.io\/hashicorp\/aws; point MLOPS_PROVIDER_MIRROR \(or --provider-mirror\) at a directory in filesystem-mirror layout/,
    check: async (_run, ws) => assert.deepEqual(await stubCalls(ws.dir, "terraform"), [], "terraform never ran"),
  },
  {
    name: "demo with a wrong provider mirror fails at once instead of claiming no registry access",
    cleanBefore: false,
    task: "demo",
    args: [],
    links: ["terraform", "training-pipeline"],
    prepare: (ws) => {
      ws.env.MLOPS_PROVIDER_MIRROR = `${ws.dir}/nowhere`;
      return Promise.resolve();
    },
    code: 1,
    message: /^The provider mirror ".*\/nowhere" has no registry\.terraform\.io\/hashicorp\/aws/,
  },
  {
    name: "doctor reports a provider mirror without the AWS provider",
    cleanBefore: true,
    task: "doctor",
    args: ["--offline", "--provider-mirror", "/nonexistent-mirror"],
    code: 1,
    stream: "stdout",
    message: /provider mirror +FAIL +The provider mirror "\/nonexistent-mirror" has no registry\.terraform\.io/,
  },
  {
    name: "doctor fails on a Terraform older than 1.10",
    cleanBefore: true,
    task: "doctor",
    args: ["--offline"],
    prepare: async (ws) => ws.path(await stubCommand(ws.dir, "terraform", `echo '{"terraform_version":"1.9.8"}'`)),
    code: 1,
    stream: "stdout",
    message: /terraform +FAIL +1\.9\.8 is older than 1\.10\.0\. Install Terraform ≥ 1\.10/,
    mayChange: /^terraform\.calls$/,
  },
  {
    name: "a .mlops that cannot be written is one line, not a bug report",
    cleanBefore: false,
    task: "deploy",
    args: ["dev", "--plan", "--offline"],
    links: ["terraform"],
    prepare: async (ws) => {
      ws.path(await stubCommand(ws.dir, "terraform"));
      await Deno.writeTextFile(`${ws.dir}/.mlops`, "a file where the scratch directory belongs\n");
    },
    code: 1,
    message:
      /^Cannot write ".*\/\.mlops\/[^"]*": a file is in the way of a directory .*\.mlops\/ holds only scratch files/,
    check: (run) => assert.doesNotMatch(run.stderr, /please report it/),
  },
  {
    name: "a failed venv gives Python's own reason, not python3-venv",
    cleanBefore: false,
    task: "pipeline",
    args: ["local"],
    links: ["terraform", "training-pipeline"],
    prepare: async (ws) =>
      ws.path(await stubCommand(ws.dir, "python3", `echo "Error: [Errno 28] No space left on device" >&2; exit 1`)),
    code: 1,
    message:
      /^Cannot create a Python virtual environment in .*\/\.mlops\/venv: Error: \[Errno 28\] No space left on device\. Fix that/,
    mayChange: /^python3\.calls$/,
    check: (run) => assert.doesNotMatch(run.stderr, /python3-venv/),
  },
  {
    name: "a venv without ensurepip names python3-venv",
    cleanBefore: true,
    task: "pipeline",
    args: ["local"],
    links: ["terraform", "training-pipeline"],
    prepare: async (ws) =>
      ws.path(
        await stubCommand(
          ws.dir,
          "python3",
          `echo "The virtual environment was not created successfully because ensurepip is not available." >&2; exit 1`,
        ),
      ),
    code: 1,
    message: /Python's venv module is missing\. Install it \(Debian: apt-get install python3-venv\) and re-run\.$/,
    mayChange: /^python3\.calls$/,
  },

  {
    name: "test with a provider mirror that is not one fails up front",
    cleanBefore: false,
    task: "test",
    args: ["--only", "terraform", "--provider-mirror", "/nonexistent-mirror"],
    links: ["terraform"],
    code: 1,
    message: /^The provider mirror "\/nonexistent-mirror" has no registry\.terraform\.io\/hashicorp\/aws/,
  },

  // The dataset: checked before any Python runs, each problem naming the config field that fixes it.
  {
    name: "dataset: a missing label column names pipeline.dataset.labelColumn",
    cleanBefore: false,
    task: "pipeline",
    args: ["local"],
    links: ["training-pipeline"],
    prepare: async (ws) => {
      await writeConfig(ws.dir, (c) => (c.pipeline.dataset.labelColumn = "specialty"));
    },
    code: 1,
    message:
      /^The dataset ".*\/sample\.csv" has no column "specialty" \(its header has "text", "label"\); set pipeline\.dataset\.labelColumn in the config to one of them\.$/,
    check: (run) => assert.doesNotMatch(run.stderr, /--label-column/),
  },
  {
    name: "dataset: a directory is not called missing",
    cleanBefore: false,
    task: "pipeline",
    args: ["local"],
    links: ["training-pipeline"],
    prepare: async (ws) => {
      await Deno.mkdir(`${ws.dir}/data.csv`);
      await writeConfig(ws.dir, (c) => (c.pipeline.dataset.path = "data.csv"));
    },
    code: 1,
    message: /^The dataset ".*\/data\.csv" is a directory\. Set pipeline\.dataset\.path in the config to a CSV file\.$/,
  },
  {
    name: "dataset: random bytes give one short line",
    cleanBefore: false,
    task: "pipeline",
    args: ["local"],
    links: ["training-pipeline"],
    prepare: async (ws) => {
      const bytes = new Uint8Array(8192);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) % 256;
      await Deno.writeFile(`${ws.dir}/noise.csv`, bytes);
      await writeConfig(ws.dir, (c) => (c.pipeline.dataset.path = "noise.csv"));
    },
    code: 1,
    message:
      /^The dataset ".*\/noise\.csv" is not UTF-8 text; set pipeline\.dataset\.path to a CSV file with a header row\.$/,
    check: (run) => assert.ok(run.stderr.length < 400, `${run.stderr.length} characters`),
  },
  {
    // Before: the right line, but only after a minute of venv creation left in the workspace.
    name: "dataset: a missing file",
    cleanBefore: false,
    task: "pipeline",
    args: ["local"],
    links: ["training-pipeline"],
    prepare: async (ws) => {
      await writeConfig(ws.dir, (c) => (c.pipeline.dataset.path = "nowhere.csv"));
    },
    code: 1,
    message:
      /^The dataset ".*\/nowhere\.csv" does not exist\. Set pipeline\.dataset\.path in the config to a CSV file\.$/,
  },

  // AWS: the guard, credentials, odd answers and hung endpoints.
  {
    name: "the account guard refuses the wrong account before terraform runs",
    cleanBefore: true,
    task: "deploy",
    args: ["dev", "--yes"],
    links: ["terraform"],
    prepare: async (ws) => {
      const aws = await withFakeAws(ws);
      aws.identities.set("AKIDDEV", "999999999999");
      ws.path(await stubCommand(ws.dir, "terraform"));
    },
    code: 1,
    message:
      /^Cannot deploy "dev": profile "mlops-dev" belongs to account 999999999999 .* names 222222222222 for "dev"/,
    check: async (_run, ws) => assert.deepEqual(await stubCalls(ws.dir, "terraform"), []),
  },
  {
    name: "expired profile credentials say how to log in",
    cleanBefore: true,
    task: "deploy",
    args: ["dev", "--plan"],
    prepare: async (ws) => {
      const aws = await withFakeAws(ws);
      aws.expiredKeys.add("AKIDDEV");
    },
    code: 1,
    message:
      /^The credentials of profile "mlops-dev" for "dev" have expired\. Log in with: aws sso login --profile mlops-dev/,
  },
  {
    name: "expired environment credentials are worded for the environment",
    cleanBefore: false,
    task: "deploy",
    args: ["dev", "--plan", "--no-profile"],
    prepare: async (ws) => {
      const aws = await withFakeAws(ws);
      aws.expiredKeys.add("AKIDENV");
      Object.assign(ws.env, { AWS_ACCESS_KEY_ID: "AKIDENV", AWS_SECRET_ACCESS_KEY: "secret" });
    },
    code: 1,
    message: /^The environment's credentials for "dev" have expired\. Provide credentials in the environment/,
    check: (run) => assert.doesNotMatch(run.stderr, /credentials of the environment's credentials/),
  },
  {
    name: "an STS 500 with an HTML body says what came back",
    cleanBefore: false,
    task: "deploy",
    args: ["dev", "--plan"],
    prepare: async (ws) => {
      const aws = await withFakeAws(ws);
      aws.handle("sts", () => new Response("<html><body>Bad gateway</body></html>", { status: 500 }));
      ws.env.MLOPS_AWS_TIMEOUT = "5";
    },
    code: 1,
    message:
      /^Cannot check the identity of "dev" with profile "mlops-dev": the endpoint answered HTTP 500 with a body that is not an AWS response/,
    check: (run) => assert.doesNotMatch(run.stderr, /Unknown/),
  },
  {
    name: "a hung STS endpoint fails in bounded time, naming service, endpoint and timeout",
    cleanBefore: false,
    task: "deploy",
    args: ["dev", "--plan"],
    prepare: async (ws) => {
      await withFakeAws(ws);
      const endpoint = hungEndpoint(ws);
      hung.set("deploy", endpoint);
      Object.assign(ws.env, { AWS_ENDPOINT_URL_STS: endpoint.url, MLOPS_AWS_TIMEOUT: "1" });
    },
    code: 1,
    message:
      /^Cannot check the identity of "dev": STS at http:\/\/127\.0\.0\.1:\d+ did not answer within 1 s \(3 attempts\)\. .*MLOPS_AWS_TIMEOUT=<seconds> sets the limit\.$/,
    check: () => assert.equal(hung.get("deploy")!.connections(), 3, "the standard retry mode tried 3 times"),
  },
  {
    name: "doctor with a hung endpoint reports each account instead of hanging",
    cleanBefore: false,
    task: "doctor",
    args: [],
    prepare: async (ws) => {
      await withFakeAws(ws);
      Object.assign(ws.env, { AWS_ENDPOINT_URL_STS: hungEndpoint(ws).url, MLOPS_AWS_TIMEOUT: "1" });
    },
    code: 1,
    stream: "stdout",
    message:
      /aws prod +FAIL +Cannot check the identity of "prod": STS at http:\/\/127\.0\.0\.1:\d+ did not answer within 1 s/,
  },

  // Help texts.
  {
    // Every task's help (exit codes, no doubled brackets, no dead options) is checked in tests/tasks_test.ts.
    name: "help texts: test lists its choices once and offers no --config",
    cleanBefore: false,
    task: "test",
    args: ["--help"],
    code: 0,
    check: (run) => {
      assert.equal(
        run.stdout.match(/static, deno, terraform, python/g)?.length,
        1,
        "test --only lists its choices once",
      );
      assert.doesNotMatch(run.stdout, /--config/, "test reads no config");
    },
  },
];

/** Cases run this many at a time (the machine has two cores shared with others). */
const CONCURRENCY = 4;

function runAll(cases: Case[]): Promise<Awaited<ReturnType<typeof runCase>>>[] {
  const results = cases.map(() => Promise.withResolvers<Awaited<ReturnType<typeof runCase>>>());
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      await runCase(cases[i]).then(results[i].resolve, results[i].reject);
    }
  };
  for (let i = 0; i < CONCURRENCY; i++) worker();
  return results.map((r) => r.promise);
}

const filter = Deno.args.find((a) => a.startsWith("--case="))?.slice("--case=".length);
const selected = CASES.filter((c) => !filter || c.name.includes(filter));
const outcomes = runAll(selected);

selected.forEach((c, i) => {
  Deno.test({
    name: `bad input: ${c.name}`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const { run, ws, changed } = await outcomes[i];
      const all = `${run.stdout}\n${run.stderr}`;
      assert.equal(run.code, c.code, `exit code of ${c.task} ${c.args.join(" ")}\n${all}`);
      assert.doesNotMatch(all, /^\s+at .*\.(ts|js):\d+/m, "no stack trace without --debug");
      assert.doesNotMatch(all, /please report it/, "an expected failure is not reported as a bug");
      const errors = run.stderr.split("\n").filter((l) => l.startsWith("error: "));
      // Doctor reports in its table on stdout, with no error line; every other failure has exactly one.
      const expected = c.code === 0 || c.stream === "stdout" ? 0 : 1;
      assert.equal(errors.length, expected, `${expected} error line(s)\n${run.stderr}`);
      if (c.message) {
        if ((c.stream ?? "stderr") === "stdout") {
          assert.ok(run.stdout.split("\n").some((l) => c.message!.test(l)), `${c.message} in\n${run.stdout}`);
        } else {
          const error = run.stderr.slice(run.stderr.indexOf("error: ") + "error: ".length).trimEnd();
          assert.match(error, c.message);
        }
      }
      assert.deepEqual(changed, [], `nothing in the workspace changed: ${changed.join(", ")}\n${all}`);
      await c.check?.(run, ws);
      await Deno.remove(ws.dir, { recursive: true }).catch(() => {});
    },
  });
});

/** Types Ctrl-C into `deno task deploy dev --plan --offline` on a pseudo-terminal. */
async function interruptOnTerminal(
  interrupts: number,
): Promise<{ code: number; secondsAfterLastInterrupt: number; output: string; signals: string[]; released: boolean }> {
  const ws = await workspace([]);
  await Deno.mkdir(`${ws.dir}/terraform/main`, { recursive: true });
  await Deno.writeTextFile(`${ws.dir}/terraform/main/main.tf`, "");
  await writeTaskConfig(ws.dir);
  const bin = `${ws.dir}/bin`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(
    `${bin}/terraform`,
    `#!/usr/bin/env bash\nexec python3 "${REPO}/tests/signal_recorder.py" "${ws.dir}" "$@"\n`,
    { mode: 0o755 },
  );
  ws.path(bin);
  const output = await new Deno.Command("python3", {
    args: [
      `${REPO}/tests/pty_run.py`,
      ws.dir,
      `${ws.dir}/planning`,
      String(interrupts),
      "1",
      "60",
      "--",
      Deno.execPath(),
      "task",
      "deploy",
      "dev",
      "--plan",
      "--offline",
    ],
    env: ws.env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const result = JSON.parse(new TextDecoder().decode(output.stdout));
  const signals = await Deno.readTextFile(`${ws.dir}/signals`).then((t) => t.trim().split("\n"), () => []);
  const released = await Deno.stat(`${ws.dir}/released`).then(() => true, () => false);
  await Deno.remove(ws.dir, { recursive: true });
  return { ...result, signals, released };
}

Deno.test("bad input: one Ctrl-C on a terminal under deno task reaches terraform once; it releases its lock", async () => {
  const run = await interruptOnTerminal(1);
  assert.equal(run.code, 130, run.output);
  assert.equal(run.signals.length, 1, `terraform got exactly one interrupt:\n${run.signals.join("\n")}\n${run.output}`);
  assert.ok(run.released, "terraform stopped cleanly and released its lock");
  assert.match(run.output, /error: Interrupted: "terraform" stopped\. Re-run the same command to continue\./);
  assert.doesNotMatch(run.output, /Interrupted again|picks up where the accounts are/);
});

Deno.test("bad input: a second Ctrl-C on a terminal stops at once", async () => {
  const run = await interruptOnTerminal(2);
  assert.equal(run.code, 130, run.output);
  assert.ok(run.signals.length >= 2, `terraform got the second interrupt:\n${run.output}`);
  assert.equal(run.released, false, "stopped at once, not after the clean stop");
  assert.ok(run.secondsAfterLastInterrupt < 1.5, `ended ${run.secondsAfterLastInterrupt} s after the second Ctrl-C`);
  assert.match(run.output, /Interrupted again: stopping child processes now\./);
});

/** The two interrupt cases above: before the fix a second Ctrl-C already stopped at once; one Ctrl-C did not. */
const INTERRUPT_CASES = { total: 2, cleanBefore: 1 };

Deno.test("bad input: the suite has at least 45 cases", () => {
  const total = CASES.length + INTERRUPT_CASES.total;
  assert.ok(total >= 45, `${total} cases`);
  assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length, "case names are unique");
  const clean = CASES.filter((c) => c.cleanBefore).length + INTERRUPT_CASES.cleanBefore;
  console.log(`bad-input cases: ${total}; clean before the fixes: ${clean}`);
});
