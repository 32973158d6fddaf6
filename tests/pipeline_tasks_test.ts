/**
 * The pipeline tasks end to end against the fake AWS server: the real task
 * processes, the real AWS SDK, fake STS, SageMaker and S3.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { FakeAws } from "./fake_aws.ts";
import { FakeS3, FakeSageMaker } from "./fake_services.ts";
import { isolatedEnv, REPO, runTask, writeConfig, writeProfiles } from "./helpers.ts";

const IMAGE = `111111111111.dkr.ecr.eu-west-1.amazonaws.com/mlops/training@sha256:${"b".repeat(64)}`;

async function workspace() {
  const dir = await Deno.makeTempDir();
  await writeConfig(dir, (c) => {
    c.pipeline.dataset.path = `${REPO}/training-pipeline/data/sample.csv`;
  });
  await writeProfiles(dir, { "mlops-operations": "AKIDOPS", "mlops-dev": "AKIDDEV" });
  await Deno.mkdir(`${dir}/.mlops/outputs`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/.mlops/outputs/dev.json`,
    JSON.stringify({
      execution_role_arn: "arn:aws:iam::222222222222:role/mlops-workload/mlops-dev-sagemaker-execution",
      bucket_name: "mlops-dev-ml-222222222222",
      model_package_group_name: "mlops-models",
    }),
  );
  const aws = await FakeAws.start();
  aws.identities.set("AKIDDEV", "222222222222");
  const sagemaker = new FakeSageMaker(aws);
  const s3 = new FakeS3(aws);
  sagemaker.pollsToFinish = 2;
  const env = { ...isolatedEnv(dir), ...aws.endpointEnv(), MLOPS_POLL_MS: "10" };
  const task = (args: string[]) => runTask("pipeline", args, { cwd: dir, env, clearEnv: true });
  return { dir, aws, sagemaker, s3, task };
}

Deno.test("upload-data uploads once; upsert creates once and then changes nothing", async () => {
  const { aws, s3, sagemaker, task } = await workspace();
  try {
    const first = await task(["upload-data", "--env", "dev"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /Uploaded .*sample\.csv → s3:\/\/mlops-dev-ml-222222222222\/data\/sample\.csv/);
    const again = await task(["upload-data", "--env", "dev"]);
    assert.match(again.stderr, /Unchanged /);
    assert.deepEqual(s3.keys("mlops-dev-ml-222222222222"), ["data/sample.csv"]);
    assert.equal(aws.callsTo("s3").filter((c) => c.action.startsWith("PUT")).length, 1);

    const created = await task(["upsert", "--env", "dev", "--image", IMAGE, "--json"]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).action, "created");
    const unchanged = await task(["upsert", "--env", "dev", "--image", IMAGE, "--json"]);
    assert.equal(JSON.parse(unchanged.stdout).action, "unchanged");
    assert.equal(aws.callsTo("sagemaker", "UpdatePipeline").length, 0, "zero update calls");
    const stored = JSON.parse(sagemaker.pipelines.get("mlops-training")!.definition);
    assert.equal(stored.Steps[1].Arguments.AlgorithmSpecification.TrainingImage, IMAGE);
    assert.deepEqual(sagemaker.pipelines.get("mlops-training")!.tags, [{ Key: "project", Value: "mlops-template" }]);
  } finally {
    await aws.close();
  }
});

Deno.test("start --wait follows the execution; a failing step exits 1 naming the step and reason", async () => {
  const { aws, sagemaker, task } = await workspace();
  try {
    assert.equal((await task(["upsert", "--env", "dev", "--image", IMAGE])).code, 0);
    const noData = await task(["start", "--env", "dev"]);
    assert.equal(noData.code, 1);
    assert.match(
      noData.stderr,
      /There is no data at s3:\/\/mlops-dev-ml-222222222222\/data\/sample\.csv\. Upload it first: deno task pipeline upload-data --env dev/,
    );
    assert.equal((await task(["upload-data", "--env", "dev"])).code, 0);
    const ok = await task(["start", "--env", "dev", "--param", "AccuracyThreshold=0.8", "--wait"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /Train: Succeeded/);
    const sha256 = createHash("sha256").update(await Deno.readFile(`${REPO}/training-pipeline/data/sample.csv`))
      .digest("hex");
    assert.deepEqual(sagemaker.executions[0].parameters, [
      { Name: "AccuracyThreshold", Value: "0.8" },
      { Name: "InputDataVersion", Value: sha256 },
    ], "the data version keys Preprocess's cache");
    const token = sagemaker.executions[0].token ?? "";
    assert.ok(token.length >= 32 && token.length <= 128, `derived token "${token}" is 32-128 characters`);

    sagemaker.failAt = { step: "Evaluate", reason: "AlgorithmError: out of memory" };
    const failed = await task(["start", "--env", "dev", "--wait"]);
    assert.equal(failed.code, 1);
    assert.match(
      failed.stderr,
      /error: The pipeline execution in dev ended Failed: step "Evaluate" failed: AlgorithmError: out of memory\./,
    );
    const bad = await task(["start", "--env", "dev", "--param", "AccuracyThreshold=high"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Parameter "AccuracyThreshold" is Float; "high" is not a valid value/);
    assert.equal(sagemaker.executions.length, 2, "the bad parameter started nothing");
  } finally {
    await aws.close();
  }
});

Deno.test("start refuses what SageMaker would reject, before any call: closed-set values, hyperparameter ranges, token length", async () => {
  // Nothing upserted or uploaded: the checks come before any call (the derived token is checked where a start
  // succeeds, above).
  const { aws, task } = await workspace();
  try {
    const refused = [
      [
        ["--param", "ModelApprovalStatus=approved"],
        /Parameter "ModelApprovalStatus" takes "Approved", "PendingManualApproval" or "Rejected"; "approved" is not valid/,
      ],
      [
        ["--param", "TrainingInstanceType=ml.m5.huge"],
        /Parameter "TrainingInstanceType" takes one of \d+ values such as "ml\.m5\./,
      ],
      [["--param", "C=0"], /Parameter "C": 0 is not a number > 0/],
      [["--param", "ngram_max=2.5"], /Parameter "ngram_max" is Integer; "2\.5" is not a valid value/],
      [
        ["--token", "retry-1"],
        /--token "retry-1" has 7 characters; SageMaker needs 32 to 128 \(leave it out to get a fresh one\)/,
      ],
    ] as const;
    for (const [args, message] of refused) {
      const run = await task(["start", "--env", "dev", ...args]);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
    assert.deepEqual(aws.calls, [], "nothing was sent");
    // Valid values pass the same checks and go on to AWS: to the data check, which fails here for want of data.
    const ok = await task(["start", "--env", "dev", "--param", "ModelApprovalStatus=Rejected", "--param", "C=0.5"]);
    assert.equal(ok.code, 1, ok.stderr);
    assert.match(ok.stderr, /error: There is no data at s3:\/\/mlops-dev-ml-222222222222\/data\/sample\.csv\./);
  } finally {
    await aws.close();
  }
});

Deno.test("pipeline commands refuse credentials of the wrong account before any SageMaker call", async () => {
  const { aws, task } = await workspace();
  try {
    aws.identities.set("AKIDDEV", "999999999999");
    const run = await task(["upsert", "--env", "dev", "--image", IMAGE]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /Cannot upsert the pipeline of "dev": profile "mlops-dev" belongs to account 999999999999/,
    );
    assert.equal(aws.callsTo("sagemaker").length, 0);
  } finally {
    await aws.close();
  }
});
