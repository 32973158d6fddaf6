/**
 * `deno task serve <env>` end to end against the fake AWS server (STS, S3
 * records, SageMaker hosting and runtime) with the promotion workspace's
 * stand-ins: create, update to a new version, a failed smoke test keeps the
 * old one, delete; prod only after staging served the same commit and image,
 * and only once a person approved the version.
 */
import assert from "node:assert/strict";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { servingGateProblem, type ServingRecord, servingSummary } from "../lib/serving/endpoint.ts";
import { describeServingLeftovers, Hosting } from "../lib/serving/hosting.ts";
import { FakeAws } from "./fake_aws.ts";
import { FakeHosting } from "./fake_hosting.ts";
import { runTask, type TaskRun } from "./helpers.ts";
import { promotedWorkspace } from "./promotion_fixture.ts";

const [STAGING, PROD] = ["333333333333", "444444444444"];

/**
 * A workspace where `envs` were promoted (`deno task promote <env> --wait`, run once for the whole file: see
 * promotedWorkspace), with `serve` to run the task in it.
 */
async function servingWorkspace(envs: string[] = []) {
  const w = await promotedWorkspace(envs);
  return {
    ...w,
    serve: (args: string[], extra: Record<string, string> = {}): Promise<TaskRun> =>
      runTask("serve", args, { cwd: w.dir, env: { ...w.env, ...extra }, clearEnv: true }),
    serving: (environment: string, name: string) => w.record(environment, `serving/${name}`) as ServingRecord,
    /** The image URI staging's promotion pinned. */
    stagingImage: (): string => w.record("staging", "current").imageUri,
  };
}

Deno.test("serve staging: create, update to a new version, a failed smoke test keeps the old one, delete", async () => {
  await using w = await servingWorkspace(["dev", "staging"]);
  const image = w.stagingImage();

  w.hosting.register(STAGING, { status: "Approved", image });
  const first = await w.serve(["staging", "--json"]);
  assert.equal(first.code, 0, first.stderr);
  const v1 = JSON.parse(first.stdout) as ServingRecord;
  assert.equal(v1.version, 1);
  assert.equal(v1.commit, w.commit, "the commit comes from staging's promotion record of the same digest");
  assert.match(v1.endpointConfig, /^mlops-staging-v1-[0-9a-f]{8}$/);
  assert.equal(w.hosting.serving(STAGING, "mlops-staging"), v1.endpointConfig);
  const config = w.hosting.configs.get(`${STAGING}/${v1.endpointConfig}`)!;
  assert.deepEqual(config.variant.ServerlessConfig, { MemorySizeInMB: 2048, MaxConcurrency: 5 }, "serverless");
  assert.equal(
    w.hosting.models.get(`${STAGING}/mlops-staging-v1`)!.role.endsWith("mlops-staging-sagemaker-execution"),
    true,
  );
  assert.match(first.stderr, /Smoke test +3 sample texts through InvokeEndpoint/);
  assert.equal(w.aws.callsTo("sagemaker", "POST /endpoints/mlops-staging/invocations").length, 1);
  assert.deepEqual(w.serving("staging", "current"), v1);

  w.hosting.register(STAGING, { status: "PendingManualApproval", image });
  w.hosting.register(STAGING, { status: "Approved", image });
  const second = await w.serve(["staging", "--json"]);
  assert.equal(second.code, 0, second.stderr);
  const v3 = JSON.parse(second.stdout) as ServingRecord;
  assert.equal(v3.version, 3, "the latest Approved version, not the pending one");
  assert.equal(v3.previousVersion, 1);
  assert.equal(w.hosting.serving(STAGING, "mlops-staging"), v3.endpointConfig);
  assert.equal(w.hosting.updates.at(-1)!.deploymentConfig, null, "serverless updates carry no blue/green policy");

  w.hosting.register(STAGING, { status: "Approved", image, broken: true });
  const broken = await w.serve(["staging"]);
  assert.equal(broken.code, 1);
  assert.match(
    broken.stderr,
    /error: Version 4 failed its smoke test in staging: InvokeEndpoint failed \(the container answered 500\): ModelError: .*\. The previous version serves again \(mlops-staging-v3-[0-9a-f]{8}\)\.\n$/,
  );
  assert.equal(w.hosting.serving(STAGING, "mlops-staging"), v3.endpointConfig, "version 3 serves again");
  assert.equal(w.serving("staging", "current").version, 3);
  assert.equal(w.serving("staging", "latest").status, "failed");

  const status = await w.serve(["status"]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(
    status.stdout,
    /staging +v3 at mlops-staging \(serverless\) +0123456789ab .* failed v4: Version 4 failed/,
  );

  const deleted = await w.serve(["staging", "--delete"]);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stderr, /Deleted +endpoint mlops-staging, 3 endpoint config\(s\), 3 model\(s\) in staging/);
  assert.equal(w.hosting.endpoints.size, 0);
  assert.equal([...w.hosting.configs.keys(), ...w.hosting.models.keys()].length, 0);
  assert.equal(w.serving("staging", "current").status, "deleted");
  assert.equal(servingSummary(w.serving("staging", "current")), "-");
});

Deno.test("a first version that fails its smoke test leaves no endpoint behind", async () => {
  await using w = await servingWorkspace(["dev", "staging"]);
  const image = w.stagingImage();
  w.hosting.register(STAGING, { status: "Approved", image, broken: true });
  const run = await w.serve(["staging"]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /Version 1 failed its smoke test in staging: .* Nothing serves there now\.\n$/);
  assert.equal(w.hosting.endpoints.size, 0);
  assert.equal(w.serving("staging", "current"), undefined, "nothing became current");
});

Deno.test("a re-run after an interrupted switch to a failing version puts the recorded version back", async () => {
  await using w = await servingWorkspace(["dev", "staging"]);
  const image = w.stagingImage();
  w.hosting.register(STAGING, { status: "Approved", image });
  assert.equal((await w.serve(["staging"])).code, 0);
  const v1 = w.serving("staging", "current").endpointConfig;
  w.hosting.register(STAGING, { status: "Approved", image, broken: true });
  // The interrupted run: model and config of version 2 created, the endpoint already switched to it.
  const v2 = v1.replace("-v1-", "-v2-");
  w.hosting.models.set(`${STAGING}/mlops-staging-v2`, {
    packageArn: w.hosting.packages.get(STAGING)![1].arn,
    role: "r",
  });
  w.hosting.configs.set(`${STAGING}/${v2}`, { model: "mlops-staging-v2", variant: {} });
  w.hosting.endpoints.get(`${STAGING}/mlops-staging`)!.config = v2;

  const run = await w.serve(["staging"]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /Version 2 failed its smoke test in staging: .* The previous version serves again/);
  assert.equal(w.hosting.serving(STAGING, "mlops-staging"), v1, "the recorded version 1 serves again");
});

Deno.test("prod: gate on staging's serving, then a person approves the version, then it is served", async () => {
  await using w = await servingWorkspace(["dev", "staging", "prod"]);
  const image = w.stagingImage();
  const pkg = w.hosting.register(PROD, { status: "PendingManualApproval", image });

  const gated = await w.serve(["prod", "--approve", "1", "--reason", "metrics reviewed"]);
  assert.equal(gated.code, 1);
  assert.equal(
    gated.stderr.split("\n").filter((l) => l.startsWith("error:")).join(""),
    "error: Refusing to serve version 1 in prod: staging has never served a model of commit 0123456789ab. Serve it in staging first: deno task serve staging.",
  );
  assert.equal(pkg.status, "PendingManualApproval", "nothing approved before the gate passes");

  w.hosting.register(STAGING, { status: "Approved", image });
  assert.equal((await w.serve(["staging"])).code, 0);
  const pending = await w.serve(["prod"]);
  assert.equal(pending.code, 1);
  assert.match(pending.stderr, /error: No Approved model version in "mlops-models" of prod\./);

  const approved = await w.serve(["prod", "--approve", "1", "--reason", "metrics reviewed", "--json"], {
    GITHUB_ACTOR: "alice",
  });
  assert.equal(approved.code, 0, approved.stderr);
  const record = JSON.parse(approved.stdout) as ServingRecord;
  assert.equal(pkg.status, "Approved");
  assert.equal(pkg.approvalDescription, "Approved by github:alice: metrics reviewed");
  assert.deepEqual([record.approval?.by, record.approval?.reason], ["github:alice", "metrics reviewed"]);
  assert.equal(w.record("prod", "serving/approvals/1").by, "github:alice");
  assert.equal(w.hosting.serving(PROD, "mlops-prod"), record.endpointConfig);
});

Deno.test("promote --wait serves what its run registered in dev and staging; prod waits for a person", async () => {
  await using w = await servingWorkspace();
  w.hosting.registerOnStart = true;
  for (const env of ["dev", "staging"]) {
    const run = await w.promote([env, "--wait"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`Serving +version 1 at endpoint mlops-${env}`));
    assert.equal(w.serving(env, "current").commit, w.commit);
  }
  const prod = await w.promote(["prod", "--wait"]);
  assert.equal(prod.code, 0, prod.stderr);
  assert.match(
    prod.stderr,
    /Waiting +version 1 is PendingManualApproval: a person approves it with deno task serve prod --approve 1/,
  );
  assert.equal(w.hosting.serving(PROD, "mlops-prod"), undefined, "nothing served in prod without approval");

  const approved = await w.serve(["prod", "--approve", "1", "--reason", "reviewed"], { GITHUB_ACTOR: "bob" });
  assert.equal(approved.code, 0, approved.stderr);
  assert.match(approved.stderr, /Gate +staging served commit 0123456789ab with sha256:/);
  assert.equal(w.serving("prod", "current").approval?.by, "github:bob");
  const status = await w.promote(["status"]);
  assert.match(status.stdout, /prod .* v1 at mlops-prod/);
});

Deno.test("provisioned variant: instances, and updates are blue/green with alarm rollback", async () => {
  await using w = await servingWorkspace(["dev", "staging"]);
  const image = w.stagingImage();
  const config = JSON.parse(await Deno.readTextFile(`${w.dir}/mlops.config.json`));
  config.environments.staging.serving = { variant: "provisioned", instanceType: "ml.c5.large" };
  await Deno.writeTextFile(`${w.dir}/mlops.config.json`, JSON.stringify(config));
  w.hosting.register(STAGING, { status: "Approved", image });
  w.hosting.register(STAGING, { status: "Approved", image });
  assert.equal((await w.serve(["staging", "--version", "1"])).code, 0);
  const run = await w.serve(["staging", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const record = JSON.parse(run.stdout) as ServingRecord;
  const variant = w.hosting.configs.get(`${STAGING}/${record.endpointConfig}`)!.variant;
  assert.deepEqual([variant.InstanceType, variant.InitialInstanceCount], ["ml.c5.large", 1]);
  assert.deepEqual(w.hosting.updates.at(-1)!.deploymentConfig, {
    BlueGreenUpdatePolicy: {
      TrafficRoutingConfiguration: { Type: "ALL_AT_ONCE", WaitIntervalInSeconds: 0 },
      TerminationWaitInSeconds: 300,
    },
    AutoRollbackConfiguration: { Alarms: [{ AlarmName: "mlops-staging-5xx" }, { AlarmName: "mlops-staging-latency" }] },
  });
});

Deno.test("bad serve arguments are usage errors", async () => {
  const cases: [string[], RegExp][] = [
    [["staging", "--version", "x"], /--version "x" is not a model version/],
    [["staging", "--reason", "why"], /--reason goes with --approve N/],
    [["local", "--delete"], /--approve and --delete act on an environment, not "local"/],
    [["staging", "--port", "80"], /--port takes a port number and only goes with "local"/],
  ];
  for (const [args, message] of cases) {
    const run = await runTask("serve", args);
    assert.equal(run.code, 2, args.join(" "));
    assert.match(run.stderr, message);
  }
});

Deno.test("in CI, an environment is served only from its own ref", async () => {
  const run = await runTask("serve", ["staging"], {
    env: { CI: "true", GITHUB_REF: "refs/heads/main", NO_COLOR: "1" },
  });
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr.trim(),
    "error: Refusing to serve staging from refs/heads/main: staging is served only from refs/tags/staging.",
  );
});

Deno.test("the serving gate needs staging's success with the same commit and digest", () => {
  const wanted = { commit: "c".repeat(40), digest: "sha256:" + "1".repeat(64) };
  const served = { status: "succeeded", digest: wanted.digest } as ServingRecord;
  assert.equal(servingGateProblem(served, wanted, "staging"), null);
  assert.match(servingGateProblem(null, wanted, "staging")!, /^staging has never served a model of commit c{12}/);
  assert.match(
    servingGateProblem({ ...served, digest: "sha256:" + "2".repeat(64) }, wanted, "staging")!,
    /^staging served commit c{12} with image sha256:2{64}, not sha256:1{64}/,
  );
  assert.match(servingGateProblem(served, { ...wanted, commit: null }, "staging")!, /its commit is unknown/);
});

Deno.test("destroy's serving step lists and deletes the endpoint, endpoint configs and models of one environment", async () => {
  await using aws = await FakeAws.start();
  aws.identities.set("AKIDSTG", STAGING);
  const fake = new FakeHosting(aws);
  fake.pollsToSettle = 0;
  const options = {
    region: "eu-west-1",
    endpoint: aws.url,
    credentials: { accessKeyId: "AKIDSTG", secretAccessKey: "fake" },
  };
  const sagemaker = new SageMakerClient(options);
  const runtime = new SageMakerRuntimeClient(options);
  const hosting = new Hosting(sagemaker, runtime, { pollMs: 1, sleep: () => Promise.resolve() });
  const pkg = fake.register(STAGING, { status: "Approved", image: "repo@sha256:" + "0".repeat(64) });
  await hosting.ensureModel("mlops-staging-v1", pkg.arn, "arn:aws:iam::333333333333:role/x", {});
  await hosting.ensureModel("mlops-dev-v1", pkg.arn, "arn:aws:iam::333333333333:role/x", {});
  await hosting.ensureEndpointConfig("mlops-staging-v1-abc", {
    VariantName: "AllTraffic",
    ModelName: "mlops-staging-v1",
  }, {});
  await hosting.deploy("mlops-staging", "mlops-staging-v1-abc", false, { blueGreen: false, tags: {} });

  const found = await hosting.inventory("mlops-staging", "mlops-staging-v");
  assert.deepEqual(describeServingLeftovers(found), [
    "endpoint mlops-staging",
    "1 endpoint config(s): mlops-staging-v1-abc",
    "1 model(s): mlops-staging-v1",
  ]);
  await hosting.deleteAll("mlops-staging", "mlops-staging-v");
  assert.deepEqual(describeServingLeftovers(await hosting.inventory("mlops-staging", "mlops-staging-v")), []);
  assert.deepEqual([...fake.models.keys()], [`${STAGING}/mlops-dev-v1`], "another prefix is left alone");
  sagemaker.destroy();
  runtime.destroy();
});
