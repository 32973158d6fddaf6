/**
 * Terraform's S3-native state lock end to end with no AWS account: the real
 * task processes and the real terraform binary against a fake S3 (412 on a
 * conditional PUT of an existing key). Apart from tests/lifecycle_test.ts so
 * the two files run in parallel.
 */
import assert from "node:assert/strict";
import { BUCKET, checkout, DEV_STATE, fakeAws } from "./state_fixture.ts";
import { spawnTask, waitUntil } from "./helpers.ts";

Deno.test({
  name: "a lock held elsewhere: deploy waits --lock-timeout, then names who holds it",
  sanitizeResources: false,
  async fn() {
    const { aws, s3 } = await fakeAws();
    try {
      s3.objects.set(`${BUCKET}/${DEV_STATE}.tflock`, {
        body: new TextEncoder().encode(JSON.stringify({
          ID: "11111111-2222-3333-4444-555555555555",
          Operation: "OperationTypeApply",
          Info: "",
          Who: "alice@laptop",
          Version: "1.11.4",
          Created: "2026-11-26T09:00:00Z",
          Path: `${BUCKET}/${DEV_STATE}`,
        })),
        metadata: {},
        etag: '"lock"',
      });
      const laptop = await checkout(aws);
      const started = performance.now();
      const run = await laptop.task("deploy", ["dev", "--plan", "--lock-timeout", "2s"]);
      const seconds = (performance.now() - started) / 1000;
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        run.stderr,
        /error: The state of main-dev is locked by alice@laptop \(OperationTypeApply since .*lock ID 11111111-2222-3333-4444-555555555555\); waited 2s\. .*force-unlock -force 11111111-2222-3333-4444-555555555555/,
      );
      assert.ok(seconds >= 2, `waited for the lock (${seconds.toFixed(1)} s)`);
    } finally {
      await aws.close();
    }
  },
});

Deno.test({
  name: "two deploys of one environment at once: one holds the lock, the other reports it; state intact",
  sanitizeResources: false,
  async fn() {
    const { aws, s3 } = await fakeAws();
    try {
      const [a, b] = [await checkout(aws), await checkout(aws)];
      // Initialise both checkouts first so the race is between the plans themselves.
      for (const c of [a, b]) assert.equal((await c.initDev()).code, 0, "init");
      s3.delayMs = 250;
      const runs = await Promise.all([a, b].map((c) => c.task("deploy", ["dev", "--plan", "--lock-timeout", "0s"])));
      const codes = runs.map((r) => r.code).sort();
      assert.deepEqual(codes, [1, 3], runs.map((r) => r.stderr.slice(-400)).join("\n---\n"));
      const loser = runs.find((r) => r.code === 1)!;
      assert.match(loser.stderr, /The state of main-dev is locked by \S+ \(OperationTypePlan/);
      assert.ok(!s3.keys(BUCKET).some((k) => k.endsWith(".tflock")), "no lock left behind");
      const state = s3.text(BUCKET, DEV_STATE);
      if (state !== undefined) assert.equal(JSON.parse(state).version, 4, "state is valid");
    } finally {
      await aws.close();
    }
  },
});

Deno.test({
  name: "Ctrl-C while terraform holds the lock: terraform gets SIGINT, releases the lock, exit 130, re-run works",
  sanitizeResources: false,
  async fn() {
    const { aws, s3 } = await fakeAws();
    try {
      const laptop = await checkout(aws);
      // Initialised first, so the plan (which holds the lock) starts at once.
      assert.equal((await laptop.initDev()).code, 0, "init");
      s3.delayMs = 400;
      const child = spawnTask("deploy", ["dev", "--plan"], { cwd: laptop.dir, env: laptop.env, clearEnv: true });
      const lock = `${BUCKET}/${DEV_STATE}.tflock`;
      assert.ok(await waitUntil(() => s3.objects.has(lock)), "terraform took the lock");
      child.kill("SIGINT");
      const out = await child.output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 130, stderr.slice(-800));
      assert.match(stderr, /Interrupted: .* Re-run the same command to continue/);
      assert.ok(!s3.objects.has(lock), "terraform released the lock");
      s3.delayMs = 0;
      assert.equal((await laptop.task("deploy", ["dev", "--plan"])).code, 3, "a re-run succeeds");
    } finally {
      await aws.close();
    }
  },
});
