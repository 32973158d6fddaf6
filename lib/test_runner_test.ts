import assert from "node:assert/strict";
import { timingTable } from "./test_runner.ts";

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
