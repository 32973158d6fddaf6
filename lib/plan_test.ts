import assert from "node:assert/strict";
import { changedPaths, isPending, type PlanJson, planVerdict, relevantDrift, summarizePlan } from "./plan.ts";

const BUCKET = "module.bucket.aws_s3_bucket.this";
const POLICY = "module.bucket.aws_s3_bucket_policy.this";

/** What a refresh right after a clean apply looks like (shape taken from a real plan against moto). */
function cleanRefresh(): PlanJson {
  return {
    format_version: "1.2",
    resource_changes: [{ address: BUCKET, change: { actions: ["no-op"] } }, {
      address: POLICY,
      change: { actions: ["no-op"] },
    }],
    relevant_attributes: [
      { resource: BUCKET, attribute: ["arn"] },
      { resource: BUCKET, attribute: ["bucket"] },
      { resource: POLICY, attribute: ["policy"] },
    ],
    resource_drift: [
      {
        address: BUCKET,
        change: {
          actions: ["update"],
          before: { bucket: "b", arn: "arn:aws:s3:::b", tags: null, policy: null, versioning: [] },
          after: { bucket: "b", arn: "arn:aws:s3:::b", tags: {}, policy: '{"Statement":[]}', versioning: [{}] },
        },
      },
      {
        address: "aws_sagemaker_model_package_group.this",
        change: { actions: ["update"], before: { tags: null }, after: { tags: {} } },
      },
    ],
  };
}

Deno.test("summarizePlan counts like terraform and calls out replacements and deletions", () => {
  const summary = summarizePlan({
    format_version: "1.2",
    resource_changes: [
      { address: "a.new", change: { actions: ["create"] } },
      { address: "a.same", change: { actions: ["no-op"] } },
      { address: "a.data", change: { actions: ["read"] } },
      { address: "a.edit", change: { actions: ["update"] } },
      { address: "a.swap", change: { actions: ["delete", "create"] } },
      { address: "a.gone", change: { actions: ["delete"] } },
    ],
    output_changes: { same: { actions: ["no-op"] }, url: { actions: ["update"] } },
  });
  assert.deepEqual(summary, {
    add: 2,
    change: 1,
    destroy: 2,
    replace: ["a.swap"],
    delete: ["a.gone"],
    changed: ["a.new", "a.edit", "a.swap", "a.gone"],
    outputs: ["url"],
    drifted: [],
  });
  assert.equal(planVerdict(summary), "changes pending");
});

Deno.test("a refresh that only fills attributes the configuration does not read is not drift", () => {
  const summary = summarizePlan(cleanRefresh());
  assert.deepEqual(summary.drifted, []);
  assert.equal(isPending(summary), false);
  assert.equal(planVerdict(summary), "up to date");
});

Deno.test("a bucket policy changed by hand is drift, told apart from code changes", () => {
  const plan = cleanRefresh();
  plan.resource_drift!.push({
    address: POLICY,
    change: {
      actions: ["update"],
      before: { bucket: "b", policy: '{"Statement":[{"Effect":"Deny"}]}' },
      after: { bucket: "b", policy: '{"Statement":[{"Effect":"Allow"}]}' },
    },
  });
  plan.resource_changes![1] = { address: POLICY, change: { actions: ["update"] } };
  const summary = summarizePlan(plan);
  assert.deepEqual(summary.drifted, [{ address: POLICY, attributes: ["policy"] }]);
  assert.equal(isPending(summary), true);
  assert.equal(planVerdict(summary), "drifted", "restoring the policy is not a code change");

  plan.resource_changes!.push({ address: "aws_iam_role.execution", change: { actions: ["update"] } });
  assert.equal(planVerdict(summarizePlan(plan)), "drifted + changes");
});

Deno.test("drift in a nested attribute counts when it lies inside a relevant path", () => {
  const plan: PlanJson = {
    format_version: "1.2",
    relevant_attributes: [{ resource: "r.v", attribute: ["versioning_configuration", 0, "status"] }],
    resource_drift: [{
      address: "r.v",
      change: {
        actions: ["update"],
        before: { versioning_configuration: [{ status: "Enabled", mfa_delete: "" }] },
        after: { versioning_configuration: [{ status: "Suspended", mfa_delete: "" }] },
      },
    }],
  };
  assert.deepEqual(relevantDrift(plan), [{ address: "r.v", attributes: ["versioning_configuration"] }]);
  plan.resource_drift![0].change.after = { versioning_configuration: [{ status: "Enabled", mfa_delete: "x" }] };
  assert.deepEqual(relevantDrift(plan), []);
});

Deno.test("changedPaths lists the differing leaves", () => {
  assert.deepEqual(changedPaths({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] } }), [["b", "c", 1]]);
  assert.deepEqual(changedPaths(null, {}), [[]]);
  assert.deepEqual(changedPaths({ a: null }, { a: null }), []);
});
