import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { Config } from "../config.ts";
import { sha256Hex } from "../hash.ts";
import { REPO } from "../../tests/helpers.ts";
import { buildDefinition, canonicalJson, CONTAINER, definitionHash, offlineInputs, STEP } from "./definition.ts";
import { collectGets } from "./expressions.ts";
import { allSteps, type PipelineDefinition } from "./steps.ts";
import { definitionProblems } from "./validate.ts";

const config = await Config.load(`${REPO}/mlops.config.json`);
const definition = buildDefinition(offlineInputs(config, "prod"));

Deno.test("the definition is structurally sound: unique names, resolvable Gets, existing branches", () => {
  assert.deepEqual(definitionProblems(definition), []);
  const names = allSteps(definition.Steps).map((s) => s.Name);
  assert.deepEqual(names, [STEP.preprocess, STEP.train, STEP.evaluate, STEP.check, STEP.register, STEP.fail]);
  assert.equal(new Set(names).size, names.length);
  const check = definition.Steps.find((s) => s.Name === STEP.check);
  assert.ok(check?.Type === "Condition");
  assert.deepEqual(check.Arguments.IfSteps.map((s) => s.Name), [STEP.register]);
  assert.deepEqual(check.Arguments.ElseSteps.map((s) => s.Name), [STEP.fail]);
  assert.equal(check.Arguments.Conditions[0].Type, "GreaterThanOrEqualTo");
  assert.deepEqual(check.Arguments.Conditions[0].LeftValue, {
    "Std:JsonGet": {
      PropertyFile: { Get: "Steps.Evaluate.PropertyFiles.EvaluationReport" },
      Path: "metrics.accuracy.value",
    },
  });
});

Deno.test("the validator catches dangling references, duplicate names and empty branches", () => {
  const broken = structuredClone(definition) as PipelineDefinition;
  broken.Parameters = broken.Parameters.filter((p) => p.Name !== "TrainingInstanceType");
  broken.Steps[2].Name = STEP.train;
  const problems = definitionProblems(broken);
  assert.ok(
    problems.some((p) => p.includes('"Get": "Parameters.TrainingInstanceType" names an undeclared parameter')),
    problems.join("\n"),
  );
  assert.ok(problems.includes(`step name "${STEP.train}" is used twice`), problems.join("\n"));
  const noFile = structuredClone(definition) as PipelineDefinition;
  const evaluate = noFile.Steps.find((s) => s.Name === STEP.evaluate);
  if (evaluate?.Type === "Processing") evaluate.PropertyFiles = [];
  assert.ok(definitionProblems(noFile).some((p) => p.includes('names property file "EvaluationReport"')));
});

Deno.test("inputs flow in explicitly: role, bucket, group, pinned image, env's approval status", () => {
  const inputs = {
    ...offlineInputs(config, "staging"),
    executionRoleArn: "arn:aws:iam::333333333333:role/custom",
    bucket: "custom-bucket",
    imageUri: `1.dkr.ecr.eu-west-1.amazonaws.com/x@sha256:${"a".repeat(64)}`,
  };
  const json = canonicalJson(buildDefinition(inputs));
  assert.ok(json.includes('"RoleArn":"arn:aws:iam::333333333333:role/custom"'));
  assert.ok(json.includes("s3://custom-bucket/pipelines/"));
  assert.equal(json.match(/@sha256:a{64}/g)?.length, 4, "every image reference is the pinned digest");
  const prodStatus = definition.Parameters.find((p) => p.Name === "ModelApprovalStatus")?.DefaultValue;
  assert.equal(prodStatus, "PendingManualApproval");
  assert.throws(
    () => buildDefinition({ ...inputs, imageUri: "repo:latest" }),
    /must be pinned by digest .* got "repo:latest"/,
  );
});

Deno.test("the JSON is canonical and deterministic", async () => {
  const again = buildDefinition(offlineInputs(config, "prod"));
  assert.equal(canonicalJson(again), canonicalJson(definition));
  assert.equal(await definitionHash(again), await definitionHash(definition));
  const reverseKeys = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(reverseKeys)
      : typeof v === "object" && v !== null
      ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)]))
      : v;
  const reordered = reverseKeys(definition);
  assert.notEqual(JSON.stringify(reordered), JSON.stringify(definition), "the copy really is in another key order");
  assert.equal(canonicalJson(reordered), canonicalJson(definition));
  assert.notEqual(
    await definitionHash(buildDefinition(offlineInputs(config, "dev"))),
    await definitionHash(definition),
  );
});

Deno.test("every Get in the definition is declared (cross-check of the collector)", () => {
  const gets = collectGets(definition.Steps);
  assert.ok(gets.includes("Parameters.AccuracyThreshold"));
  assert.ok(gets.includes("Steps.Train.ModelArtifacts.S3ModelArtifacts"));
  const declared = new Set(definition.Parameters.map((p) => p.Name));
  for (const g of gets.filter((g) => g.startsWith("Parameters."))) assert.ok(declared.has(g.split(".")[1]), g);
});

Deno.test("the printed definition's step Arguments type-check against the AWS SDK request shapes", async () => {
  const steps = allSteps(definition.Steps);
  const lines = [`import type { Step } from "${REPO}/lib/pipeline/steps.ts";`];
  const printed = JSON.parse(canonicalJson(definition)) as PipelineDefinition;
  allSteps(printed.Steps).forEach((step, i) => lines.push(`export const step${i}: Step = ${JSON.stringify(step)};`));
  // A misspelt field must fail the same check, or the check proves nothing.
  lines.push(`// @ts-expect-error: not a CreateProcessingJob field`);
  lines.push(`export const wrong: Step = { Name: "x", Type: "Processing", Arguments: { ProcessingResourcez: {} } };`);
  lines.push(`// @ts-expect-error: not a CreateModelPackage field`);
  lines.push(
    `export const wrongMeta: Step = { Name: "x", Type: "RegisterModel", Arguments: { CustomerMetadata: {} } };`,
  );
  lines.push(`// @ts-expect-error: not a retryable exception type`);
  lines.push(
    `export const wrongRetry: Step["RetryPolicies"] = [{ ExceptionType: ["Step.TIMEOUT"], IntervalSeconds: 1, BackoffRate: 1, MaxAttempts: 1 }];`,
  );
  // Always the same path for this checkout: deno check then skips a file (and SDK types) it already passed
  // unchanged, by content; a random path would miss its cache and type-check the SDK's models every run.
  // Not under the repository's .mlops/: deno.json excludes it, and deno check would check nothing there.
  const dir = `${tmpdir()}/mlops-definition-check-${(await sha256Hex(REPO)).slice(0, 12)}`;
  await Deno.mkdir(dir, { recursive: true });
  const file = `${dir}/printed.ts`;
  // Written beside it and renamed, so a concurrent run of this test never checks half a file.
  await Deno.writeTextFile(`${file}.${Deno.pid}`, lines.join("\n"));
  await Deno.rename(`${file}.${Deno.pid}`, file);
  const check = await new Deno.Command(Deno.execPath(), {
    args: ["check", `--config=${REPO}/deno.json`, file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(check.stderr);
  assert.equal(check.code, 0, stderr);
  assert.doesNotMatch(stderr, /No matching files/, "the printed file was checked");
  assert.equal(steps.length, 6);
});

Deno.test("closed-set parameters carry SageMaker's EnumValues; hyperparameters are typed as the config declares", () => {
  const byName = Object.fromEntries(definition.Parameters.map((p) => [p.Name, p]));
  assert.deepEqual(byName.ModelApprovalStatus.EnumValues, ["Approved", "PendingManualApproval", "Rejected"]);
  for (const name of ["ProcessingInstanceType", "TrainingInstanceType"]) {
    assert.ok(byName[name].EnumValues!.includes("ml.m5.large"), name);
    assert.ok(byName[name].EnumValues!.length > 50, name);
  }
  assert.deepEqual(
    ["max_features", "ngram_max", "C", "seed"].map((n) => [n, byName[n].Type, byName[n].DefaultValue]),
    [["max_features", "Integer", 5000], ["ngram_max", "Integer", 2], ["C", "Float", 4], ["seed", "Integer", 42]],
  );
  const train = allSteps(definition.Steps).find((s) => s.Name === STEP.train);
  assert.ok(train?.Type === "Training");
  assert.deepEqual(train.Arguments.HyperParameters?.C, { "Std:Join": { On: "", Values: [{ Get: "Parameters.C" }] } });
  const wrongDefault = structuredClone(definition) as PipelineDefinition;
  wrongDefault.Parameters.find((p) => p.Name === "TrainingInstanceType")!.DefaultValue = "ml.m5.huge";
  assert.deepEqual(definitionProblems(wrongDefault), [
    'parameter "TrainingInstanceType" defaults to "ml.m5.huge", which is not one of its EnumValues',
  ]);
});

Deno.test("registry metadata: commit, image digest and data version on every version; metrics in model-quality format", () => {
  const inputs = { ...offlineInputs(config, "dev"), commit: "c0ffee".padEnd(40, "0") };
  const register = allSteps(buildDefinition(inputs).Steps).find((s) => s.Name === STEP.register);
  assert.ok(register?.Type === "RegisterModel");
  assert.deepEqual(register.Arguments.CustomerMetadataProperties, {
    GitCommit: inputs.commit,
    ImageDigest: `sha256:${"0".repeat(64)}`,
    DataUri: { Get: "Parameters.InputData" },
    DataSha256: {
      "Std:JsonGet": { PropertyFile: { Get: "Steps.Preprocess.PropertyFiles.DatasetVersion" }, Path: "sha256" },
    },
    DataETag: {
      "Std:JsonGet": { PropertyFile: { Get: "Steps.Preprocess.PropertyFiles.DatasetVersion" }, Path: "etag" },
    },
  });
  assert.deepEqual(register.Arguments.ModelMetrics?.ModelQuality?.Statistics?.S3Uri, {
    "Std:Join": {
      On: "/",
      Values: [
        { Get: "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri" },
        "model_quality.json",
      ],
    },
  });
  assert.deepEqual(definitionProblems(buildDefinition(inputs)), [], "the DatasetVersion property file is declared");
});

Deno.test("operations: the config's tags on every job and version, retries on every step, training metrics, no experiment", () => {
  const steps = allSteps(definition.Steps);
  const tags = [{ Key: "project", Value: "mlops-template" }];
  for (const step of steps.filter((s) => s.Type !== "Condition" && s.Type !== "Fail")) {
    assert.deepEqual((step.Arguments as { Tags?: unknown }).Tags, tags, step.Name);
    assert.ok(step.RetryPolicies?.some((p) => p.ExceptionType.includes("Step.THROTTLING")), step.Name);
  }
  for (const name of [STEP.preprocess, STEP.train, STEP.evaluate]) {
    const policies = steps.find((s) => s.Name === name)?.RetryPolicies ?? [];
    assert.ok(policies.some((p) => p.ExceptionType.includes("SageMaker.CAPACITY_ERROR")), name);
  }
  const train = steps.find((s) => s.Name === STEP.train);
  assert.ok(train?.Type === "Training");
  const [metric] = train.Arguments.AlgorithmSpecification?.MetricDefinitions ?? [];
  assert.equal(new RegExp(metric.Regex as string).exec("train_accuracy=0.9876")?.[1], "0.9876");
  const preprocess = steps.find((s) => s.Name === STEP.preprocess);
  assert.ok(preprocess?.Type === "Processing");
  assert.deepEqual(preprocess.CacheConfig, { Enabled: true, ExpireAfter: "PT12H" });
  const args = preprocess.Arguments.AppSpecification?.ContainerArguments ?? [];
  assert.deepEqual(
    args[args.indexOf("--data-version") + 1],
    { Get: "Parameters.InputDataVersion" },
    "cache keyed by data",
  );
  assert.deepEqual(
    steps.filter((s) => s.Type === "Processing" && s.CacheConfig).map((s) => s.Name),
    [STEP.preprocess],
    "only Preprocess is cached",
  );
  assert.equal(
    "PipelineExperimentConfig" in definition,
    false,
    "no experiment config: it needs experiment rights the execution role does not have (see buildDefinition)",
  );
});

/** Problems botocore's SageMaker service model finds in the definition's job and registration arguments. */
async function serviceModelProblems(value: unknown): Promise<string[]> {
  const child = new Deno.Command("python3", {
    args: [`${REPO}/tests/sagemaker_model_check.py`],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(canonicalJson(value)));
  await writer.close();
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.code === 0 || out.code === 1, `the service-model check could not run (exit ${out.code}): ${stderr}`);
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
}

Deno.test("every step's arguments, new fields included, satisfy SageMaker's service model (botocore)", async () => {
  const withCommit = buildDefinition({ ...offlineInputs(config, "prod"), commit: "f".repeat(40) });
  // The same check must catch what SageMaker would reject, or it proves nothing.
  const broken = structuredClone(withCommit) as PipelineDefinition;
  const steps = allSteps(broken.Steps);
  const train = steps.find((s) => s.Name === STEP.train);
  const register = steps.find((s) => s.Name === STEP.register);
  assert.ok(train?.Type === "Training" && register?.Type === "RegisterModel");
  train.Arguments.ResourceConfig!.InstanceType = "ml.m5.huge" as never;
  train.Arguments.Tags = [{ Key: "k".repeat(129), Value: "v" }];
  train.Arguments.AlgorithmSpecification!.MetricDefinitions = [{ Name: "", Regex: "x" }];
  register.Arguments.CustomerMetadataProperties = { "not a key!": "v" };
  (register.Arguments as Record<string, unknown>).ModelApprovalStatuz = "Approved";
  // One run checks both (loading botocore's service model is most of its cost); the broken copy's steps are
  // renamed so that its problems are told apart from the sound definition's.
  for (const step of steps) step.Name = `Broken ${step.Name}`;
  const problems = await serviceModelProblems({ ...withCommit, Steps: [...withCommit.Steps, ...broken.Steps] });
  assert.deepEqual(problems.filter((p) => !p.startsWith("Broken ")), [], "the definition itself has no problems");
  assert.deepEqual(
    problems.filter((p) => p.startsWith("Broken ")).map((p) =>
      p.slice("Broken ".length).replace(/ does not match .*/, " does not match").replace(/\d+ values/, "N values")
    ),
    [
      "Train.AlgorithmSpecification.MetricDefinitions[0].Name: 0 characters, outside 1-255",
      'Train.AlgorithmSpecification.MetricDefinitions[0].Name: "" does not match',
      'Train.ResourceConfig.InstanceType: "ml.m5.huge" is not one of TrainingInstanceType\'s N values',
      "Train.Tags[0].Key: 129 characters, outside 1-128",
      "RegisterModel.ModelApprovalStatuz: not a member of CreateModelPackageInput",
      'RegisterModel.CustomerMetadataProperties key "not a key!": "not a key!" does not match',
    ],
  );
});

Deno.test("the local runner's container environment is the Dockerfile's ENV", async () => {
  const dockerfile = await Deno.readTextFile(`${REPO}/training-pipeline/Dockerfile`);
  const block = /^ENV ((?:.*\\\n)*.*)$/m.exec(dockerfile)?.[1];
  assert.ok(block, "the Dockerfile has an ENV instruction");
  const declared = Object.fromEntries(
    block.replace(/\\\n/g, " ").trim().split(/\s+/).map((pair) => pair.split("=") as [string, string]),
  );
  const { PATH, ...rest } = declared;
  assert.match(PATH, /^\/opt\/program:\$PATH$/);
  assert.ok(CONTAINER.env.PATH.startsWith("/opt/program:"), "the program directory comes first, as in the image");
  for (const [name, value] of Object.entries(rest)) assert.equal(CONTAINER.env[name], value, name);
  assert.equal(CONTAINER.env.OMP_NUM_THREADS, "1", "one BLAS thread per step process, as in the image");
});
