import assert from "node:assert/strict";
import { Config } from "./config.ts";
import { lastError, renderBackendConfig, TerraformRoot } from "./terraform.ts";
import { REPO } from "../tests/helpers.ts";
import { takesVarFile } from "../tasks/tf.ts";
import { offlineInputs } from "./pipeline/definition.ts";

const config = await Config.load(`${REPO}/mlops.config.json`);

Deno.test("main root variables carry the environment's names and ids from the config", () => {
  const vars = new TerraformRoot(config, "main", "staging", { repoDir: REPO }).variables();
  assert.equal(vars.account_id, "333333333333");
  assert.equal(vars.bucket_name, "mlops-staging-ml-333333333333");
  assert.equal(vars.permissions_boundary_arn, "arn:aws:iam::333333333333:policy/mlops-workload-boundary");
  assert.equal(vars.ecr_repository_arn, "arn:aws:ecr:eu-west-1:111111111111:repository/mlops/training");
  assert.deepEqual(vars.retraining, {
    enabled: false,
    schedule_expression: "cron(0 3 ? * MON *)",
    scheduler_role_name: "mlops-staging-retraining",
  });
  assert.equal(vars.profile, null, "no profile unless profiles are used");
});

Deno.test("profiles reach Terraform only when enabled and never offline", () => {
  const laptop = new TerraformRoot(config, "operations", null, { repoDir: REPO, useProfiles: true });
  const vars = laptop.variables() as { profile: string; environments: Record<string, { profile: string }> };
  assert.equal(vars.profile, "mlops-operations");
  assert.equal(vars.environments.prod.profile, "mlops-prod");
  const offline = new TerraformRoot(config, "operations", null, { repoDir: REPO, useProfiles: true, offline: true });
  assert.equal(offline.variables().profile, null);
});

Deno.test("operations variables carry exact OIDC subjects per environment", () => {
  const vars = new TerraformRoot(config, "operations", null, { repoDir: REPO }).variables() as {
    build_subjects: string[];
    environments: Record<string, { deploy_subjects: string[]; plan_subjects: string[] }>;
  };
  assert.deepEqual(vars.build_subjects, ["repo:example-org/mlops-template:ref:refs/heads/main"]);
  assert.deepEqual(vars.environments.dev.deploy_subjects, ["repo:example-org/mlops-template:ref:refs/heads/main"]);
  assert.deepEqual(vars.environments.prod.deploy_subjects, ["repo:example-org/mlops-template:environment:prod"]);
  assert.deepEqual(vars.environments.staging.plan_subjects, ["repo:example-org/mlops-template:pull_request"]);
});

Deno.test("operations variables name the workload roles each deploy role may create; their ARNs carry the workload path", () => {
  const vars = new TerraformRoot(config, "operations", null, { repoDir: REPO }).variables() as {
    environments: Record<string, { execution_role_name: string; scheduler_role_name: string }>;
  };
  const main = new TerraformRoot(config, "main", "dev", { repoDir: REPO }).variables() as {
    execution_role_name: string;
    retraining: { scheduler_role_name: string };
  };
  assert.equal(vars.environments.dev.execution_role_name, main.execution_role_name);
  assert.equal(vars.environments.dev.scheduler_role_name, main.retraining.scheduler_role_name);
  assert.equal(config.names.workloadRolePath, "/mlops-workload/");
  assert.equal(
    offlineInputs(config, "dev").executionRoleArn,
    "arn:aws:iam::222222222222:role/mlops-workload/mlops-dev-sagemaker-execution",
  );
});

Deno.test("backend config: one state key per environment inside its prefix, native locking, profile on a laptop", () => {
  const main = new TerraformRoot(config, "main", "prod", { repoDir: REPO, useProfiles: true }).backendConfig();
  assert.deepEqual(main, {
    bucket: "mlops-tfstate-111111111111",
    key: "main/prod/terraform.tfstate",
    workspace_key_prefix: "main/prod",
    region: "eu-west-1",
    encrypt: true,
    use_lockfile: true,
    profile: "mlops-operations",
  });
  const ops = new TerraformRoot(config, "operations", null, { repoDir: REPO }).backendConfig();
  assert.equal(ops?.key, "operations/terraform.tfstate");
  assert.equal(ops?.profile, undefined);
  assert.equal(new TerraformRoot(config, "backend", null, { repoDir: REPO, localState: true }).backendConfig(), null);
  assert.equal(renderBackendConfig({ bucket: "b", use_lockfile: true }), 'bucket = "b"\nuse_lockfile = true\n');
});

Deno.test("offline override swaps in local state and skip flags for every provider alias", () => {
  const root = new TerraformRoot(config, "operations", null, { repoDir: REPO, offline: true, stateDir: "/tmp/x" });
  const text = root.override();
  assert.match(text, /backend "local" \{\n {4}path = "\/tmp\/x\/offline\/operations\/terraform.tfstate"/);
  assert.equal(text.match(/skip_requesting_account_id {2}= true/g)?.length, 4, "default + dev, staging, prod");
  for (const alias of ["dev", "staging", "prod"]) assert.match(text, new RegExp(`alias = "${alias}"`));
  assert.equal(root.backendConfig(), null);
});

Deno.test("the CLI config installs only from the provider mirror when one is given", () => {
  const mirrored = new TerraformRoot(config, "backend", null, { repoDir: REPO, providerMirror: "/opt/mirror" });
  assert.match(mirrored.cliConfig(), /filesystem_mirror \{\n {4}path = "\/opt\/mirror"/);
  assert.doesNotMatch(
    new TerraformRoot(config, "backend", null, { repoDir: REPO }).cliConfig(),
    /provider_installation/,
  );
});

Deno.test("roots refuse the wrong environment arity and bad lock timeouts", () => {
  assert.throws(() => new TerraformRoot(config, "main", null), /needs an environment/);
  assert.throws(() => new TerraformRoot(config, "backend", "dev"), /shared by all environments/);
  assert.throws(
    () => new TerraformRoot(config, "backend", null, { lockTimeout: "soon" }),
    /Invalid lock timeout "soon"/,
  );
});

Deno.test("lastError picks Terraform's error summary out of the box drawing", () => {
  const stderr = "╷\n│ Error: Error acquiring the state lock\n│ \n│ Lock Info:\n│   ID: 123\n╵\n";
  assert.equal(lastError(stderr), "Error acquiring the state lock Lock Info: ID: 123");
});

Deno.test("tf passes the var file only to commands that take one", () => {
  assert.equal(takesVarFile(["plan"]), true);
  assert.equal(takesVarFile(["apply"]), true);
  assert.equal(takesVarFile(["apply", "saved.tfplan"]), false);
  assert.equal(takesVarFile(["state", "list"]), false);
});

Deno.test("a held state lock is reported with its holder and how to release it", () => {
  const stderr = [
    "╷",
    "│ Error: Error acquiring the state lock",
    "│ ",
    "│ Error message: operation error S3: PutObject, https response error StatusCode: 412",
    "│ Lock Info:",
    "│   ID:        0b5e6e1c-1111-2222-3333-444455556666",
    "│   Path:      mlops-tfstate-111111111111/main/dev/terraform.tfstate",
    "│   Operation: OperationTypeApply",
    "│   Who:       alice@laptop",
    "│   Version:   1.11.4",
    "│   Created:   2026-11-26 09:00:00.000000000 +0000 UTC",
    "╵",
  ].join("\n");
  const root = new TerraformRoot(config, "main", "dev", { repoDir: REPO, lockTimeout: "30s" });
  assert.equal(
    root.failure("plan", stderr).message,
    "The state of main-dev is locked by alice@laptop (OperationTypeApply since 2026-11-26 09:00:00.000000000 +0000 UTC, " +
      "lock ID 0b5e6e1c-1111-2222-3333-444455556666); waited 30s. Re-run when that run has finished; if it died, " +
      "release the lock with: deno task tf main dev -- force-unlock -force 0b5e6e1c-1111-2222-3333-444455556666",
  );
  assert.match(
    root.failure("plan", "│ Error: Invalid value\n│ \n│ bad thing").message,
    /^terraform plan failed in main-dev: Invalid value bad thing$/,
  );
});
