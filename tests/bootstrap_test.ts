/**
 * `deno task bootstrap` as a process against the fake AWS server. Creating
 * real buckets, registries and roles cannot run against the fakes, so
 * terraform is a recording stand-in here: these tests pin the exact command
 * sequence the task issues (the terraform tests of the HCL prove what those
 * commands create, and tests/lifecycle_test.ts runs the state migration with
 * the real terraform).
 */
import assert from "node:assert/strict";
import { FakeS3 } from "./fake_services.ts";
import { ACCOUNT_KEYS, fourAccountWorkspace, isolatedEnv, runTask, stubCalls, stubCommand } from "./helpers.ts";

const TERRAFORM_STUB = `
case "$*" in
  "version -json") echo '{"terraform_version":"1.11.4"}' ;;
  *" init "*) exit 0 ;;
  *" plan "*) exit "\${STUB_PLAN_EXIT:-0}" ;;
  *" show -json "*)
    if [ "\${STUB_PLAN_EXIT:-0}" = 2 ]; then
      echo '{"format_version":"1.2","resource_changes":[{"address":"aws_s3_bucket.this","change":{"actions":["create"]}}]}'
    else echo '{"format_version":"1.2","resource_changes":[]}'; fi ;;
  *" apply "*)
    # Like terraform, an apply with local state leaves a state file next to its data dir.
    case "$*" in *"/src/backend "*) echo '{"version":4}' > "\${TF_DATA_DIR%/data}/terraform.tfstate" ;; esac ;;
  *" output -json"*)
    echo '{"build_role_arn":{"value":"arn:aws:iam::111111111111:role/mlops-ci-build"},"deploy_role_arns":{"value":{"dev":"arn:aws:iam::222222222222:role/mlops-dev-deploy"}},"plan_role_arns":{"value":{}}}' ;;
  *) echo "unexpected: $*" >&2; exit 9 ;;
esac`;

async function setup() {
  const { dir, aws } = await fourAccountWorkspace(["terraform"]);
  const s3 = new FakeS3(aws);
  const bin = await stubCommand(dir, "terraform", TERRAFORM_STUB);
  const env = { ...isolatedEnv(dir), ...aws.endpointEnv(), PATH: `${bin}:${Deno.env.get("PATH")}` };
  const bootstrap = (args: string[], extra: Record<string, string> = {}) =>
    runTask("bootstrap", args, { cwd: dir, env: { ...env, ...extra }, clearEnv: true });
  const calls = async () => (await stubCalls(dir, "terraform")).map((c) => c.replace(dir, "<dir>"));
  return { dir, aws, s3, bootstrap, calls };
}

/** The terraform subcommand of a recorded call, with the root it ran in. */
function summary(call: string): string {
  const root = /-chdir=\S*\/(backend|operations|main)\b/.exec(call)?.[1] ?? "";
  const command = call.replace(/-chdir=\S+\s*/, "").split(" ")[0];
  const migrate = call.includes("-migrate-state") ? " -migrate-state" : "";
  return `${root} ${command}${migrate}`.trim();
}

Deno.test("a fresh bootstrap applies the backend with local state, migrates it, applies operations, prepares each environment", async () => {
  const { aws, s3, bootstrap, calls, dir } = await setup();
  try {
    const run = await bootstrap(["--yes"], { STUB_PLAN_EXIT: "2" });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((await calls()).map(summary), [
      "version",
      "backend init",
      "backend plan",
      "backend show",
      "backend apply",
      "backend init -migrate-state",
      "operations init",
      "operations plan",
      "operations show",
      "operations apply",
      "main init",
      "main init",
      "main init",
      "operations output",
    ]);
    const sts = aws.callsTo("sts").map((c) => c.accessKeyId).sort();
    assert.deepEqual(sts, Object.values(ACCOUNT_KEYS).map(([key]) => key).sort(), "all four identities checked");
    assert.match(run.stdout, /MLOPS_BUILD_ROLE_ARN=arn:aws:iam::111111111111:role\/mlops-ci-build/);
    assert.match(run.stdout, /MLOPS_DEV_DEPLOY_ROLE_ARN=arn:aws:iam::222222222222:role\/mlops-dev-deploy/);
    const left = await Deno.stat(`${dir}/.mlops/terraform/backend/terraform.tfstate`).then(() => true, () => false);
    assert.equal(left, false, "no local state stays on disk");
    for (const env of ["dev", "staging", "prod"]) {
      const seeded = JSON.parse(s3.text("mlops-tfstate-111111111111", `main/${env}/terraform.tfstate`) ?? "{}");
      assert.equal(seeded.version, 4, `${env} has an empty state for CI roles to find`);
      assert.equal(seeded.terraform_version, "1.11.4", "written for the terraform that will read it");
      assert.deepEqual(seeded.resources, []);
    }
  } finally {
    await aws.close();
  }
});

Deno.test("a second bootstrap finds the state in its bucket, applies nothing and says so", async () => {
  const { aws, s3, bootstrap, calls } = await setup();
  try {
    for (
      const key of [
        "backend/terraform.tfstate",
        "main/dev/terraform.tfstate",
        "main/staging/terraform.tfstate",
        "main/prod/terraform.tfstate",
      ]
    ) {
      s3.objects.set(`mlops-tfstate-111111111111/${key}`, {
        body: new TextEncoder().encode('{"version":4}'),
        metadata: {},
        etag: '"x"',
      });
    }
    const run = await bootstrap(["--yes"], { STUB_PLAN_EXIT: "0" });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /No changes: already bootstrapped\./);
    const commands = (await calls()).map(summary);
    assert.ok(!commands.some((c) => c.includes("apply") || c.includes("migrate")), commands.join("\n"));
    assert.ok(commands.includes("backend plan") && commands.includes("operations plan"));
    assert.equal(
      s3.text("mlops-tfstate-111111111111", "main/dev/terraform.tfstate"),
      '{"version":4}',
      "existing state untouched",
    );
  } finally {
    await aws.close();
  }
});

Deno.test("an interrupted bootstrap (local state, bucket without state) resumes with the migration", async () => {
  const { aws, bootstrap, calls, dir } = await setup();
  try {
    await Deno.mkdir(`${dir}/.mlops/terraform/backend`, { recursive: true });
    await Deno.writeTextFile(`${dir}/.mlops/terraform/backend/terraform.tfstate`, '{"version":4}');
    const run = await bootstrap(["--yes"], { STUB_PLAN_EXIT: "0" });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /state is local \(migration pending\)/);
    const commands = (await calls()).map(summary);
    assert.deepEqual(commands.slice(0, 5), [
      "version",
      "backend init",
      "backend plan",
      "backend show",
      "backend init -migrate-state",
    ]);
  } finally {
    await aws.close();
  }
});

Deno.test("preflight lists every wrong account at once and runs no terraform command", async () => {
  const { aws, bootstrap, calls } = await setup();
  try {
    aws.identities.set("AKIDDEV", "999999999999");
    aws.identities.set("AKIDPRD", "888888888888");
    const run = await bootstrap(["--yes"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /Bootstrap preflight found 2 problems:/);
    assert.match(run.stderr, /- Cannot bootstrap "dev": profile "mlops-dev" belongs to account 999999999999/);
    assert.match(run.stderr, /- Cannot bootstrap "prod": profile "mlops-prod" belongs to account 888888888888/);
    assert.deepEqual((await calls()).map(summary), ["version"], "only the version check ran");
  } finally {
    await aws.close();
  }
});
