/**
 * The Terraform lifecycle end to end with no AWS account: the real task
 * processes and the real terraform binary, with state in a fake S3 (path
 * style, 412 on a conditional PUT of an existing key, so Terraform's S3-native
 * lock works) and identities from the fake STS.
 */
import assert from "node:assert/strict";
import { loadContext } from "../lib/context.ts";
import { emptyState, locateBackendState } from "../lib/bootstrap.ts";
import { FakeAws } from "./fake_aws.ts";
import { FakeS3 } from "./fake_services.ts";
import { isolatedEnv, REPO, runTask, spawnTask, waitUntil, writeConfig, writeProfiles } from "./helpers.ts";

const BUCKET = "mlops-tfstate-111111111111";
const DEV_STATE = "main/dev/terraform.tfstate";

/** A checkout (its own .mlops) sharing one fake AWS: like a laptop or a CI runner. */
async function checkout(aws: FakeAws, extraEnv: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir();
  await Deno.symlink(`${REPO}/terraform`, `${dir}/terraform`);
  await writeConfig(dir);
  await writeProfiles(dir, { "mlops-operations": "AKIDOPS", "mlops-dev": "AKIDDEV" });
  const env = { ...isolatedEnv(dir), ...aws.endpointEnv(), ...extraEnv };
  return { dir, env, task: (name: string, args: string[]) => runTask(name, args, { cwd: dir, env, clearEnv: true }) };
}

async function fakeAws() {
  const aws = await FakeAws.start();
  aws.identities.set("AKIDOPS", "111111111111");
  aws.identities.set("AKIDDEV", "222222222222");
  return { aws, s3: new FakeS3(aws) };
}

Deno.test({
  name: "CI credentials that may only touch main/dev/ in the state bucket can plan dev once bootstrap seeded its state",
  sanitizeResources: false,
  async fn() {
    const { aws, s3 } = await fakeAws();
    try {
      s3.allow = ({ accessKeyId, key, prefix }) =>
        accessKeyId !== "AKIDDEV" || (key || prefix || "").startsWith("main/dev/");
      // Like S3 for a caller whose ListBucket grant is prefix-conditioned: a missing key is a 403.
      s3.listable = (accessKeyId) => accessKeyId !== "AKIDDEV";
      const ci = await checkout(aws, { CI: "true", AWS_ACCESS_KEY_ID: "AKIDDEV", AWS_SECRET_ACCESS_KEY: "x" });
      const unseeded = await ci.task("deploy", ["dev", "--plan"]);
      assert.equal(unseeded.code, 1, "without a state object Terraform gets a 403 it cannot take for 'empty'");
      assert.match(unseeded.stderr, /main\/dev\/terraform\.tfstate.*(403|Forbidden|AccessDenied)/);

      const version = JSON.parse(
        new TextDecoder().decode((await new Deno.Command("terraform", { args: ["version", "-json"] }).output()).stdout),
      ).terraform_version;
      s3.objects.set(`${BUCKET}/${DEV_STATE}`, {
        body: new TextEncoder().encode(emptyState(version)),
        metadata: {},
        etag: '"seed"',
      });
      const run = await ci.task("deploy", ["dev", "--plan"]);
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.stderr, /Plan \d+ to add, 0 to change, 0 to destroy/);
      const keys = aws.callsTo("s3").map((c) => c.action);
      assert.ok(keys.some((k) => k.includes(`${DEV_STATE}.tflock`)), "the plan took the lock");
      assert.ok(!s3.keys(BUCKET).includes(`${DEV_STATE}.tflock`), "and released it");
    } finally {
      await aws.close();
    }
  },
});

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
      // Warm both checkouts (init) so the race is between the plans themselves.
      assert.equal((await a.task("deploy", ["dev", "--plan"])).code, 3);
      assert.equal((await b.task("deploy", ["dev", "--plan"])).code, 3);
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
      assert.equal((await laptop.task("deploy", ["dev", "--plan"])).code, 3, "warm");
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

Deno.test({
  name: "bootstrap's state migration moves the backend stack's local state into the bucket and leaves none on disk",
  sanitizeResources: false,
  async fn() {
    const { aws, s3 } = await fakeAws();
    const laptop = await checkout(aws);
    const saved = Deno.env.toObject();
    const cwd = Deno.cwd();
    try {
      // In-process: this process's environment becomes the laptop's (no CI variables, its profiles).
      for (const k of Object.keys(saved)) if (!(k in laptop.env)) Deno.env.delete(k);
      for (const [k, v] of Object.entries(laptop.env)) Deno.env.set(k, v);
      Deno.chdir(laptop.dir);
      const ctx = await loadContext({ config: `${laptop.dir}/mlops.config.json` });
      const local = ctx.root("backend", null, { localState: true });
      assert.equal(await locateBackendState(ctx, local), "none");
      await local.prepare();
      const lineage = crypto.randomUUID();
      const state = {
        version: 4,
        terraform_version: "1.11.4",
        serial: 3,
        lineage,
        outputs: { state_bucket_name: { value: BUCKET, type: "string" }, marker: { value: lineage, type: "string" } },
        resources: [],
        check_results: null,
      };
      await Deno.writeTextFile(local.localStatePath, JSON.stringify(state));
      assert.equal(await locateBackendState(ctx, local), "local", "an interrupted bootstrap is detected");
      assert.equal(await local.migrateStateToS3(), true);
      const migrated = JSON.parse(s3.text(BUCKET, "backend/terraform.tfstate") ?? "{}");
      // Terraform writes a fresh lineage into the new backend; the content is what must survive.
      assert.equal(
        migrated.outputs?.marker?.value,
        lineage,
        `the same state is in the bucket: ${JSON.stringify(migrated)}`,
      );
      assert.equal(migrated.outputs.state_bucket_name.value, BUCKET);
      assert.equal(await Deno.stat(local.localStatePath).then(() => true, () => false), false, "no local state left");
      const leftovers: string[] = [];
      for await (const e of Deno.readDir(local.workDir)) if (e.name.includes("tfstate")) leftovers.push(e.name);
      assert.deepEqual(leftovers, []);
      assert.equal(await locateBackendState(ctx, local), "in-bucket");
      assert.equal(await local.migrateStateToS3(), false, "re-running has nothing to do");
      const outputs = await ctx.root("backend").outputs().catch((e) => e);
      assert.ok(!(outputs instanceof Error), String(outputs));
      assert.equal(
        (outputs as Record<string, unknown>).state_bucket_name,
        BUCKET,
        "the remote root reads the migrated state",
      );
    } finally {
      Deno.chdir(cwd);
      for (const k of Object.keys(Deno.env.toObject())) if (!(k in saved)) Deno.env.delete(k);
      for (const [k, v] of Object.entries(saved)) Deno.env.set(k, v);
      await aws.close();
    }
  },
});
