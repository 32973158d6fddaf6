/**
 * Every Terraform root planned offline, through the real tasks and the real
 * terraform binary, with a config whose account ids, region and repository
 * all differ from the example: the plan must carry the config's values where
 * they belong and the example's nowhere (no value is baked into the HCL).
 */
import assert from "node:assert/strict";
import { isolatedEnv, REPO, runTask, type TaskRun, writeConfig } from "./helpers.ts";

const EXAMPLE_VALUES = [
  "111111111111",
  "222222222222",
  "333333333333",
  "444444444444",
  "eu-west-1",
  "example-org",
  "mlops-template",
];
const CUSTOM = {
  operations: "510000000001",
  dev: "520000000002",
  staging: "530000000003",
  prod: "540000000004",
  region: "ap-southeast-2",
  repository: "acme-ml/churn-models",
};

interface PlanJson {
  variables: Record<string, { value: unknown }>;
  planned_values: { root_module: unknown };
  configuration: unknown;
}

async function customWorkspace(): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await Deno.makeTempDir();
  await Deno.symlink(`${REPO}/terraform`, `${dir}/terraform`);
  await writeConfig(dir, (c) => {
    c.name = "acme";
    c.region = CUSTOM.region;
    c.github.repository = CUSTOM.repository;
    c.accounts.operations.id = CUSTOM.operations;
    c.accounts.dev.id = CUSTOM.dev;
    c.accounts.staging.id = CUSTOM.staging;
    c.accounts.prod.id = CUSTOM.prod;
    c.tags = { team: "ml" };
  });
  return { dir, env: isolatedEnv(dir) };
}

function resources(module: unknown, into: { address: string; values: Record<string, unknown> }[] = []) {
  const m = module as { resources?: { address: string; values: Record<string, unknown> }[]; child_modules?: unknown[] };
  into.push(...(m.resources ?? []));
  for (const child of m.child_modules ?? []) resources(child, into);
  return into;
}

function assertNoExampleValues(root: string, plan: PlanJson): void {
  const text = JSON.stringify({ variables: plan.variables, planned: plan.planned_values });
  for (const value of EXAMPLE_VALUES) {
    assert.ok(!text.includes(value), `${root}: the example's "${value}" leaked into the plan`);
  }
}

/**
 * One workspace planned the way a user does it, `bootstrap --plan --offline --json` (backend and operations)
 * and then `deploy prod --plan --offline --json` (main): one init per root, shared by every check below.
 * (One after the other: two terraform processes installing into one plugin cache at once can race.)
 */
let planning: Promise<{ bootstrap: TaskRun; deploy: TaskRun }> | undefined;
function planned(): Promise<{ bootstrap: TaskRun; deploy: TaskRun }> {
  return planning ??= (async () => {
    const { dir, env } = await customWorkspace();
    const bootstrap = await runTask("bootstrap", ["--plan", "--offline", "--json"], { cwd: dir, env, clearEnv: true });
    const deploy = await runTask("deploy", ["prod", "--plan", "--offline", "--json"], {
      cwd: dir,
      env,
      clearEnv: true,
    });
    return { bootstrap, deploy };
  })();
}

async function plansOf(): Promise<Record<"backend" | "operations" | "main", PlanJson>> {
  const { bootstrap, deploy } = await planned();
  assert.equal(bootstrap.code, 3, bootstrap.stderr);
  assert.equal(deploy.code, 3, deploy.stderr);
  const steps = (JSON.parse(bootstrap.stdout) as { steps: { planJsonFile?: string }[] }).steps;
  const read = async (file: string | undefined) => JSON.parse(await Deno.readTextFile(file!)) as PlanJson;
  return {
    backend: await read(steps[0].planJsonFile),
    operations: await read(steps[1].planJsonFile),
    main: await read(JSON.parse(deploy.stdout).planJsonFile),
  };
}

Deno.test({
  name: "offline plans of every root carry the config's accounts, region and repository, and none of the example's",
  sanitizeResources: false,
  async fn() {
    const { backend, operations, main } = await plansOf();
    for (const [root, plan] of Object.entries({ backend, operations, main })) {
      assertNoExampleValues(root, plan);
      assert.equal(plan.variables.region.value, CUSTOM.region, `${root} region`);
    }

    const stateBucket = resources(backend.planned_values.root_module).find((r) =>
      r.address.endsWith("aws_s3_bucket.this")
    );
    assert.equal(stateBucket?.values.bucket, `acme-tfstate-${CUSTOM.operations}`);
    const backendText = JSON.stringify(backend.planned_values);
    for (const id of [CUSTOM.dev, CUSTOM.staging, CUSTOM.prod]) {
      assert.ok(backendText.includes(`arn:aws:iam::${id}:root`), `state access for ${id}`);
    }

    // Trust policies reference the OIDC providers' ARNs, unknown until apply; the exact subjects
    // reach them through these variables (the terraform tests prove the policies use them).
    const opsVars = operations.variables as Record<string, { value: unknown }>;
    assert.deepEqual(opsVars.build_subjects.value, [`repo:${CUSTOM.repository}:ref:refs/heads/main`]);
    const envs = opsVars.environments.value as Record<string, { account_id: string; deploy_subjects: string[] }>;
    assert.deepEqual(envs.prod.deploy_subjects, [`repo:${CUSTOM.repository}:environment:prod`]);
    assert.deepEqual(envs.staging.deploy_subjects, [`repo:${CUSTOM.repository}:ref:refs/tags/staging`]);
    assert.equal(envs.dev.account_id, CUSTOM.dev);
    const opsResources = resources(operations.planned_values.root_module);
    const repository = opsResources.find((r) => r.address.endsWith("aws_ecr_repository.this"));
    assert.equal(repository?.values.name, "acme/training");
    const pullPolicy = opsResources.find((r) => r.address.endsWith("aws_ecr_repository_policy.this"));
    const pullers = JSON.stringify(pullPolicy?.values.policy ?? "");
    for (const id of [CUSTOM.dev, CUSTOM.staging, CUSTOM.prod]) {
      assert.ok(pullers.includes(id), `${id} may pull images`);
    }

    const mlBucket = resources(main.planned_values.root_module).find((r) =>
      r.address.endsWith("aws_s3_bucket.this") && String(r.values.bucket).includes("-ml-")
    );
    assert.equal(mlBucket?.values.bucket, `acme-prod-ml-${CUSTOM.prod}`);
    assert.equal(main.variables.account_id.value, CUSTOM.prod);
    assert.match(
      String(main.variables.ecr_repository_arn.value),
      new RegExp(`^arn:aws:ecr:${CUSTOM.region}:${CUSTOM.operations}:repository/acme/training$`),
    );
  },
});

Deno.test({
  name: "deploy --plan --offline --json reports the summary and writes Terraform's JSON plan",
  sanitizeResources: false,
  async fn() {
    const { deploy: run } = await planned();
    assert.equal(run.code, 3, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.status, "planned");
    assert.equal(result.environment, "prod");
    assert.ok(result.summary.add > 5, `adds: ${result.summary.add}`);
    assert.equal(result.summary.destroy, 0);
    const plan = JSON.parse(await Deno.readTextFile(result.planJsonFile));
    assert.equal(plan.variables.account_id.value, CUSTOM.prod);
    assert.match(run.stderr, /Plan \d+ to add, 0 to change, 0 to destroy/);
  },
});

Deno.test({
  name: "bootstrap --plan --offline --json plans backend and operations and writes their JSON plans",
  sanitizeResources: false,
  async fn() {
    const { bootstrap: run } = await planned();
    assert.equal(run.code, 3, run.stderr);
    const report = JSON.parse(run.stdout) as { steps: { step: string; status: string; planJsonFile?: string }[] };
    assert.deepEqual(report.steps.map((s) => `${s.step}: ${s.status}`), [
      "backend: would change",
      "operations: would change",
      "environments: skipped",
    ]);
    const backend = JSON.parse(await Deno.readTextFile(report.steps[0].planJsonFile!));
    assert.equal(backend.variables.state_bucket_name.value, `acme-tfstate-${CUSTOM.operations}`);
  },
});
