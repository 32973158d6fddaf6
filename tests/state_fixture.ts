/**
 * Shared pieces of the Terraform lifecycle tests: checkouts (each with its own
 * `.mlops`, like a laptop or a CI runner) that share one fake AWS whose S3
 * answers a conditional PUT of an existing key with 412, so Terraform's
 * S3-native state lock works against it.
 *
 * @example
 * ```ts
 * import { checkout, fakeAws } from "./state_fixture.ts";
 * const { aws } = await fakeAws();
 * const laptop = await checkout(aws);
 * ```
 * @module
 */
import { FakeAws } from "./fake_aws.ts";
import { FakeS3 } from "./fake_services.ts";
import { isolatedEnv, REPO, runTask, writeConfig, writeProfiles } from "./helpers.ts";

/** The state bucket of the example config. */
export const BUCKET = "mlops-tfstate-111111111111";
/** The dev environment's state key. */
export const DEV_STATE = "main/dev/terraform.tfstate";

/** A checkout (its own .mlops) sharing one fake AWS: like a laptop or a CI runner. */
export async function checkout(aws: FakeAws, extraEnv: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir();
  await Deno.symlink(`${REPO}/terraform`, `${dir}/terraform`);
  await writeConfig(dir);
  await writeProfiles(dir, { "mlops-operations": "AKIDOPS", "mlops-dev": "AKIDDEV" });
  const env = { ...isolatedEnv(dir), ...aws.endpointEnv(), ...extraEnv };
  const task = (name: string, args: string[]) => runTask(name, args, { cwd: dir, env, clearEnv: true });
  return {
    dir,
    env,
    task,
    /**
     * Initialises dev's main root as the tasks do (`deno task tf` runs init before its command, and later
     * tasks skip it), with `workspace show` as the command: it loads no provider, unlike a warm-up plan.
     */
    initDev: () => task("tf", ["main", "dev", "--", "workspace", "show"]),
  };
}

/** A fake AWS with the operations and dev identities and a fake S3. */
export async function fakeAws() {
  const aws = await FakeAws.start();
  aws.identities.set("AKIDOPS", "111111111111");
  aws.identities.set("AKIDDEV", "222222222222");
  return { aws, s3: new FakeS3(aws) };
}
