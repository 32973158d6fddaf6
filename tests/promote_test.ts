/**
 * `deno task promote` end to end against the fake AWS server (STS, ECR, S3,
 * SageMaker) with stand-ins for terraform and docker: one image per commit,
 * pinned by digest, and prod only takes what staging ran.
 */
import assert from "node:assert/strict";
import { runTask, spawnTask, waitUntil } from "./helpers.ts";
import { promotedWorkspace, promotionWorkspace } from "./promotion_fixture.ts";

Deno.test("dev → staging → prod of one commit builds once and prod runs staging's digest", async () => {
  await using w = await promotionWorkspace();
  for (const env of ["dev", "staging", "prod"]) {
    const run = await w.promote([env, "--wait", "--json"]);
    assert.equal(run.code, 0, `${env}: ${run.stderr}`);
    assert.ok(
      !run.stderr.includes(w.ecr.password) && !run.stdout.includes(w.ecr.password),
      "no registry token in output",
    );
  }
  assert.equal(await w.dockerBuilds(), 1, "built exactly once (dev may build; the others reuse it)");
  const [dev, staging, prod] = ["dev", "staging", "prod"].map((env) => w.record(env, "current"));
  assert.equal(dev.commit, w.commit);
  assert.equal(staging.digest, dev.digest);
  assert.equal(prod.digest, staging.digest, "prod runs exactly what staging ran");
  assert.equal(prod.pipelineStatus, "Succeeded");
  assert.match(prod.imageUri, /@sha256:[0-9a-f]{64}$/);
  const stored = JSON.parse(w.sagemaker.pipelines.get("444444444444/mlops-training")!.definition);
  assert.equal(
    stored.Steps[1].Arguments.AlgorithmSpecification.TrainingImage,
    prod.imageUri,
    "the pipeline is pinned to the digest",
  );

  const status = await w.promote(["status", "--json"]);
  const rows = JSON.parse(status.stdout) as { environment: string; current: { digest: string } }[];
  assert.deepEqual(rows.map((r) => r.current.digest), [dev.digest, dev.digest, dev.digest]);
  const markdown = (await w.promote(["status", "--markdown"])).stdout;
  assert.match(markdown, /```mermaid\nflowchart LR\n {2}dev\["<b>dev<\/b><br\/>0123456 · [0-9a-f]{12} · Succeeded"\]/);
  assert.match(markdown, /dev --> staging --> prod/);
});

Deno.test("promoting an unchanged commit again builds nothing and updates no pipeline", async () => {
  await using w = await promotedWorkspace(["dev"]);
  const again = await w.promote(["dev", "--wait"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await w.dockerBuilds(), 0, "the image of the first promotion is reused");
  const calls = w.aws.calls;
  assert.equal(calls.filter((c) => c.action === "UpdatePipeline" || c.action === "CreatePipeline").length, 0);
  assert.equal(calls.filter((c) => c.action === "StartPipelineExecution").length, 1, "started (idempotently)");
  assert.equal(w.sagemaker.executions.length, 1, "the same commit, image and definition start one execution");
});

Deno.test("prod without a staging record is refused: nothing deployed, no record written", async () => {
  await using w = await promotedWorkspace(["dev"]);
  const run = await w.promote(["prod", "--wait"]);
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /error: Refusing to promote to prod: staging has never promoted commit 0123456789ab\. Promote it to staging first\./,
  );
  assert.deepEqual(await w.terraformCalls(), [], "nothing deployed");
  assert.equal(w.record("prod", "latest"), undefined, "no record written");
});

Deno.test("a failing step marks the record failed and exits non-zero; current stays as it was", async () => {
  await using w = await promotedWorkspace(["dev"]);
  const current = w.record("dev", "current");
  await Deno.writeTextFile(`${w.dir}/deploy.fails`, "");
  const failed = await w.promote(["dev", "--wait"]);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /terraform plan failed in main-dev: simulated deploy failure/);
  assert.equal(w.record("dev", "latest").status, "failed");
  assert.match(w.record("dev", "latest").error, /simulated deploy failure/);
  assert.deepEqual(w.record("dev", "current"), current, "a failure never becomes current");

  await Deno.remove(`${w.dir}/deploy.fails`);
  w.sagemaker.failAt = { step: "Train", reason: "AlgorithmError: boom" };
  w.sagemaker.executions.length = 0;
  const staging = await w.promote(["staging", "--wait"]);
  assert.equal(staging.code, 1);
  assert.match(staging.stderr, /The staging pipeline ended Failed: step "Train" failed: AlgorithmError: boom/);
  assert.equal(w.record("staging", "latest").status, "failed");
  assert.equal(w.record("staging", "latest").pipelineStatus, "Failed");
  assert.equal(w.record("staging", "current"), undefined);
  const prod = await w.promote(["prod"]);
  assert.match(prod.stderr, /Refusing to promote to prod: the promotion of 0123456789ab to staging failed/);
});

Deno.test("in CI the tag must match the environment", async () => {
  await using w = await promotionWorkspace();
  const run = await w.promote(["prod"], { CI: "true", GITHUB_REF: "refs/tags/staging" });
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /Refusing to promote prod from refs\/tags\/staging: prod is promoted only from refs\/tags\/prod\./,
  );
  assert.equal(w.aws.calls.length, 0, "refused before any AWS call");
});

Deno.test("a pipeline run that failed is retried as a new execution when the same commit is promoted again", async () => {
  await using w = await promotionWorkspace();
  w.sagemaker.failAt = { step: "Train", reason: "capacity error" };
  assert.equal((await w.promote(["dev", "--wait"])).code, 1);
  assert.equal(w.record("dev", "latest").attempt, 1);
  w.sagemaker.failAt = null;
  const again = await w.promote(["dev", "--wait"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(w.sagemaker.executions.length, 2, "a fresh execution, not the failed one again");
  assert.equal(w.record("dev", "current").attempt, 2);
});

Deno.test("a success that cannot be recorded says so and how to recover, instead of a raw S3 error", async () => {
  await using w = await promotionWorkspace();
  w.s3.allow = ({ bucket, method }) => !(bucket === "mlops-promotions-111111111111" && method === "PUT");
  const run = await w.promote(["dev", "--wait"]);
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /error: The promotion to dev succeeded but was not recorded \(Cannot write the promotion record: .*\); prod's gate needs the record\. Re-run the same promote/,
  );
  assert.doesNotMatch(run.stderr, /This is unexpected/);
});

Deno.test("Ctrl-C while promote waits for the pipeline stops it, records the attempt as failed, exits 130", async () => {
  await using w = await promotionWorkspace();
  w.sagemaker.pollsToFinish = 100_000;
  const child = spawnTask("promote", ["dev", "--wait"], { cwd: w.dir, env: w.env, clearEnv: true });
  // Interrupted once it polls the execution it started: then it is waiting for the pipeline.
  const waiting = () => w.aws.callsTo("sagemaker", "DescribePipelineExecution").length > 0;
  assert.ok(await waitUntil(waiting), "the pipeline started and promote waits for it");
  child.kill("SIGINT");
  const out = await child.output();
  assert.equal(out.code, 130, new TextDecoder().decode(out.stderr));
  assert.equal(w.record("dev", "latest").status, "failed");
  assert.match(w.record("dev", "latest").error, /^Interrupted/);
});

Deno.test("from a laptop, uncommitted changes to what gets deployed are refused unless --allow-dirty", async () => {
  await using w = await promotionWorkspace();
  const git = (...args: string[]) =>
    new Deno.Command("git", { args: ["-c", "user.name=t", "-c", "user.email=t@t", ...args], cwd: w.dir }).output();
  await git("init", "-q");
  await git("add", "-A");
  await git("commit", "-qm", "base");
  await Deno.writeTextFile(
    `${w.dir}/mlops.config.json`,
    (await Deno.readTextFile(`${w.dir}/mlops.config.json`)) + "\n",
  );
  const env = { ...w.env };
  delete env.GITHUB_SHA;
  const run = (extra: string[]) => runTask("promote", ["dev", ...extra], { cwd: w.dir, env, clearEnv: true });
  const refused = await run([]);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /Refusing to promote: uncommitted changes in mlops\.config\.json\. Commit them .* or pass --allow-dirty\./,
  );
  assert.equal(w.aws.calls.length, 0, "nothing was touched");
  const allowed = await run(["--allow-dirty"]);
  assert.equal(allowed.code, 0, allowed.stderr);
});
