/**
 * The task conventions, tested on the real entry points as processes.
 */
import assert from "node:assert/strict";
import { FakeAws } from "./fake_aws.ts";
import {
  exists,
  isolatedEnv,
  REPO,
  runTask,
  spawnTask,
  stubCalls,
  stubCommand,
  waitUntil,
  writeConfig,
  writeProfiles,
} from "./helpers.ts";

const denoJson = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)) as {
  tasks: Record<string, { description: string; command: string }>;
};
const REQUIRED_TASKS = [
  "bootstrap",
  "deploy",
  "destroy",
  "build",
  "pipeline",
  "promote",
  "serve",
  "doctor",
  "tf",
  "demo",
  "test",
  "bench",
];

Deno.test("deno.json defines every task with a description, and `deno task` lists them", async () => {
  for (const name of REQUIRED_TASKS) {
    assert.ok(denoJson.tasks[name], `task ${name} is defined`);
    assert.ok(denoJson.tasks[name].description.length > 10, `task ${name} has a description`);
  }
  const listing = await new Deno.Command(Deno.execPath(), {
    args: ["task"],
    cwd: REPO,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(listing.stdout) + new TextDecoder().decode(listing.stderr);
  for (const [name, task] of Object.entries(denoJson.tasks)) {
    assert.ok(text.includes(`- ${name}`) && text.includes(task.description), `deno task lists ${name}`);
  }
});

Deno.test("every task answers --help with usage, an example and its exit codes, exit 0; no dead options", async () => {
  const names = Object.keys(denoJson.tasks);
  const runs = await Promise.all(names.map((name) => runTask(name, ["--help"])));
  runs.forEach((run, i) => {
    assert.equal(run.code, 0, `${names[i]} --help: ${run.stderr}`);
    assert.match(run.stdout, new RegExp(`Usage: deno task ${names[i]}`), names[i]);
    assert.match(run.stdout, new RegExp(`Examples:\\n {2}deno task ${names[i]}`), names[i]);
    assert.match(run.stdout, /Exit codes: /, `${names[i]} --help lists its exit codes`);
    assert.doesNotMatch(run.stdout, /\)\s*\(/, `${names[i]} --help has no doubled brackets`);
  });
  const help = (name: string) => runs[names.indexOf(name)].stdout;
  assert.doesNotMatch(help("destroy"), /--offline/, "destroy offers no --offline (it could only fail)");
  assert.doesNotMatch(help("schema"), /--config/, "schema offers no --config (it reads none)");
});

Deno.test("an unknown environment is a usage error (exit 2) that names the valid ones", async () => {
  const run = await runTask("deploy", ["nosuchenv"], { env: { NO_COLOR: "1" } });
  assert.equal(run.code, 2);
  assert.equal(run.stderr.trim(), 'error: Unknown env "nosuchenv"; valid choices: dev, staging, prod');
});

Deno.test("a bad config fails with one line naming the field path (exit 1)", async () => {
  const dir = await Deno.makeTempDir();
  const config = await writeConfig(dir, (c) => {
    c.accounts.prod.id = "12345";
  });
  const run = await runTask("deploy", ["dev", "--plan", "--offline", "--config", config], { env: { NO_COLOR: "1" } });
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr.trim(),
    `error: Invalid config "${config}": accounts.prod.id: "12345" is not a 12-digit AWS account id. Fix it in ${config}`,
  );
  await Deno.writeTextFile(config, '{\n  "name": "mlops",\n  oops\n}');
  const broken = await runTask("doctor", ["--offline", "--config", config], { env: { NO_COLOR: "1" } });
  assert.equal(broken.code, 1);
  assert.match(broken.stdout, /malformed JSON at line 3, column 3/);
});

Deno.test("failures are one line without --debug; --debug adds the stack trace", async () => {
  const dir = await Deno.makeTempDir();
  const args = ["dev", "--plan", "--offline"];
  const plain = await runTask("deploy", args, { env: { NO_COLOR: "1" }, cwd: dir });
  assert.equal(plain.code, 1);
  assert.equal(
    plain.stderr.trim(),
    'error: Invalid config "mlops.config.json": cannot be read: the file does not exist. Run the task in the repository (its mlops.config.json is the example to edit), or pass --config <file>',
  );
  const debug = await runTask("deploy", [...args, "--debug"], { env: { NO_COLOR: "1" }, cwd: dir });
  assert.equal(debug.code, 1);
  assert.match(debug.stderr, /ConfigError: Invalid config[^\n]*\n\s+at .*config\.ts:\d+/, "stack trace shown");
});

Deno.test("the account guard refuses the wrong account before any terraform process starts", async () => {
  const home = await Deno.makeTempDir();
  await writeProfiles(home, { "mlops-operations": "AKIDOPS", "mlops-dev": "AKIDDEV" });
  await using fake = await FakeAws.start();
  fake.identities.set("AKIDDEV", "999999999999");
  const bin = await stubCommand(home, "terraform");
  const env = { ...isolatedEnv(home), ...fake.endpointEnv(), PATH: `${bin}:${Deno.env.get("PATH")}` };
  const run = await runTask("deploy", ["dev", "--yes"], { env, clearEnv: true });
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /error: Cannot deploy "dev": profile "mlops-dev" belongs to account 999999999999 .* names 222222222222 for "dev"/,
  );
  assert.deepEqual(await stubCalls(home, "terraform"), [], "terraform never ran");
  assert.equal(fake.callsTo("sts", "GetCallerIdentity").length, 1);

  const tf = await runTask("tf", ["main", "dev", "--", "state", "list"], { env, clearEnv: true });
  assert.equal(tf.code, 1);
  assert.deepEqual(await stubCalls(home, "terraform"), [], "tf is guarded too");
});

Deno.test("an interrupted task sends SIGINT to its child, waits for it and exits 130", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/terraform/main`, { recursive: true });
  await Deno.writeTextFile(`${dir}/terraform/main/main.tf`, "");
  await writeConfig(dir);
  // A terraform stand-in whose plan runs until interrupted, then cleans up like terraform releasing its lock.
  const bin = await stubCommand(
    dir,
    "terraform",
    `case "$*" in
  *" plan "*) trap 'echo "SIGINT received, lock released" > "${dir}/interrupted"; exit 1' INT
     echo planning > "${dir}/planning"; for i in $(seq 1 300); do sleep 0.1; done; exit 0 ;;
  *) exit 0 ;;
esac`,
  );
  const child = spawnTask("deploy", ["dev", "--plan", "--offline"], {
    cwd: dir,
    env: { ...isolatedEnv(dir), PATH: `${bin}:${Deno.env.get("PATH")}` },
    clearEnv: true,
  });
  assert.ok(await waitUntil(() => exists(`${dir}/planning`)), "terraform plan started");
  child.kill("SIGINT");
  const output = await child.output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 130, stderr);
  assert.equal((await Deno.readTextFile(`${dir}/interrupted`)).trim(), "SIGINT received, lock released");
  assert.match(stderr, /Interrupted: .* Re-run the same command to continue/);
});

// Doctor failing on an old Terraform: tests/bad_input_test.ts.
Deno.test("doctor --offline reports what is there", async () => {
  const dir = await Deno.makeTempDir();
  await writeConfig(dir);
  const ok = await runTask("doctor", ["--offline", "--json"], { cwd: dir, env: isolatedEnv(dir), clearEnv: true });
  const checks = JSON.parse(ok.stdout) as { name: string; status: string; detail: string }[];
  const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
  assert.equal(byName.deno.detail, Deno.version.deno);
  assert.equal(byName.config.status, "ok");
  assert.equal(byName["aws accounts"].detail, "skipped (--offline)");
  assert.equal(ok.code, checks.some((c) => c.status === "fail") ? 1 : 0);
});
