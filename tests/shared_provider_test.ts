/**
 * The shared provider that `deno task test` gives `terraform test` (lib/provider_server.ts) with the
 * real AWS provider and real Terraform: the provider's own argument checks still fail a run, a valid
 * configuration still passes, and Terraform really talks to the shared process.
 */
import assert from "node:assert/strict";
import { REPO } from "./helpers.ts";
import { ProviderPool } from "../lib/provider_server.ts";
import { run } from "../lib/process.ts";
import { mirrorCliConfig } from "../lib/terraform.ts";

const MAIN_TF = `terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}

variable "role_name" {
  type = string
}

resource "aws_iam_role" "this" {
  name               = var.role_name
  assume_role_policy = "{}"
}
`;

const TEST_TF = (roleName: string) =>
  `mock_provider "aws" {}

run "plans" {
  command = plan
  variables {
    role_name = "${roleName}"
  }
}
`;

Deno.test({
  name: "terraform test on the shared provider: the provider's own checks fail a run, a valid run passes",
  sanitizeResources: false,
  async fn() {
    const mirror = Deno.env.get("MLOPS_PROVIDER_MIRROR");
    assert.ok(mirror, "MLOPS_PROVIDER_MIRROR names the provider mirror (as .ci/run sets it)");
    const dir = await Deno.makeTempDir();
    await Deno.mkdir(`${dir}/tests`);
    await Deno.writeTextFile(`${dir}/main.tf`, MAIN_TF);
    await Deno.writeTextFile(`${dir}/cli.tfrc`, mirrorCliConfig(mirror));
    const env = {
      TF_CLI_CONFIG_FILE: `${dir}/cli.tfrc`,
      TF_PLUGIN_CACHE_DIR: `${REPO}/.mlops/plugin-cache`,
      TF_DATA_DIR: `${dir}/.terraform`,
      TF_IN_AUTOMATION: "1",
    };
    const terraform = (args: string[], extra: Record<string, string> = {}) =>
      run(["terraform", `-chdir=${dir}`, ...args, "-no-color"], {
        capture: true,
        captureStderr: true,
        env: { ...env, ...extra },
      });
    const init = await terraform(["init", "-input=false"]);
    assert.equal(init.code, 0, init.stderr);

    const pool = await ProviderPool.start([`${dir}/.terraform`]);
    try {
      assert.equal(pool.size, 1, "the AWS provider offers a debug mode to attach to");
      const shared = pool.envFor(`${dir}/.terraform`);
      await Deno.writeTextFile(`${dir}/tests/role.tftest.hcl`, TEST_TF("x".repeat(80)));
      const tooLong = await terraform(["test"], shared);
      assert.equal(tooLong.code, 1, tooLong.stdout);
      assert.match(`${tooLong.stdout}${tooLong.stderr}`, /expected length of name to be in the range \(1 - 64\)/);
      await Deno.writeTextFile(`${dir}/tests/role.tftest.hcl`, TEST_TF("trainer"));
      const valid = await terraform(["test"], shared);
      assert.equal(valid.code, 0, `${valid.stdout}${valid.stderr}`);
      assert.match(valid.stdout, /1 passed, 0 failed/);
      await pool.stop();
      const gone = await terraform(["test"], shared);
      assert.notEqual(gone.code, 0, "with the shared process gone the run fails: Terraform was attached to it");
    } finally {
      await pool.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
