import assert from "node:assert/strict";
import { PLAN_MARKER, planComment, planSection, pullRequestFromEvent } from "./plan_report.ts";

const EMPTY = { add: 0, change: 0, destroy: 0, replace: [], delete: [], changed: [], outputs: [], drifted: [] };

Deno.test("planSection: one row per environment, and the addresses to look at listed under each", () => {
  const text = planSection([
    { environment: "dev", pending: false, summary: EMPTY },
    {
      environment: "prod",
      pending: true,
      summary: {
        ...EMPTY,
        change: 1,
        destroy: 1,
        delete: ["aws_s3_bucket.old"],
        changed: ["aws_s3_bucket.old", "aws_iam_role.exec"],
        drifted: [{ address: "aws_iam_role.exec", attributes: ["assume_role_policy"] }],
      },
    },
  ], { offline: false });
  assert.equal(
    text,
    [
      "| environment | add | change | destroy | drifted | status |",
      "| --- | ---: | ---: | ---: | ---: | --- |",
      "| dev | 0 | 0 | 0 | 0 | up to date |",
      "| prod | 0 | 1 | 1 | 1 | drifted + changes |",
      "",
      "**prod**",
      "",
      "- delete `aws_s3_bucket.old`",
      "- drifted `aws_iam_role.exec` (assume_role_policy)",
      "",
    ].join("\n"),
  );
});

Deno.test("planComment starts with the marker the sticky comment is found by", () => {
  const body = planComment([], { commit: "abcdef0123456789" });
  assert.ok(body.startsWith(`${PLAN_MARKER}\n### Terraform plan of abcdef012345\n`));
  assert.match(body, /No environment printed a plan\./);
});

Deno.test("pullRequestFromEvent tells the repository's own pull requests from forks'", () => {
  const event = (fullName: string | null) => ({
    pull_request: { number: 3, head: { repo: fullName && { full_name: fullName } } },
  });
  assert.deepEqual(pullRequestFromEvent(event("acme/ml"), "acme/ml"), { number: 3, fork: false });
  assert.deepEqual(pullRequestFromEvent(event("someone/ml"), "acme/ml"), { number: 3, fork: true });
  assert.deepEqual(pullRequestFromEvent(event(null), "acme/ml"), { number: 3, fork: true }, "a deleted fork");
  assert.equal(pullRequestFromEvent({ push: {} }, "acme/ml"), null);
  assert.equal(pullRequestFromEvent(null, "acme/ml"), null);
});
