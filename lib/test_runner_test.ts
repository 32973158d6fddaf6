import assert from "node:assert/strict";
import { mirrorNotice, parseCounts } from "./test_runner.ts";

Deno.test("without a provider mirror, the suites that run Terraform are announced once, with the fix", () => {
  const notice = mirrorNotice(null, ["static", "deno"]);
  assert.match(notice ?? "", /^No provider mirror is set.*Point MLOPS_PROVIDER_MIRROR \(or --provider-mirror\)/);
  assert.equal(mirrorNotice("/opt/mirror", ["deno", "terraform"]), null, "a mirror needs no notice");
  assert.equal(mirrorNotice(null, ["static", "python"]), null, "suites without Terraform need none");
});

Deno.test("parseCounts reads deno, terraform and pytest summaries", () => {
  assert.deepEqual(parseCounts("ok | 3 passed | 0 failed (20ms)"), { passed: 3, failed: 0 });
  assert.deepEqual(parseCounts("Success! 4 passed, 0 failed."), { passed: 4, failed: 0 });
  assert.deepEqual(parseCounts("==== 5 passed, 1 failed in 2.1s ===="), { passed: 5, failed: 1 });
});
