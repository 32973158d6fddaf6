import assert from "node:assert/strict";
import { UsageError } from "../cli.ts";
import { Config } from "../config.ts";
import { loadContext } from "../context.ts";
import { REPO, runTask } from "../../tests/helpers.ts";
import { createHash } from "node:crypto";
import { headCommit, localRun } from "./commands.ts";
import { dependencyOrder, finalMetrics, LocalPipelineRun, parseParams, pathTokens } from "./local.ts";
import {
  conditionStep,
  failStep,
  type Parameter,
  type PipelineDefinition,
  processingStep,
  registerModelStep,
  type Step,
  trainingStep,
} from "./steps.ts";
import { join, jsonGet, parameter, stepProperty } from "./expressions.ts";
import { definitionProblems } from "./validate.ts";
import { CONTAINER, ENUM_VALUES, METRIC_DEFINITIONS } from "./definition.ts";

Deno.test("parameters: overrides are typed by the declaration; unknown names list the valid ones", () => {
  const declared = [
    { Name: "Threshold", Type: "Float" as const, DefaultValue: 0.7 },
    { Name: "Epochs", Type: "Integer" as const, DefaultValue: 3 },
    { Name: "Tag", Type: "String" as const, DefaultValue: "x" },
  ];
  const values = parseParams(declared, ["Threshold=0.9", "Epochs=5"]);
  assert.equal(values.get("Threshold"), 0.9);
  assert.equal(values.get("Epochs"), 5);
  assert.equal(values.get("Tag"), "x");
  assert.throws(
    () => parseParams(declared, ["Nope=1"]),
    (e: Error) => e instanceof UsageError && /valid parameters: Threshold, Epochs, Tag/.test(e.message),
  );
  assert.throws(
    () => parseParams(declared, ["Epochs=2.5"]),
    /Parameter "Epochs" is Integer; "2.5" is not a valid value/,
  );
  assert.throws(() => parseParams(declared, ["Threshold"]), /use name=value/);
});

Deno.test("property paths split on dots and bracketed keys", () => {
  assert.deepEqual(pathTokens("Steps.P.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"), [
    "Steps",
    "P",
    "ProcessingOutputConfig",
    "Outputs",
    "train",
    "S3Output",
    "S3Uri",
  ]);
  assert.deepEqual(pathTokens("a.b[0].c"), ["a", "b", "0", "c"]);
});

const step = (name: string, uri: unknown): Step =>
  processingStep(name, { AppSpecification: { ImageUri: "i" }, RoleArn: uri as string } as never);

Deno.test("steps run after the steps they reference, whatever their order in the file", () => {
  const order = dependencyOrder([step("C", stepProperty("B", "X")), step("B", stepProperty("A", "X")), step("A", "r")]);
  assert.deepEqual(order.map((s) => s.Name), ["A", "B", "C"]);
  assert.throws(
    () => dependencyOrder([step("A", stepProperty("B", "X")), step("B", stepProperty("A", "X"))]),
    /cycle: A, B/,
  );
});

Deno.test("an unsupported step type is a clear error before anything runs", () => {
  const definition = {
    Version: "2020-12-01",
    Metadata: {},
    Parameters: [],
    Steps: [{ Name: "Deploy", Type: "Lambda", Arguments: {} }],
  } as unknown as PipelineDefinition;
  assert.throws(
    () => new LocalPipelineRun(definition, { root: "/tmp/x", python: "python3", programDir: "/x", pipelineName: "p" }),
    /Step "Deploy" has type "Lambda", which the local runner does not support \(it runs Processing, Training, Condition, RegisterModel, Fail\)/,
  );
});

Deno.test("a Fail step fails the run with its resolved message", async () => {
  const root = await Deno.makeTempDir();
  const definition: PipelineDefinition = {
    Version: "2020-12-01",
    Metadata: {},
    Parameters: [{ Name: "Why", Type: "String", DefaultValue: "default reason" }],
    Steps: [failStep("Stop", parameter("Why"))],
  };
  const run = new LocalPipelineRun(definition, {
    root,
    python: "python3",
    programDir: "/x",
    pipelineName: "p",
    params: ["Why=because the test said so"],
  });
  const result = await run.run();
  assert.equal(result.status, "Failed");
  assert.equal(result.failedStep, "Stop");
  assert.equal(result.failureReason, "because the test said so");
  assert.equal(JSON.parse(await Deno.readTextFile(`${result.runDir}/result.json`)).status, "Failed");
});

Deno.test({
  name: "the real pipeline runs locally on the sample, registers a version, and the Fail branch registers nothing",
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir();
    const ctx = await loadContext({ config: `${REPO}/mlops.config.json`, offline: true });
    // The caller's shell must not steer the steps (this SM_HPS once gave accuracy 0.217).
    Deno.env.set("SM_HPS", '{"C": "0.0001"}');
    const ok = await localRun(ctx, { env: "dev", params: [], root, repoDir: REPO }).finally(() =>
      Deno.env.delete("SM_HPS")
    );
    assert.equal(ok.status, "Succeeded", ok.failureReason ?? "");
    assert.deepEqual(ok.steps.map((s) => s.name), [
      "Preprocess",
      "Train",
      "Evaluate",
      "CheckAccuracy",
      "RegisterModel",
    ]);
    const report = ok.propertyFiles["Steps.Evaluate.PropertyFiles.EvaluationReport"] as {
      metrics: { accuracy: { value: number } };
    };
    assert.ok(report.metrics.accuracy.value >= 0.75, `accuracy ${report.metrics.accuracy.value}`);
    assert.equal(ok.registered?.version, 1);
    assert.equal(ok.registered?.approvalStatus, "Approved");
    const pkg = JSON.parse(await Deno.readTextFile(`${ok.registered!.dir}/model-package.json`));
    assert.equal(pkg.ModelPackageGroupName, "mlops-models");
    assert.match(pkg.InferenceSpecification.Containers[0].Image, /@sha256:0{64}$/);
    assert.ok((await Deno.stat(`${ok.registered!.dir}/model.tar.gz`)).size > 1000, "the model archive is registered");
    const sample = await Deno.readFile(`${REPO}/training-pipeline/data/sample.csv`);
    assert.deepEqual(pkg.CustomerMetadataProperties, {
      GitCommit: await headCommit(REPO),
      ImageDigest: `sha256:${"0".repeat(64)}`,
      DataUri: "s3://mlops-dev-ml-222222222222/data/sample.csv",
      DataSha256: createHash("sha256").update(sample).digest("hex"),
      DataETag: `"${createHash("md5").update(sample).digest("hex")}"`,
    });
    assert.match(pkg.CustomerMetadataProperties.GitCommit, /^[0-9a-f]{40}$/);
    assert.equal(
      ok.parameters.InputDataVersion,
      pkg.CustomerMetadataProperties.DataSha256,
      "the run declared its data",
    );
    const quality = JSON.parse(await Deno.readTextFile(`${ok.registered!.dir}/metrics.json`));
    assert.equal(quality.multiclass_classification_metrics.accuracy.value, report.metrics.accuracy.value);
    const trainLog = await Deno.readTextFile(`${ok.runDir}/Train/output.log`);
    const [trained] = finalMetrics(METRIC_DEFINITIONS, trainLog);
    assert.equal(trained.MetricName, "train:accuracy");
    assert.ok(trained.Value > 0.9, `training metric parsed from the log: ${trained.Value}`);

    const stale = await localRun(ctx, {
      env: "dev",
      params: [`InputDataVersion=${"0".repeat(64)}`],
      root,
      repoDir: REPO,
    });
    assert.equal(stale.failedStep, "Preprocess", "data of another version fails Preprocess, with its reason");
    assert.match(
      stale.failureReason ?? "",
      /^The input data is version [0-9a-f]{64} .* Start the pipeline again\. \(log: /,
    );
    const failed = await localRun(ctx, { env: "dev", params: ["AccuracyThreshold=1.01"], root, repoDir: REPO });
    assert.equal(failed.status, "Failed");
    assert.equal(failed.failedStep, "AccuracyTooLow");
    assert.match(failed.failureReason ?? "", /^Model accuracy 0\.\d+ is below the threshold 1\.01$/);
    assert.equal(failed.registered, null);
    const versions = [...Deno.readDirSync(`${root}/registry/mlops-models`)].map((e) => e.name);
    assert.deepEqual(versions, ["1"], "the failed run registered nothing");
  },
});

Deno.test("`pipeline local` exits non-zero on the Fail branch and 2 on an unknown parameter", async () => {
  const config = await Config.load(`${REPO}/mlops.config.json`);
  assert.ok(config);
  const unknown = await runTask("pipeline", ["local", "--param", "Bogus=1"], { env: { NO_COLOR: "1" } });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown pipeline parameter "Bogus"; valid parameters: InputData,/);
  for (const param of ["ModelApprovalStatus=Bogus", "max_features=0"]) {
    const refused = await runTask("pipeline", ["local", "--param", param], { env: { NO_COLOR: "1" } });
    assert.equal(refused.code, 2, `${param}: ${refused.stderr}`);
    assert.doesNotMatch(refused.stderr, /Running/, "no step ran");
  }
  const registry = `${REPO}/.mlops/local/registry/mlops-models`;
  const before = await Array.fromAsync(Deno.readDir(registry)).catch(() => []);
  const failed = await runTask("pipeline", ["local", "--param", "AccuracyThreshold=1.01"], { env: { NO_COLOR: "1" } });
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(
    failed.stdout,
    /Pipeline failed at step AccuracyTooLow: Model accuracy 0\.\d+ is below the threshold 1\.01/,
  );
  const after = await Array.fromAsync(Deno.readDir(registry)).catch(() => []);
  assert.equal(after.length, before.length, "nothing registered");
});

Deno.test("parameters with EnumValues take only those values; a check callback rejects values out of range", () => {
  const declared = [
    { Name: "Status", Type: "String" as const, DefaultValue: "Approved", EnumValues: ["Approved", "Rejected"] },
    {
      Name: "Instance",
      Type: "String" as const,
      DefaultValue: "ml.m5.large",
      EnumValues: ENUM_VALUES.TrainingInstanceType,
    },
    { Name: "C", Type: "Float" as const, DefaultValue: 1 },
  ];
  assert.equal(parseParams(declared, ["Status=Rejected"]).get("Status"), "Rejected");
  assert.throws(
    () => parseParams(declared, ["Status=approved"]),
    (e: Error) =>
      e instanceof UsageError &&
      e.message === 'Parameter "Status" takes "Approved" or "Rejected"; "approved" is not valid',
  );
  assert.throws(
    () => parseParams(declared, ["Instance=ml.m5.huge"]),
    /^UsageError: Parameter "Instance" takes one of \d+ values such as "ml\.m5\.\w+", "ml\.m5\.\w+", "ml\.m5\.\w+"; "ml\.m5\.huge" is not valid$/,
  );
  const positive = (name: string, value: unknown) =>
    name === "C" && Number(value) <= 0 ? `${value} is not a number > 0` : null;
  assert.equal(parseParams(declared, ["C=0.5"], positive).get("C"), 0.5);
  assert.throws(() => parseParams(declared, ["C=0"], positive), /^UsageError: Parameter "C": 0 is not a number > 0$/);
});

/** A local run of `steps` with programs written into a fresh `/opt/program`. */
async function miniRun(steps: Step[], programs: Record<string, string>, parameters: Parameter[] = []) {
  const root = await Deno.makeTempDir();
  const programDir = `${root}/program`;
  await Deno.mkdir(programDir);
  for (const [name, text] of Object.entries(programs)) await Deno.writeTextFile(`${programDir}/${name}`, text);
  const definition: PipelineDefinition = { Version: "2020-12-01", Metadata: {}, Parameters: parameters, Steps: steps };
  return { root, run: new LocalPipelineRun(definition, { root, python: "python3", programDir, pipelineName: "p" }) };
}

const DUMP_ENV = `import json, os, sys
out = sys.argv[1] if len(sys.argv) > 1 else os.environ["SM_MODEL_DIR"]
os.makedirs(out, exist_ok=True)
json.dump({"env": dict(os.environ), "argv": sys.argv[2:],
           "files": sorted(os.listdir(os.environ["SM_CHANNEL_TRAIN"])) if "SM_CHANNEL_TRAIN" in os.environ else []},
          open(os.path.join(out, "seen.json"), "w"))
`;

Deno.test({
  name: "training honours the definition's entrypoint, a single-object channel, and none of the caller's environment",
  sanitizeResources: false,
  async fn() {
    const train = trainingStep("Train", {
      RoleArn: "r",
      AlgorithmSpecification: {
        TrainingImage: "i",
        TrainingInputMode: "File",
        ContainerEntrypoint: ["python3", "/opt/program/fit.py"],
      },
      InputDataConfig: [{
        ChannelName: "train",
        DataSource: { S3DataSource: { S3DataType: "S3Prefix", S3Uri: "s3://b/data/one.csv" } },
      }],
      OutputDataConfig: { S3OutputPath: "s3://b/out" },
      ResourceConfig: { InstanceCount: 1, InstanceType: "ml.m5.large", VolumeSizeInGB: 30 },
      StoppingCondition: { MaxRuntimeInSeconds: 60 },
    });
    const { root, run } = await miniRun([train], { "fit.py": DUMP_ENV });
    await Deno.mkdir(`${root}/s3/b/data`, { recursive: true });
    await Deno.writeTextFile(`${root}/s3/b/data/one.csv`, "text,label\n");
    Deno.env.set("SM_HPS", '{"C": "0.0001"}');
    Deno.env.set("MLOPS_LEAK_CHECK", "x");
    try {
      const result = await run.run();
      assert.equal(result.status, "Succeeded", result.failureReason ?? "");
    } finally {
      Deno.env.delete("SM_HPS");
      Deno.env.delete("MLOPS_LEAK_CHECK");
    }
    const seen = JSON.parse(await Deno.readTextFile(`${run.runDir}/Train/container/opt/ml/model/seen.json`));
    assert.deepEqual(seen.files, ["one.csv"], "a single object lands as a file in the channel");
    assert.equal(seen.env.SM_HPS, undefined, "the caller's SM_HPS does not reach the step");
    assert.equal(seen.env.MLOPS_LEAK_CHECK, undefined);
    assert.equal(seen.env.PYTHONDONTWRITEBYTECODE, "1", "the image's ENV is there");
    assert.ok(seen.env.PATH.split(":").includes(`${root}/program`), "/opt/program is on PATH, mapped");
    assert.deepEqual(
      Object.keys(seen.env).filter((k) => !(k in CONTAINER.env) && !k.startsWith("SM_")).sort(),
      [],
      `only the image's and the job's variables: ${Object.keys(seen.env).join(", ")}`,
    );
  },
});

Deno.test({
  name: "execution variables are SageMaker's; a processing failure's reason comes from /opt/ml/output/message",
  sanitizeResources: false,
  async fn() {
    const probe = processingStep("Probe", {
      RoleArn: "r",
      AppSpecification: {
        ImageUri: "i",
        ContainerEntrypoint: ["python3", "/opt/program/dump.py", "/opt/ml/processing/out"],
        ContainerArguments: [
          { Get: "Execution.ProcessingJobName" },
          { Get: "Execution.PipelineArn" },
          { Get: "Execution.StartDateTime" },
        ],
      },
      ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: "ml.m5.large", VolumeSizeInGB: 30 } },
    });
    const failing = processingStep("Failing", {
      RoleArn: "r",
      AppSpecification: {
        ImageUri: "i",
        ContainerEntrypoint: ["python3", "/opt/program/fail.py", "/opt/ml/output/message"],
      },
      ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: "ml.m5.large", VolumeSizeInGB: 30 } },
    }, { dependsOn: ["Probe"] });
    const { run } = await miniRun([probe, failing], {
      "dump.py": DUMP_ENV,
      "fail.py": [
        "import os, sys",
        "os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)",
        'open(sys.argv[1], "w").write("Cannot use input: no rows\\n")',
        'print("some noise", file=sys.stderr)',
        "sys.exit(1)",
      ].join("\n"),
    });
    const result = await run.run();
    const seen = JSON.parse(await Deno.readTextFile(`${run.runDir}/Probe/container/opt/ml/processing/out/seen.json`));
    assert.equal(seen.argv[0], `pipelines-${result.executionId}-Probe`);
    assert.equal(seen.argv[1], "local:pipeline/p");
    assert.ok(!Number.isNaN(Date.parse(seen.argv[2])), seen.argv[2]);
    assert.equal(result.failedStep, "Failing");
    assert.match(result.failureReason ?? "", /^Cannot use input: no rows \(log: .*Failing\/output\.log\)$/);
  },
});

Deno.test("an expression that cannot be resolved fails its step, and the run still writes its result", async () => {
  const check = conditionStep(
    "Check",
    [{
      Type: "GreaterThanOrEqualTo",
      LeftValue: jsonGet("Evaluate", "Report", "metrics.accuracy.value"),
      RightValue: 0.5,
    }],
    [],
    [failStep("Never", "unreachable")],
  );
  const { run } = await miniRun([check], {});
  const result = await run.run();
  assert.equal(result.status, "Failed");
  assert.equal(result.failedStep, "Check");
  assert.equal(result.failureReason, "Cannot resolve Steps.Evaluate.PropertyFiles.Report: no step has written it yet.");
  assert.equal(JSON.parse(await Deno.readTextFile(`${result.runDir}/result.json`)).failedStep, "Check");

  const old = await miniRun(
    [failStep("Stop", join(" ", ["started", { Get: "Execution.PipelineExecutionStartTime" }]))],
    {},
  );
  const stopped = await old.run.run();
  assert.equal(stopped.failedStep, "Stop");
  assert.equal(
    stopped.failureReason,
    "Cannot resolve Execution.PipelineExecutionStartTime: it is not an execution variable.",
  );
  assert.deepEqual(
    definitionProblems(old.run.definition),
    ['step "Stop": "Get": "Execution.PipelineExecutionStartTime" is not an execution variable'],
  );
});

Deno.test("finalMetrics takes the last match of each metric's regex, as SageMaker does", () => {
  const log = "epoch 1\nloss=0.9\nloss=0.4\nno number loss=x\n";
  assert.deepEqual(
    finalMetrics([{ Name: "loss", Regex: "loss=([0-9.]+)" }, { Name: "acc", Regex: "acc=([0-9.]+)" }], log),
    [{ MetricName: "loss", Value: 0.4 }],
  );
});

Deno.test("headCommit reads a linked worktree's HEAD through its gitdir, commondir and packed refs", async () => {
  const dir = await Deno.makeTempDir();
  const sha = "ab".repeat(20);
  await Deno.mkdir(`${dir}/main/.git/worktrees/wt`, { recursive: true });
  await Deno.mkdir(`${dir}/wt`);
  await Deno.writeTextFile(`${dir}/wt/.git`, `gitdir: ${dir}/main/.git/worktrees/wt\n`);
  await Deno.writeTextFile(`${dir}/main/.git/worktrees/wt/HEAD`, "ref: refs/heads/feature\n");
  await Deno.writeTextFile(`${dir}/main/.git/worktrees/wt/commondir`, "../..\n");
  await Deno.writeTextFile(`${dir}/main/.git/packed-refs`, `# pack-refs\n${sha} refs/heads/feature\n`);
  assert.equal(await headCommit(`${dir}/wt`), sha);
  await Deno.mkdir(`${dir}/main/.git/refs/heads`, { recursive: true });
  await Deno.writeTextFile(`${dir}/main/.git/refs/heads/feature`, `${"cd".repeat(20)}\n`);
  assert.equal(await headCommit(`${dir}/wt`), "cd".repeat(20), "a loose ref wins over the packed one");
  assert.equal(await headCommit(`${dir}/nowhere`), null);
});

Deno.test("registering with an approval status SageMaker does not know fails the step and registers nothing", async () => {
  const register = registerModelStep("Register", {
    ModelPackageGroupName: "g",
    ModelApprovalStatus: "Bogus" as never,
  });
  const { root, run } = await miniRun([register], {});
  const result = await run.run();
  assert.equal(result.failedStep, "Register");
  assert.equal(
    result.failureReason,
    'ModelApprovalStatus "Bogus" is not one of Approved, PendingManualApproval, Rejected.',
  );
  assert.equal(await Deno.stat(`${root}/registry/g`).then(() => true, () => false), false);
});
