/**
 * The Terraform lifecycle end to end with no AWS account: the real task
 * processes and the real terraform binary, with state in a fake S3 (path
 * style, 412 on a conditional PUT of an existing key, so Terraform's S3-native
 * lock works) and identities from the fake STS.
 */
import assert from "node:assert/strict";
import { loadContext } from "../lib/context.ts";
import { emptyState, locateBackendState } from "../lib/bootstrap.ts";
import { BUCKET, checkout, DEV_STATE, fakeAws } from "./state_fixture.ts";

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
