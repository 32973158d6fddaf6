import assert from "node:assert/strict";
import { Config, ConfigError, configJsonSchema, hyperparameterProblem, lineAndColumn, schemaText } from "./config.ts";
import { exampleConfig, REPO } from "../tests/helpers.ts";

async function exampleText(edit: (c: Record<string, unknown>) => void = () => {}): Promise<string> {
  const config = await exampleConfig() as unknown as Record<string, unknown>;
  edit(config);
  return JSON.stringify(config, null, 2);
}

function parseError(text: string): ConfigError {
  try {
    Config.parse("test.json", text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error;
  }
  assert.fail("the config was accepted");
}

Deno.test("the shipped example config is valid and fills defaults", async () => {
  const config = await Config.load(`${REPO}/mlops.config.json`);
  assert.equal(config.environment("dev").runPipeline, true);
  assert.equal(config.environment("prod").promoteFrom, "staging");
  assert.equal(config.data.terraform.lockTimeout, "5m");
});

Deno.test("a malformed account id names the field path, the value and what is expected", async () => {
  const error = parseError(
    await exampleText((c) => {
      (c.accounts as Record<string, { id: string }>).prod.id = "12345";
    }),
  );
  assert.equal(
    error.message,
    'Invalid config "test.json": accounts.prod.id: "12345" is not a 12-digit AWS account id. Fix it in test.json',
  );
});

Deno.test("an unknown key is rejected with the keys that are allowed", async () => {
  const error = parseError(
    await exampleText((c) => {
      (c.environments as Record<string, Record<string, unknown>>).dev.runPipline = true;
    }),
  );
  assert.match(error.message, /environments\.dev\.runPipline: unknown field; expected one of runPipeline,/);
});

Deno.test("each kind of mistake gets its sentence: path, the bad value and what is expected", async () => {
  const longKey = "k".repeat(129);
  const error = parseError(
    await exampleText((c) => {
      const envs = c.environments as Record<string, Record<string, unknown>>;
      delete envs.dev.modelApprovalStatus;
      envs.dev.runPipeline = "yes";
      envs.staging.modelApprovalStatus = "Maybe";
      envs.prod.ci = "refs/tags/prod";
      const pipeline = c.pipeline as Record<string, unknown>;
      pipeline.accuracyThreshold = 1.5;
      pipeline.hyperparameters = { C: "four" };
      c.accessLogs = { enabled: true, retentionDays: 0 };
      c.tags = { [longKey]: "x" };
      (c.accounts as Record<string, { profile: unknown }>).dev.profile = null;
    }),
  );
  assert.deepEqual(error.issues.map((i) => `${i.path}: ${i.message}`), [
    'environments.dev.runPipeline: "yes" is not true or false',
    "environments.dev.modelApprovalStatus: is missing (Approval status the pipeline gives a model version it registers.)",
    'environments.staging.modelApprovalStatus: "Maybe" is not one of "Approved", "PendingManualApproval"',
    'environments.prod.ci: "refs/tags/prod" is not an object',
    "pipeline.accuracyThreshold: 1.5 is not a number ≥ 0 ≤ 1",
    'pipeline.hyperparameters.C: "four" is not a number > 0',
    "accessLogs.retentionDays: 0 is not an integer ≥ 1",
    `tags.${longKey}: key "${longKey}" is not 1-128 characters`,
  ]);
});

Deno.test("defaults are filled in and null is accepted where the schema allows it", async () => {
  const config = Config.parse(
    "x.json",
    await exampleText((c) => {
      delete c.terraform;
      (c.accounts as Record<string, { profile: unknown }>).dev.profile = null;
    }),
  );
  assert.deepEqual(config.data.terraform, { lockTimeout: "5m", providerMirror: null });
  assert.deepEqual(config.data.accessLogs, { enabled: false, retentionDays: 365 });
  assert.equal(config.account("dev").profile, null);
  assert.equal(config.environment("staging").buildIfMissing, false);
});

Deno.test("broken JSON reports line and column", () => {
  const error = parseError('{\n  "name": "mlops",\n  "region": eu-west-1\n}');
  assert.match(error.message, /malformed JSON at line 3, column 13/);
});

Deno.test("every problem is listed at once", async () => {
  const error = parseError(
    await exampleText((c) => {
      c.region = "mars-1";
      c.name = "Bad Name";
      (c.github as Record<string, string>).repository = "no-slash";
    }),
  );
  assert.equal(error.issues.length, 3);
  assert.deepEqual(error.issues.map((i) => i.path).sort(), ["github.repository", "name", "region"]);
});

Deno.test("cross-field rules: promotion order and distinct accounts", async () => {
  const error = parseError(
    await exampleText((c) => {
      const envs = c.environments as Record<string, Record<string, unknown>>;
      envs.staging.promoteFrom = "prod";
      (c.accounts as Record<string, { id: string }>).dev.id = "444444444444";
    }),
  );
  const messages = error.issues.map((i) => `${i.path}: ${i.message}`);
  assert.ok(
    messages.some((m) => m.startsWith('environments.staging.promoteFrom: "prod" comes after "staging"')),
    messages.join("\n"),
  );
  assert.ok(messages.some((m) => m.includes("is also the") && m.includes("account")), messages.join("\n"));
});

Deno.test("a missing config file says how to fix it", async () => {
  await assert.rejects(() => Config.load("/nonexistent/mlops.config.json"), (error: Error) => {
    assert.match(
      error.message,
      /cannot be read: the file does not exist\. Run the task in the repository \(its mlops\.config\.json is the example to edit\), or pass --config <file>/,
    );
    return true;
  });
});

Deno.test("the committed JSON Schema is generated from the validating schema", async () => {
  const committed = await Deno.readTextFile(`${REPO}/mlops.config.schema.json`);
  assert.equal(committed, schemaText(), "mlops.config.schema.json is stale: run `deno task schema`");
  const schema = configJsonSchema() as { properties: Record<string, { properties?: Record<string, unknown> }> };
  assert.ok(schema.properties.accounts.properties?.prod, "the schema describes accounts.prod");
});

Deno.test("derived names and OIDC subjects come from the config only", async () => {
  const config = Config.parse(
    "x.json",
    await exampleText((c) => {
      c.name = "acme";
      (c.accounts as Record<string, { id: string }>).operations.id = "999999999999";
      (c.github as Record<string, string>).repository = "acme/models";
    }),
  );
  assert.equal(config.names.stateBucket, "acme-tfstate-999999999999");
  assert.equal(config.names.deployRole("prod"), "acme-prod-deploy");
  assert.deepEqual(config.subjects.deploy("prod"), ["repo:acme/models:environment:prod"]);
  assert.deepEqual(config.subjects.deploy("staging"), ["repo:acme/models:ref:refs/tags/staging"]);
  assert.deepEqual(config.subjects.build, ["repo:acme/models:ref:refs/heads/main"]);
});

Deno.test("lineAndColumn counts from 1", () => {
  assert.deepEqual(lineAndColumn("ab\ncd", 4), { line: 2, column: 2 });
  assert.deepEqual(lineAndColumn("ab", 0), { line: 1, column: 1 });
});

Deno.test("serving defaults to serverless; a partial serving block keeps the other defaults; memory steps are checked", async () => {
  const config = await Config.load(`${REPO}/mlops.config.json`);
  assert.deepEqual(config.environment("prod").serving, {
    variant: "serverless",
    memorySizeInMb: 2048,
    maxConcurrency: 5,
    instanceType: "ml.m5.large",
    instanceCount: 1,
    deployOnPromote: true,
  });
  const provisioned = Config.parse(
    "test.json",
    await exampleText((c) => {
      (c.environments as Record<string, Record<string, unknown>>).prod.serving = { variant: "provisioned" };
    }),
  );
  assert.equal(provisioned.environment("prod").serving.variant, "provisioned");
  assert.equal(provisioned.environment("prod").serving.instanceType, "ml.m5.large");
  const error = parseError(
    await exampleText((c) => {
      (c.environments as Record<string, Record<string, unknown>>).dev.serving = { memorySizeInMb: 1500 };
    }),
  );
  assert.equal(
    error.message,
    'Invalid config "test.json": environments.dev.serving.memorySizeInMb: 1500 is not a multiple of 1024 (serverless memory is 1024, 2048, … 6144). Fix it in test.json',
  );
});

Deno.test("hyperparameters are declared: an unknown name or a value out of range is rejected with its field path", async () => {
  const error = parseError(
    await exampleText((c) => {
      (c.pipeline as Record<string, unknown>).hyperparameters = { max_features: 2.5, ngram_max: 9, C: 0, c: 1 };
    }),
  );
  assert.deepEqual(error.issues.map((i) => `${i.path}: ${i.message}`), [
    "pipeline.hyperparameters.c: unknown field; expected one of max_features, ngram_max, C, seed",
    "pipeline.hyperparameters.max_features: 2.5 is not an integer ≥ 1 ≤ 10000000",
    "pipeline.hyperparameters.ngram_max: 9 is not an integer ≥ 1 ≤ 5",
    "pipeline.hyperparameters.C: 0 is not a number > 0",
  ]);
  const config = Config.parse(
    "test.json",
    await exampleText((c) => (c.pipeline as Record<string, unknown>).hyperparameters = {}),
  );
  assert.deepEqual(config.data.pipeline.hyperparameters, { max_features: 20000, ngram_max: 2, C: 1, seed: 42 });
});

Deno.test("hyperparameterProblem words a --param value as the config check does", () => {
  assert.equal(hyperparameterProblem("C", 0.5), null);
  assert.equal(hyperparameterProblem("C", -1), "-1 is not a number > 0");
  assert.equal(hyperparameterProblem("seed", 2 ** 32), "4294967296 is not an integer ≥ 0 ≤ 4294967295");
  assert.equal(
    hyperparameterProblem("gamma", 1),
    '"gamma" is not a hyperparameter; expected one of max_features, ngram_max, C, seed',
  );
});
