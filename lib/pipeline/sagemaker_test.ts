import assert from "node:assert/strict";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { S3Client } from "@aws-sdk/client-s3";
import { Config } from "../config.ts";
import { FakeAws } from "../../tests/fake_aws.ts";
import { FakeS3, FakeSageMaker } from "../../tests/fake_services.ts";
import { REPO } from "../../tests/helpers.ts";
import { buildDefinition, canonicalJson, offlineInputs } from "./definition.ts";
import { failureOf, PipelineService, uploadIfChanged } from "./sagemaker.ts";

const config = await Config.load(`${REPO}/mlops.config.json`);
const inputs = offlineInputs(config, "dev");
const definition = buildDefinition(inputs);
const credentials = { accessKeyId: "AKIDTEST", secretAccessKey: "secret" };

async function setup() {
  const aws = await FakeAws.start();
  const sagemaker = new FakeSageMaker(aws);
  const s3 = new FakeS3(aws);
  const client = new SageMakerClient({ region: "eu-west-1", endpoint: aws.url, credentials });
  const s3Client = new S3Client({ region: "eu-west-1", endpoint: aws.url, forcePathStyle: true, credentials });
  const sleeps: number[] = [];
  const service = new PipelineService(client, { sleep: (ms) => (sleeps.push(ms), Promise.resolve()), pollMs: 1 });
  return {
    aws,
    sagemaker,
    s3,
    service,
    s3Client,
    sleeps,
    async [Symbol.asyncDispose]() {
      client.destroy();
      s3Client.destroy();
      await aws.close();
    },
  };
}

const writes = (aws: FakeAws) =>
  aws.calls.filter((c) => /^(Create|Update)Pipeline$/.test(c.action)).map((c) => c.action);

Deno.test("upsert creates, then makes no write call for an identical definition, then updates a changed one", async () => {
  await using t = await setup();
  assert.equal(await t.service.upsert("p", definition, inputs.executionRoleArn), "created");
  assert.equal(t.sagemaker.pipelines.get("p")?.definition, canonicalJson(definition));
  assert.equal(await t.service.upsert("p", definition, inputs.executionRoleArn), "unchanged");
  assert.deepEqual(writes(t.aws), ["CreatePipeline"], "no update call for an unchanged definition");
  const changed = buildDefinition({ ...inputs, imageUri: inputs.imageUri.replace(/0{64}$/, "f".repeat(64)) });
  assert.equal(await t.service.upsert("p", changed, inputs.executionRoleArn), "updated");
  assert.deepEqual(writes(t.aws), ["CreatePipeline", "UpdatePipeline"]);
  assert.equal(
    await t.service.upsert("p", changed, "arn:aws:iam::222222222222:role/other"),
    "updated",
    "a new role updates too",
  );
});

Deno.test("upsert treats a definition stored with other key order or whitespace as unchanged", async () => {
  await using t = await setup();
  t.sagemaker.pipelines.set("p", {
    arn: "arn:p",
    definition: JSON.stringify(JSON.parse(canonicalJson(definition)), null, 4),
    roleArn: inputs.executionRoleArn,
  });
  assert.equal(await t.service.upsert("p", definition, inputs.executionRoleArn), "unchanged");
  assert.deepEqual(writes(t.aws), []);
});

Deno.test("upsert retries ConflictException with growing backoff, then gives up with the error", async () => {
  await using t = await setup();
  await t.service.upsert("p", definition, inputs.executionRoleArn);
  t.sagemaker.conflicts = 3;
  const changed = buildDefinition({ ...inputs, bucket: "other-bucket" });
  assert.equal(await t.service.upsert("p", changed, inputs.executionRoleArn), "updated");
  assert.deepEqual(t.sleeps, [500, 1000, 2000]);
  t.sagemaker.conflicts = 10;
  await assert.rejects(() => t.service.upsert("p", definition, inputs.executionRoleArn), { name: "ConflictException" });
});

Deno.test("start passes parameters and is idempotent per token; watch reports the final state", async () => {
  await using t = await setup();
  await t.service.upsert("p", definition, inputs.executionRoleArn);
  const arn = await t.service.start("p", { AccuracyThreshold: "0.8" }, "token-1".padEnd(32, "-"));
  assert.equal(
    await t.service.start("p", { AccuracyThreshold: "0.8" }, "token-1".padEnd(32, "-")),
    arn,
    "same token, same execution",
  );
  assert.equal(t.sagemaker.executions.length, 1);
  assert.deepEqual(t.sagemaker.executions[0].parameters, [{ Name: "AccuracyThreshold", Value: "0.8" }]);
  assert.equal(await t.service.latestExecution("p"), arn);
  t.sagemaker.pollsToFinish = 3;
  const seen: string[] = [];
  const final = await t.service.watch(arn, (s) => seen.push(s.status));
  assert.equal(final.status, "Succeeded");
  assert.deepEqual(seen, ["Executing", "Succeeded"], "each distinct state is reported once");
});

Deno.test("a failed execution names the failing step and its reason", async () => {
  await using t = await setup();
  await t.service.upsert("p", definition, inputs.executionRoleArn);
  t.sagemaker.failAt = { step: "Train", reason: "ClientError: AlgorithmError: bad hyperparameter" };
  const arn = await t.service.start("p", {}, "token-2".padEnd(32, "-"));
  const final = await t.service.watch(arn, () => {});
  assert.equal(final.status, "Failed");
  assert.equal(failureOf(final), 'step "Train" failed: ClientError: AlgorithmError: bad hyperparameter');
});

Deno.test("uploadIfChanged skips content that is already there", async () => {
  await using t = await setup();
  const data = new TextEncoder().encode("text,label\nhello,a\n");
  assert.equal(await uploadIfChanged(t.s3Client, "b", "data/sample.csv", data), true);
  assert.equal(t.s3.text("b", "data/sample.csv"), "text,label\nhello,a\n");
  assert.equal(await uploadIfChanged(t.s3Client, "b", "data/sample.csv", data), false);
  assert.equal(t.aws.callsTo("s3").filter((c) => c.action.startsWith("PUT")).length, 1, "one upload only");
  assert.equal(await uploadIfChanged(t.s3Client, "b", "data/sample.csv", new TextEncoder().encode("changed")), true);
});

Deno.test("the config's tags go on the pipeline when it is created and again when it is updated", async () => {
  await using t = await setup();
  await t.service.upsert("p", definition, inputs.executionRoleArn, { project: "a" });
  assert.deepEqual(t.sagemaker.pipelines.get("p")?.tags, [{ Key: "project", Value: "a" }]);
  const changed = buildDefinition({ ...inputs, commit: "1".repeat(40) });
  assert.equal(await t.service.upsert("p", changed, inputs.executionRoleArn, { project: "b", team: "ml" }), "updated");
  assert.deepEqual(t.sagemaker.pipelines.get("p")?.tags, [{ Key: "project", Value: "b" }, {
    Key: "team",
    Value: "ml",
  }]);
  assert.equal(
    await t.service.upsert("p", changed, inputs.executionRoleArn, { project: "b", team: "ml" }),
    "unchanged",
  );
  assert.equal(t.aws.callsTo("sagemaker", "AddTags").length, 1, "tags are added with an update only");
});
