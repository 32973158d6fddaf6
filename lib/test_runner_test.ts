import assert from "node:assert/strict";
import { mirrorNotice, parseCounts, sharesProviders, suiteWalls, timingTable } from "./test_runner.ts";

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

Deno.test("timingTable picks a suite's own timing block out of its output, and nothing else", () => {
  const output = [
    "running 1 test from ./tests/e2e/flow_test.ts",
    "------- output -------",
    "",
    "e2e step timings (s):",
    "     1.0  doctor",
    "   150.2  bootstrap",
    "   301.7  total (wall clock)",
    "----- output end -----",
    "ok | 1 passed | 0 failed",
  ].join("\n");
  assert.equal(
    timingTable(output),
    "e2e step timings (s):\n     1.0  doctor\n   150.2  bootstrap\n   301.7  total (wall clock)",
  );
  assert.equal(timingTable("ok | 3 passed | 0 failed"), null);
});

Deno.test("terraform test shares one provider process unless MLOPS_SHARED_PROVIDER=0", () => {
  assert.equal(sharesProviders({}), true);
  assert.equal(sharesProviders({ MLOPS_SHARED_PROVIDER: "1" }), true);
  assert.equal(sharesProviders({ MLOPS_SHARED_PROVIDER: "0" }), false);
});

Deno.test("suiteWalls: when each suite was done, and when all but the e2e flow were", () => {
  const at = (suite: string, seconds: number) => ({ suite, endedAt: 1000 + seconds * 1000 });
  const results = [
    at("setup", 2),
    at("static", 20),
    at("deno", 90.04),
    at("e2e", 300),
    at("deno", 95),
    at("python", 60),
  ];
  assert.equal(
    suiteWalls(results, 1000),
    "suites done after (s): static 20.0, deno 95.0, e2e 300.0, python 60.0; all but e2e 95.0",
  );
  assert.equal(suiteWalls([at("deno", 12.34)], 1000), "suites done after (s): deno 12.3");
});
