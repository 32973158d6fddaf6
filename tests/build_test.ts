/**
 * `deno task build` end to end: the real task process, the real AWS SDK
 * against fake STS and ECR, and a recording stand-in for `docker` on PATH
 * (no Docker engine runs here). The stand-in records its arguments and what
 * `docker login` read on stdin, and "pushes" by appending the reference to
 * the fake ECR's push log, which makes the image exist with a digest.
 */
import assert from "node:assert/strict";
import { FakeAws } from "./fake_aws.ts";
import { FakeEcr } from "./fake_services.ts";
import { copyTree, isolatedEnv, REPO, runTask, stubCalls, stubCommand, writeConfig, writeProfiles } from "./helpers.ts";

const REGISTRY = "111111111111.dkr.ecr.eu-west-1.amazonaws.com";
const REPOSITORY = "mlops/training";

/** The `docker` stand-in: flags in `dir` (docker.down, push.race) change what it does. */
function dockerStandIn(dir: string): string {
  return `case "$1" in
  info)
    if [ -e "${dir}/docker.down" ]; then
      echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
      exit 1
    fi
    echo 28.2.2 ;;
  login) { cat; echo; } >> "${dir}/docker.stdin"; echo "Login Succeeded" ;;
  build) echo "Successfully built (stand-in)" ;;
  push)
    echo "$2" >> "${dir}/registry.pushes"
    if [ -e "${dir}/push.race" ]; then
      echo "tag invalid: The image tag already exists and cannot be overwritten because the repository is immutable." >&2
      exit 1
    fi
    echo "pushed $2" ;;
esac`;
}

async function workspace(options: { repository?: boolean } = {}) {
  const dir = await Deno.makeTempDir();
  await writeConfig(dir);
  await writeProfiles(dir, { "mlops-operations": "AKIDOPS" });
  await copyTree(`${REPO}/training-pipeline`, `${dir}/training-pipeline`, ["__pycache__", ".pytest_cache"]);
  const aws = await FakeAws.start();
  aws.identities.set("AKIDOPS", "111111111111");
  const ecr = new FakeEcr(aws, { pushLog: `${dir}/registry.pushes` });
  if (options.repository ?? true) ecr.createRepository(REPOSITORY);
  const bin = await stubCommand(dir, "docker", dockerStandIn(dir));
  const env = { ...isolatedEnv(dir), ...aws.endpointEnv(), PATH: `${bin}:${Deno.env.get("PATH")}` };
  const build = (args: string[] = []) => runTask("build", args, { cwd: dir, env, clearEnv: true });
  const docker = async (command?: string) =>
    (await stubCalls(dir, "docker")).filter((line) => !command || line.startsWith(`${command} `));
  return { dir, aws, ecr, build, docker };
}

interface BuildJson {
  tag: string;
  digest: string;
  built: boolean;
  imageUri: string;
}

Deno.test("the first build builds and pushes once and prints the digest; an unchanged context builds nothing", async () => {
  const { aws, ecr, build, docker } = await workspace();
  try {
    const first = await build(["--json"]);
    assert.equal(first.code, 0, first.stderr);
    const result = JSON.parse(first.stdout) as BuildJson;
    assert.match(result.tag, /^[0-9a-f]{32}$/);
    assert.equal(result.built, true);
    assert.equal(result.digest, ecr.digest(REPOSITORY, result.tag), "the digest the registry holds");
    assert.equal(result.imageUri, `${REGISTRY}/${REPOSITORY}@${result.digest}`);
    const ref = `${REGISTRY}/${REPOSITORY}:${result.tag}`;
    assert.deepEqual(await docker(), [
      "info --format {{.ServerVersion}}",
      `login --username AWS --password-stdin ${REGISTRY}`,
      `build --platform linux/amd64 -t ${ref} training-pipeline`,
      `push ${ref}`,
    ]);
    assert.match(first.stderr, new RegExp(`Pushed ${ref} \\(${result.digest}\\)`));

    const again = await build();
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), result.imageUri, "prints the image pinned by digest");
    assert.match(again.stderr, new RegExp(`Found ${ref} \\(${result.digest}\\); nothing to build`));
    assert.equal((await docker()).length, 4, "no docker call at all the second time");
    assert.equal(aws.callsTo("ecr", "GetAuthorizationToken").length, 1, "no second login");
  } finally {
    await aws.close();
  }
});

Deno.test("files the .dockerignore keeps out do not change the tag; src/ does", async () => {
  const { dir, aws, build, docker } = await workspace();
  try {
    const first = JSON.parse((await build(["--json"])).stdout) as BuildJson;
    await Deno.writeTextFile(`${dir}/training-pipeline/tests/test_new.py`, "def test_more(): pass\n");
    await Deno.writeTextFile(`${dir}/training-pipeline/README.md`, "# notes\n");
    await Deno.writeTextFile(`${dir}/training-pipeline/data/extra.csv`, "text,label\nx,1\n");
    await Deno.mkdir(`${dir}/training-pipeline/src/__pycache__`);
    await Deno.writeTextFile(`${dir}/training-pipeline/src/__pycache__/train.cpython-311.pyc`, "bytecode");
    const unrelated = await build(["--json"]);
    assert.equal(unrelated.code, 0, unrelated.stderr);
    assert.equal((JSON.parse(unrelated.stdout) as BuildJson).tag, first.tag);
    assert.equal((await docker("build")).length, 1, "still one build");

    await Deno.writeTextFile(`${dir}/training-pipeline/src/train.py`, "\n# a change\n", { append: true });
    const changed = await build(["--json"]);
    assert.equal(changed.code, 0, changed.stderr);
    const second = JSON.parse(changed.stdout) as BuildJson;
    assert.notEqual(second.tag, first.tag);
    assert.equal(second.built, true);
    assert.notEqual(second.digest, first.digest);
    assert.equal((await docker("build")).length, 2);
  } finally {
    await aws.close();
  }
});

Deno.test("the ECR password reaches docker login on stdin only, never any output (--debug included)", async () => {
  const { dir, aws, ecr, build, docker } = await workspace();
  try {
    const run = await build(["--debug", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /debug: \$ docker login --username AWS --password-stdin /, "debug shows argv");
    for (const secret of [ecr.password, ecr.authorizationToken]) {
      assert.ok(!run.stdout.includes(secret), "not on stdout");
      assert.ok(!run.stderr.includes(secret), "not on stderr");
      assert.ok(!(await docker()).some((line) => line.includes(secret)), "not in docker's arguments");
    }
    assert.equal(await Deno.readTextFile(`${dir}/docker.stdin`), `${ecr.password}\n`, "login read it on stdin");
  } finally {
    await aws.close();
  }
});

Deno.test("a missing repository fails with one line pointing at bootstrap, before docker runs", async () => {
  const { aws, build, docker } = await workspace({ repository: false });
  try {
    const run = await build();
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr.trim().split("\n").at(-1),
      'error: The image repository "mlops/training" does not exist in the operations account (111111111111) yet. Create it with: deno task bootstrap',
    );
    assert.ok(!run.stderr.includes("unexpected"), "an expected failure");
    assert.deepEqual(await docker(), []);
    assert.equal(aws.callsTo("ecr", "GetAuthorizationToken").length, 0);
  } finally {
    await aws.close();
  }
});

Deno.test("credentials of the wrong account are refused before any ECR call", async () => {
  const { aws, build, docker } = await workspace();
  try {
    aws.identities.set("AKIDOPS", "999999999999");
    const run = await build();
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /error: Cannot build the image in "operations": profile "mlops-operations" belongs to account 999999999999 .* names 111111111111 for "operations"/,
    );
    assert.equal(aws.callsTo("ecr").length, 0);
    assert.deepEqual(await docker(), []);
  } finally {
    await aws.close();
  }
});

Deno.test("no running Docker engine: a clear error before any registry login", async () => {
  const { dir, aws, build, docker } = await workspace();
  try {
    await Deno.writeTextFile(`${dir}/docker.down`, "");
    const run = await build();
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr.trim().split("\n").at(-1),
      "error: Cannot build the image: no Docker engine is running (docker info: Cannot connect to the Docker daemon at " +
        "unix:///var/run/docker.sock. Is the docker daemon running?). Start Docker and re-run deno task build.",
    );
    assert.deepEqual(await docker(), ["info --format {{.ServerVersion}}"]);
    assert.equal(aws.callsTo("ecr", "GetAuthorizationToken").length, 0);
  } finally {
    await aws.close();
  }
});

Deno.test("a push that loses the race to another build of the same content uses the tag already there", async () => {
  const { dir, aws, ecr, build } = await workspace();
  try {
    await Deno.writeTextFile(`${dir}/push.race`, "");
    const run = await build(["--json"]);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as BuildJson;
    assert.equal(result.built, false);
    assert.equal(result.digest, ecr.digest(REPOSITORY, result.tag));
    assert.match(run.stderr, /was pushed by another build meanwhile; using its digest/);
  } finally {
    await aws.close();
  }
});
