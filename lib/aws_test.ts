import assert from "node:assert/strict";
import { AwsAccess, inCi } from "./aws.ts";
import { Config } from "./config.ts";
import { FakeAws } from "../tests/fake_aws.ts";
import { REPO, writeProfiles } from "../tests/helpers.ts";

const config = await Config.load(`${REPO}/mlops.config.json`);
const KEYS = {
  "mlops-operations": "AKIDOPS",
  "mlops-dev": "AKIDDEV",
  "mlops-staging": "AKIDSTG",
  "mlops-prod": "AKIDPRD",
};

/** Runs `fn` with AWS env vars pointing at the fake and at profile files in a temp home. */
async function withFakeAws(fn: (aws: FakeAws) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir();
  await writeProfiles(home, KEYS);
  await using fake = await FakeAws.start();
  const env: Record<string, string> = {
    AWS_CONFIG_FILE: `${home}/.aws/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${home}/.aws/credentials`,
    AWS_EC2_METADATA_DISABLED: "true",
    ...fake.endpointEnv(["sts"]),
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, Deno.env.get(k)]));
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  try {
    await fn(fake);
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("the guard accepts credentials of the expected account, per profile", async () => {
  await withFakeAws(async (fake) => {
    fake.identities.set("AKIDDEV", "222222222222");
    const aws = new AwsAccess(config, true);
    const identity = await aws.assertAccount("dev", "deploy");
    assert.equal(identity.account, "222222222222");
    assert.deepEqual(fake.callsTo("sts").map((c) => c.accessKeyId), ["AKIDDEV"], "signed with the dev profile's key");
  });
});

Deno.test("the guard refuses the wrong account, naming expected, actual and the profile", async () => {
  await withFakeAws(async (fake) => {
    fake.identities.set("AKIDPRD", "999999999999");
    const aws = new AwsAccess(config, true);
    await assert.rejects(() => aws.assertAccount("prod", "deploy"), (error: Error) => {
      assert.equal(
        error.message,
        `Cannot deploy "prod": profile "mlops-prod" belongs to account 999999999999 (arn:aws:iam::999999999999:user/AKIDPRD), ` +
          `but ${REPO}/mlops.config.json names 444444444444 for "prod". Point profile "mlops-prod" at account 444444444444, or fix accounts.prod.id.`,
      );
      return true;
    });
  });
});

Deno.test("expired credentials say how to log in with that profile", async () => {
  await withFakeAws(async (fake) => {
    fake.expiredKeys.add("AKIDSTG");
    const aws = new AwsAccess(config, true);
    await assert.rejects(() => aws.identity("staging"), (error: Error) => {
      assert.match(
        error.message,
        /^The credentials of profile "mlops-staging" for "staging" have expired\. Log in with: aws sso login --profile mlops-staging/,
      );
      return true;
    });
  });
});

Deno.test("a missing profile is reported as missing credentials with the login command", async () => {
  await withFakeAws(async () => {
    const broken = Config.parse(
      "x.json",
      JSON.stringify({
        ...config.data,
        accounts: { ...config.data.accounts, dev: { id: "222222222222", profile: "nobody" } },
      }),
    );
    const aws = new AwsAccess(broken, true);
    await assert.rejects(() => aws.identity("dev"), (error: Error) => {
      assert.match(
        error.message,
        /^No valid credentials for "dev" from profile "nobody"\. Log in with: aws sso login --profile nobody/,
      );
      return true;
    });
  });
});

Deno.test("CI and --no-profile use the environment's credentials", () => {
  const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
  assert.equal(inCi(env({ GITHUB_ACTIONS: "true" })), true);
  assert.equal(inCi(env({ CI: "false" })), false);
  const aws = new AwsAccess(config, false);
  assert.deepEqual(aws.source("dev"), { account: "dev", profile: null });
  assert.equal(aws.describe(aws.source("dev")), "the environment's credentials");
});

Deno.test("a timed-out endpoint is named by its service: the override that points at it, or its AWS host", async () => {
  const { serviceOfEndpoint, timeoutMessage } = await import("./aws.ts");
  const env = { AWS_ENDPOINT_URL_STS: "http://127.0.0.1:4566/", AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9000" };
  assert.equal(serviceOfEndpoint("http://127.0.0.1:4566", env), "STS");
  assert.equal(serviceOfEndpoint("https://api.ecr.eu-west-1.amazonaws.com", {}), "ECR");
  assert.equal(serviceOfEndpoint("https://api.sagemaker.eu-west-1.amazonaws.com:443", {}), "SAGEMAKER");
  assert.equal(serviceOfEndpoint("https://bucket.s3.eu-west-1.amazonaws.com", {}), "S3");
  assert.equal(serviceOfEndpoint("http://10.0.0.1:8080", {}), "AWS");
  assert.equal(
    timeoutMessage({ service: "STS", endpoint: "https://sts.eu-west-1.amazonaws.com", seconds: 20 }, "deploy"),
    "Cannot deploy: STS at https://sts.eu-west-1.amazonaws.com did not answer within 20 s (3 attempts). " +
      "Check the network, the region and any AWS_ENDPOINT_URL* override; MLOPS_AWS_TIMEOUT=<seconds> sets the limit.",
  );
});

Deno.test("MLOPS_AWS_TIMEOUT is a positive number of seconds, 20 by default", async () => {
  const { awsTimeoutSeconds } = await import("./aws.ts");
  const env = (value?: string) => ({ get: () => value });
  assert.equal(awsTimeoutSeconds(env()), 20);
  assert.equal(awsTimeoutSeconds(env("1.5")), 1.5);
  assert.throws(() => awsTimeoutSeconds(env("0")), /Invalid MLOPS_AWS_TIMEOUT "0"/);
});
