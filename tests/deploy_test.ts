/**
 * `deno task deploy` and `destroy` as processes, with a recording stand-in
 * for terraform (applying real resources cannot run against the fakes; the
 * plan and lock paths run the real terraform in tests/lifecycle_test.ts and
 * tests/state_lock_test.ts).
 */
import assert from "node:assert/strict";
import { FakeHosting } from "./fake_hosting.ts";
import { FakeS3, FakeSageMaker } from "./fake_services.ts";
import {
  exists,
  fourAccountWorkspace,
  isolatedEnv,
  runTask,
  spawnTask,
  stubCalls,
  stubCommand,
  waitUntil,
} from "./helpers.ts";

const TERRAFORM = (dir: string) => `
case "$*" in
  *" init "*) exit 0 ;;
  *" plan "*) exit "\${STUB_PLAN_EXIT:-2}" ;;
  *" show -json "*)
    if [ "\${STUB_PLAN_EXIT:-2}" = 0 ]; then echo '{"format_version":"1.2","resource_changes":[]}'; exit 0; fi
    echo '{"format_version":"1.2","resource_changes":[{"address":"module.bucket.aws_s3_bucket.this","change":{"actions":["create"]}},{"address":"aws_iam_role.old","change":{"actions":["delete","create"]}}]}' ;;
  *" apply "*)
    if [ -e "${dir}/apply.slow" ]; then
      trap 'echo "SIGINT during apply" > "${dir}/interrupted"; exit 1' INT
      echo applying > "${dir}/applying"; for i in $(seq 1 300); do sleep 0.1; done
    fi ;;
  *" output -json"*) echo '{"bucket_name":{"value":"mlops-dev-ml-222222222222"}}' ;;
  *) echo "unexpected: $*" >&2; exit 9 ;;
esac`;

async function setup() {
  const { dir, aws } = await fourAccountWorkspace(["terraform"]);
  const bin = await stubCommand(dir, "terraform", TERRAFORM(dir));
  const env = { ...isolatedEnv(dir), ...aws.endpointEnv(), PATH: `${bin}:${Deno.env.get("PATH")}` };
  const task = (name: string, args: string[], extra: Record<string, string> = {}) =>
    runTask(name, args, { cwd: dir, env: { ...env, ...extra }, clearEnv: true });
  const commands = async () =>
    (await stubCalls(dir, "terraform")).map((c) => c.replace(/-chdir=\S+\s*/, "").split(" ")[0]);
  return { dir, aws, env, task, commands, calls: () => stubCalls(dir, "terraform") };
}

Deno.test("deploy --yes applies exactly the saved plan, saves the outputs, and --detailed-exitcode says it changed", async () => {
  const { aws, dir, task, commands, calls } = await setup();
  try {
    const run = await task("deploy", ["dev", "--yes", "--detailed-exitcode"]);
    assert.equal(run.code, 3, run.stderr);
    assert.deepEqual(await commands(), ["init", "plan", "show", "apply", "output"]);
    const all = await calls();
    const planOut = /-out=(\S+)/.exec(all[1])?.[1];
    assert.ok(planOut && all[3].endsWith(planOut), `apply uses the saved plan ${planOut}: ${all[3]}`);
    assert.match(run.stderr, /Plan 2 to add, 0 to change, 1 to destroy\n {2}replace aws_iam_role\.old/);
    const outputs = JSON.parse(await Deno.readTextFile(`${dir}/.mlops/outputs/dev.json`));
    assert.equal(outputs.bucket_name, "mlops-dev-ml-222222222222");
  } finally {
    await aws.close();
  }
});

Deno.test("deploy without --yes off a terminal refuses to apply; with nothing to change it applies nothing", async () => {
  const { aws, task, commands } = await setup();
  try {
    const refused = await task("deploy", ["dev"]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /error: Apply these changes to dev\? — cannot ask on a non-interactive terminal\. Pass --yes to apply in CI\./,
    );
    assert.ok(!(await commands()).includes("apply"));
    const nothing = await task("deploy", ["dev", "--yes", "--detailed-exitcode"], { STUB_PLAN_EXIT: "0" });
    assert.equal(nothing.code, 0, nothing.stderr);
    assert.equal((await commands()).filter((c) => c === "apply").length, 0);
  } finally {
    await aws.close();
  }
});

Deno.test("Ctrl-C during an apply reaches terraform, and the task exits 130 after it stopped", async () => {
  const { aws, dir, env } = await setup();
  try {
    await Deno.writeTextFile(`${dir}/apply.slow`, "");
    const child = spawnTask("deploy", ["dev", "--yes"], { cwd: dir, env, clearEnv: true });
    assert.ok(await waitUntil(() => exists(`${dir}/applying`)), "terraform apply started");
    child.kill("SIGINT");
    const out = await child.output();
    assert.equal(out.code, 130, new TextDecoder().decode(out.stderr));
    assert.equal((await Deno.readTextFile(`${dir}/interrupted`)).trim(), "SIGINT during apply");
  } finally {
    await aws.close();
  }
});

Deno.test("destroy needs the environment name typed, and never touches the shared stacks", async () => {
  const { aws, task, commands } = await setup();
  try {
    const shared = await task("destroy", ["operations"]);
    assert.equal(shared.code, 2);
    assert.match(
      shared.stderr,
      /The operations stack is shared by every environment and is not destroyed by this task/,
    );
    const mismatch = await task("destroy", ["prod", "--yes", "--confirm", "staging"]);
    assert.equal(mismatch.code, 2, "a usage error");
    assert.match(mismatch.stderr, /--yes needs --confirm prod \(got "staging"\): type the environment's name/);
    assert.deepEqual(await commands(), [], "nothing ran");
    new FakeS3(aws); // an empty bucket,
    new FakeSageMaker(aws); // no pipeline,
    new FakeHosting(aws); // no model versions, no endpoint
    const ok = await task("destroy", ["dev", "--yes", "--confirm", "dev"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(await commands(), ["init", "plan", "show", "apply"]);
  } finally {
    await aws.close();
  }
});

Deno.test("destroy empties the bucket and deletes the pipeline and model versions before Terraform; a failure leaves Terraform unrun and a re-run finishes", async () => {
  const { aws, task, commands } = await setup();
  try {
    const bucket = "mlops-dev-ml-222222222222";
    const s3 = new FakeS3(aws);
    for (const key of ["data/sample.csv", "data/locked.csv", "runs/model.tar.gz"]) {
      s3.objects.set(`${bucket}/${key}`, { body: new Uint8Array([1]), metadata: {}, etag: '"e"' });
    }
    const sagemaker = new FakeSageMaker(aws);
    sagemaker.pipelines.set("mlops-training", { arn: "arn:pipeline", definition: "{}", roleArn: "r" });
    const hosting = new FakeHosting(aws);
    hosting.register("222222222222", { status: "Approved", image: `repo@sha256:${"0".repeat(64)}` });
    s3.allow = ({ method, key }) => !(method === "DELETE" && key === "data/locked.csv");

    const failed = await task("destroy", ["dev", "--yes", "--confirm", "dev"]);
    assert.equal(failed.code, 1);
    assert.match(
      failed.stderr,
      /First +deletes 3 object versions and 0 delete markers in s3:\/\/mlops-dev-ml-222222222222; pipeline mlops-training; 1 model package version\n/,
    );
    assert.match(
      failed.stderr,
      /Cannot empty s3:\/\/mlops-dev-ml-222222222222: 1 object was not deleted \(first: data\/locked\.csv: AccessDenied/,
    );
    assert.match(failed.stderr, /re-run destroy/);
    assert.ok(
      !(await commands()).includes("apply"),
      "Terraform never ran: the bucket keeps its policy while data remains",
    );
    assert.deepEqual(s3.keys(bucket), ["data/locked.csv"]);

    s3.allow = () => true;
    const resumed = await task("destroy", ["dev", "--yes", "--confirm", "dev"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /First +deletes 1 object version and 0 delete markers/);
    assert.doesNotMatch(resumed.stderr, /pipeline mlops-training/, "what the first run deleted is not listed again");
    assert.deepEqual(s3.keys(bucket), []);
    assert.equal(sagemaker.pipelines.size, 0);
    assert.deepEqual(hosting.packages.get("222222222222"), []);
    assert.equal((await commands()).filter((c) => c === "apply").length, 1);
  } finally {
    await aws.close();
  }
});
