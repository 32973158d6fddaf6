import assert from "node:assert/strict";
import { DUPLICATE_SIGNAL_MS, isDuplicateSignal, notOnPathMessage, within } from "./process.ts";

Deno.test("a signal soon after the last one is the same interrupt; a later one is a second Ctrl-C", () => {
  assert.equal(isDuplicateSignal(null, 1000), false, "the first interrupt counts");
  assert.equal(isDuplicateSignal(1000, 1003), true, "the task runner's copy, milliseconds later");
  assert.equal(isDuplicateSignal(1000, 1000 + DUPLICATE_SIGNAL_MS), false, "a person's second Ctrl-C");
});

Deno.test("a program missing from PATH is named with how to install it", () => {
  assert.match(notOnPathMessage("terraform"), /^Cannot run "terraform": it is not on PATH\. Install Terraform ≥ 1\.10/);
  assert.equal(
    notOnPathMessage("zstd"),
    'Cannot run "zstd": it is not on PATH. Install zstd, or add its directory to PATH, and re-run.',
  );
});

Deno.test("within: the work's result when it is in time, the fallback when it is not", async () => {
  assert.equal(await within(1_000, "late", Promise.resolve("done")), "done");
  const never = new Promise<string>(() => {});
  assert.equal(await within(10, "late", never), "late");
});
