import assert from "node:assert/strict";
import { compileArgs, exclusiveLock, installArgs } from "./python_env.ts";
import { REPO } from "../tests/helpers.ts";

const DIR = `${REPO}/training-pipeline`;
const LOCKS = { "requirements.txt": "requirements-lock.txt", "requirements-dev.txt": "requirements-dev-lock.txt" };

/** name → version of every `name==version` line (includes followed). */
function pins(file: string): Map<string, string> {
  const text = Deno.readTextFileSync(file);
  const found = new Map<string, string>();
  for (const include of text.matchAll(/^-r\s+(\S+)/gm)) {
    for (const [k, v] of pins(`${file.replace(/[^/]+$/, "")}${include[1]}`)) found.set(k, v);
  }
  for (const m of text.matchAll(/^([A-Za-z0-9._-]+)==(\S+)/gm)) found.set(m[1].toLowerCase().replace(/_/g, "-"), m[2]);
  return found;
}

/** Runs pip's resolver over `lock` without installing; hashes are checked on the downloaded wheels. */
async function pipDryRun(lock: string, extra: string[] = []): Promise<{ code: number; stderr: string }> {
  const args = installArgs(lock).filter((a) => a !== "--no-deps");
  const out = await new Deno.Command("python3", {
    args: [...args.slice(0, 3), "--dry-run", "--ignore-installed", ...extra, ...args.slice(3)],
    env: { PIP_RETRIES: "0", PIP_DISABLE_PIP_VERSION_CHECK: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("each lock pins its requirements file's top-level packages at the same versions, every line hashed", () => {
  for (const [source, lock] of Object.entries(LOCKS)) {
    const wanted = pins(`${DIR}/${source}`);
    const locked = pins(`${DIR}/${lock}`);
    assert.ok(wanted.has("gunicorn"), "gunicorn is a runtime requirement (the inference server)");
    for (const [name, version] of wanted) assert.equal(locked.get(name), version, `${lock}: ${name}`);
    assert.ok(locked.size > wanted.size, `${lock} holds the transitive packages too`);
    const lines = Deno.readTextFileSync(`${DIR}/${lock}`).split("\n").filter((l) => l && !l.startsWith("#"));
    for (const line of lines) assert.match(line, /^[a-z0-9.-]+==\S+ --hash=sha256:[0-9a-f]{64}$/, line);
  }
});

Deno.test("the image installs only the hashed lock, on a base image pinned by digest", () => {
  const dockerfile = Deno.readTextFileSync(`${DIR}/Dockerfile`);
  assert.match(dockerfile, /^FROM python:[\d.]+-slim-bookworm@sha256:[0-9a-f]{64}$/m);
  const installs = dockerfile.replace(/\s*\\\n\s*/g, " ").split("\n").filter((l) => /pip install/.test(l));
  assert.equal(installs.length, 1, installs.join("\n"));
  assert.match(installs[0], /--require-hashes --no-deps .*-r \/opt\/program\/requirements-lock\.txt && pip check/);
});

Deno.test("pip takes the lock as the whole dependency tree and refuses a wheel whose hash differs", async () => {
  const lock = `${DIR}/requirements-lock.txt`;
  const whole = await pipDryRun(lock);
  assert.equal(whole.code, 0, `without --no-deps pip found nothing missing from the lock: ${whole.stderr}`);

  const dir = await Deno.makeTempDir();
  const text = Deno.readTextFileSync(lock);
  const tampered = text.replace(/^(numpy==\S+ --hash=sha256:)(.)/m, (_, head, c) => head + (c === "0" ? "1" : "0"));
  assert.notEqual(tampered, text);
  await Deno.writeTextFile(`${dir}/tampered.txt`, tampered);
  const refused = await pipDryRun(`${dir}/tampered.txt`);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /THESE PACKAGES DO NOT MATCH THE HASHES/);

  await Deno.writeTextFile(`${dir}/incomplete.txt`, text.replace(/^scipy==.*\n/m, ""));
  const incomplete = await pipDryRun(`${dir}/incomplete.txt`);
  assert.notEqual(incomplete.code, 0);
  assert.match(incomplete.stderr, /scipy/);
});

Deno.test("exclusiveLock: one holder at a time, the others wait their turn, and no lock file is left", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/venv.lock`;
  const events: string[] = [];
  const hold = async (name: string) => {
    await using _lock = await exclusiveLock(path);
    events.push(`${name} in`);
    await new Promise((resolve) => setTimeout(resolve, 30));
    events.push(`${name} out`);
  };
  await Promise.all(["a", "b", "c"].map(hold));
  assert.equal(events.length, 6);
  for (let i = 0; i < events.length; i += 2) {
    assert.equal(events[i].replace(" in", " out"), events[i + 1], `no one entered while ${events[i]}: ${events}`);
  }
  assert.deepEqual([...Deno.readDirSync(dir)], [], "the lock file is removed on release");
});

Deno.test("the venv's packages are byte-compiled after install, all but their own test suites", () => {
  assert.ok(installArgs("lock.txt").includes("--no-compile"), "pip leaves compiling to compileall");
  const args = compileArgs("/v");
  assert.deepEqual(args.slice(0, 2), ["-m", "compileall"]);
  assert.equal(args.at(-1), "/v/lib");
  const exclude = new RegExp(args[args.indexOf("-x") + 1]);
  for (
    const path of ["/v/lib/python3.11/site-packages/pandas/tests/frame/test_api.py", "/v/lib/x/scipy/io/test/t.py"]
  ) {
    assert.match(path, exclude, path);
  }
  for (const path of ["/v/lib/python3.11/site-packages/numpy/testing/utils.py", "/v/lib/x/sklearn/utils/_testing.py"]) {
    assert.doesNotMatch(path, exclude, `${path} is library code`);
  }
});
