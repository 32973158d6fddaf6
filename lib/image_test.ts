import assert from "node:assert/strict";
import { TaskError } from "./cli.ts";
import { contextFiles, decodeAuthorizationToken, DockerIgnore, hashContext, redact, TAG_LENGTH } from "./image.ts";
import { REPO } from "../tests/helpers.ts";

const PROJECT_IGNORE = await Deno.readTextFile(`${REPO}/training-pipeline/.dockerignore`);

/** Writes `files` (path → contents) under a new temporary directory, in the given order. */
async function tree(files: [string, string][]): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const [path, text] of files) {
    await Deno.mkdir(`${dir}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/${path}`, text);
  }
  return dir;
}

Deno.test("the project's .dockerignore keeps the hashed lock and src/, and nothing else", () => {
  const ignore = DockerIgnore.parse(PROJECT_IGNORE);
  const kept = ["requirements-lock.txt", "src", "src/train.py", "src/train", "src/deep/module.py"];
  const ignored = [
    "Dockerfile",
    ".dockerignore",
    "requirements-dev.txt",
    "requirements.txt",
    "requirements-dev-lock.txt",
    "lock.py",
    "README.md",
    "tests",
    "tests/test_train.py",
    "data/sample.csv",
    "src/__pycache__",
    "src/__pycache__/train.cpython-311.pyc",
    "src/stray.pyc",
    "src/deep/__pycache__/x.py",
    "__pycache__",
  ];
  for (const path of kept) assert.equal(ignore.ignores(path), false, path);
  for (const path of ignored) assert.equal(ignore.ignores(path), true, path);
});

Deno.test(".dockerignore: later rules win, ! re-includes, a matching directory covers its contents", () => {
  const ignore = DockerIgnore.parse("*.md\n!README.md\nREADME*\n!docs/README.md\nbuild\n");
  assert.equal(ignore.ignores("NOTES.md"), true);
  assert.equal(ignore.ignores("README.md"), true, "README* comes after !README.md");
  assert.equal(ignore.ignores("docs/README.md"), false, "not matched by *.md (no / crossing)");
  assert.equal(ignore.ignores("build/out/x.bin"), true, "a parent directory matches");
  assert.equal(ignore.ignores("rebuild/x"), false);
  const reinclude = DockerIgnore.parse("logs\n!logs/keep.txt\n");
  assert.equal(reinclude.ignores("logs/a.txt"), true);
  assert.equal(reinclude.ignores("logs/keep.txt"), false);
});

Deno.test(".dockerignore syntax: comments, blanks, leading slash, cleaning, **, ? and escapes", () => {
  const ignore = DockerIgnore.parse(
    "\uFEFF# a comment\n\n  /top.txt  \n./a//b/../c/\n**/*.pyc\nsrc/**\nx/**/y\nfile?.txt\n\\*star\n[ab].log\n! keep/me\n",
  );
  assert.deepEqual(ignore.exclusions, ["keep/me"]);
  const cases: [string, boolean][] = [
    ["top.txt", true],
    ["sub/top.txt", false],
    ["a/c/d", true],
    ["m.pyc", true],
    ["deep/er/m.pyc", true],
    ["m.pyc.txt", false],
    ["src/a/b", true],
    ["x/y", true],
    ["x/1/2/y", true],
    ["x/yz", false],
    ["file1.txt", true],
    ["file12.txt", false],
    ["file/.txt", false],
    ["*star", true],
    ["astar", false],
    ["a.log", true],
    ["c.log", false],
    ["# a comment", false],
    ["keep/me", false],
    ["README.md", false],
  ];
  for (const [path, ignored] of cases) assert.equal(ignore.ignores(path), ignored, path);
  assert.equal(DockerIgnore.parse(" #not-a-comment").ignores("#not-a-comment"), true);
  assert.throws(() => DockerIgnore.parse("ok\n[unclosed\n", "x/.dockerignore"), (error: Error) => {
    assert.ok(error instanceof TaskError);
    assert.equal(error.message, 'Invalid pattern "[unclosed" at line 2 of x/.dockerignore. Fix the pattern.');
    return true;
  });
});

Deno.test(".dockerignore: ignored directories are skipped unless a ! rule could reach inside", () => {
  const ignore = DockerIgnore.parse(PROJECT_IGNORE);
  assert.equal(ignore.canSkip("data"), true);
  assert.equal(ignore.canSkip("tests"), true);
  assert.equal(ignore.canSkip("src/__pycache__"), true);
  assert.equal(DockerIgnore.parse("*\n!data/keep.csv").canSkip("data"), false);
  assert.equal(DockerIgnore.parse("*\n!**/keep.csv").canSkip("data"), false, "a wildcard exception may match anywhere");
  assert.equal(DockerIgnore.parse("data").canSkip("data"), true);
});

Deno.test("the same context gives the tag it gave with the home-made .dockerignore parser", async () => {
  // Computed by the parser this project carried before it used @balena/dockerignore: the library must keep
  // every tag already in the registry valid, or each environment would rebuild an identical image.
  const dir = await tree([
    ["Dockerfile", "FROM python:3.11\nCOPY src/ /opt/program/\n"],
    [
      ".dockerignore",
      "# allow-list\n*\n!requirements-lock.txt\n!src/\n**/__pycache__\n**/*.pyc\nsrc/**/*.md\n!src/keep.md\n",
    ],
    ["requirements-lock.txt", "numpy==2.4.6 --hash=sha256:89cd\n"],
    ["src/train", "#!/usr/bin/env python3\n"],
    ["src/train.py", "print('train')\n"],
    ["src/keep.md", "kept\n"],
    ["src/notes.md", "dropped\n"],
    ["src/deep/module.py", "X = 1\n"],
    ["src/deep/README.md", "dropped\n"],
    ["src/__pycache__/train.cpython-311.pyc", "bytecode"],
    ["src/deep/m.pyc", "bytecode"],
    ["tests/test_train.py", "def test(): pass\n"],
    ["data/sample.csv", "a,b\n"],
    ["README.md", "# readme\n"],
  ]);
  await Deno.chmod(`${dir}/src/train`, 0o755);
  const context = await hashContext(dir);
  assert.deepEqual(context.files.map((f) => `${f.mode} ${f.path}`), [
    "100644 Dockerfile",
    "100644 requirements-lock.txt",
    "100644 src/deep/module.py",
    "100644 src/keep.md",
    "100755 src/train",
    "100644 src/train.py",
  ]);
  assert.equal(context.tag, "9e8d9b113750e93f957da96d16641de6");
});

Deno.test("the context hash covers the Dockerfile and the kept files; ignored files never change it", async () => {
  const files: [string, string][] = [
    ["Dockerfile", "FROM python:3.11\nCOPY src/ /opt/program/\n"],
    [".dockerignore", PROJECT_IGNORE],
    ["requirements-lock.txt", "numpy==2.4.6 --hash=sha256:89cd\n"],
    ["src/train.py", "print('train')\n"],
    ["src/common.py", "X = 1\n"],
    ["tests/test_train.py", "def test(): pass\n"],
  ];
  const dir = await tree(files);
  const base = await hashContext(dir);
  assert.match(base.tag, new RegExp(`^[0-9a-f]{${TAG_LENGTH}}$`));
  assert.equal(base.tag, base.hash.slice(0, TAG_LENGTH));
  assert.deepEqual(base.files.map((f) => f.path), [
    "Dockerfile",
    "requirements-lock.txt",
    "src/common.py",
    "src/train.py",
  ]);
  assert.equal(
    base.manifest.split("\n").slice(0, 3).join("\n"),
    `mlops-image-context/1\nplatform linux/amd64\n100644 ${base.files[0].sha256} Dockerfile`,
  );

  const reversed = await tree([...files].reverse());
  assert.equal((await hashContext(reversed)).tag, base.tag, "creation order does not matter");

  await Deno.writeTextFile(`${dir}/tests/test_train.py`, "def test(): assert False\n");
  await Deno.writeTextFile(`${dir}/README.md`, "# readme\n");
  await Deno.mkdir(`${dir}/src/__pycache__`);
  await Deno.writeTextFile(`${dir}/src/__pycache__/train.cpython-311.pyc`, "bytecode");
  await Deno.writeTextFile(`${dir}/src/train.pyc`, "bytecode");
  assert.equal((await hashContext(dir)).tag, base.tag, "ignored files leave the tag alone");

  const changedTags = new Set([base.tag]);
  for (
    const change of [
      () => Deno.writeTextFile(`${dir}/src/train.py`, "print('train v2')\n"),
      () => Deno.chmod(`${dir}/src/train.py`, 0o755),
      () => Deno.writeTextFile(`${dir}/src/new.py`, ""),
      () => Deno.rename(`${dir}/src/new.py`, `${dir}/src/renamed.py`),
      () => Deno.writeTextFile(`${dir}/Dockerfile`, "FROM python:3.12\n"),
      () => Deno.writeTextFile(`${dir}/requirements-lock.txt`, "numpy==2.4.7 --hash=sha256:1234\n"),
    ]
  ) {
    await change();
    const tag = (await hashContext(dir)).tag;
    assert.ok(!changedTags.has(tag), `a new tag after ${change}`);
    changedTags.add(tag);
  }
  assert.notEqual((await hashContext(dir, "linux/arm64")).tag, (await hashContext(dir)).tag, "platform counts");
});

Deno.test("the training image context is the Dockerfile, the hashed lock and src/", async () => {
  const files = await contextFiles(`${REPO}/training-pipeline`);
  const paths = files.map((f) => f.path);
  const src: string[] = [];
  for await (const entry of Deno.readDir(`${REPO}/training-pipeline/src`)) {
    if (entry.isFile && !entry.name.endsWith(".pyc")) src.push(`src/${entry.name}`);
  }
  assert.deepEqual(paths, ["Dockerfile", "requirements-lock.txt", ...src.sort()]);
  assert.equal(files.find((f) => f.path === "src/train")?.mode, "100755", "the SageMaker entry point is executable");
});

Deno.test("a context without a Dockerfile is refused with the fix", async () => {
  const dir = await tree([["src/x.py", ""]]);
  await assert.rejects(
    () => hashContext(dir),
    /No Dockerfile in ".*" \(looked in .*\)\. Run the task from the repository root/,
  );
});

Deno.test("ECR tokens decode to user and password; redact hides secrets", () => {
  assert.deepEqual(decodeAuthorizationToken(btoa("AWS:pa:ss=word")), { username: "AWS", password: "pa:ss=word" });
  assert.throws(() => decodeAuthorizationToken("%%%"), /not base64/);
  assert.throws(() => decodeAuthorizationToken(btoa("no-colon")), /without a user name/);
  assert.equal(redact("login failed for s3cret (s3cret)", ["s3cret", ""]), "login failed for *** (***)");
});
