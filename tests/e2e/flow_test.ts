/**
 * The whole flow on an AWS emulator nobody here wrote (moto, server mode),
 * with four accounts, through `deno task` as a person or CI runs it: a laptop
 * with a profile per account bootstraps, deploys and runs the dev pipeline;
 * CI, holding one role's credentials from its OIDC token and nothing else,
 * builds the image and promotes to staging and prod; the gate refuses a
 * commit staging never ran; CI serves approved models in staging (create,
 * update, a failed smoke test keeps the old version, delete) and a person's
 * approval serves one in prod; a used environment is destroyed to nothing.
 *
 * Real Terraform applies every root. The slowest part is not the emulator:
 * the AWS provider waits about 55 s after creating each bucket's lifecycle
 * configuration (it does on AWS too), so independent environments deploy in
 * parallel, as a team would.
 *
 * Run it alone with `deno task test --only e2e`. It prints its own timing table.
 */
import assert from "node:assert/strict";
import { isolatedEnv, REPO, type TaskRun } from "../helpers.ts";
import { Moto, type SessionCredentials } from "./moto.ts";

const ACCOUNTS = {
  operations: "111111111111",
  dev: "222222222222",
  staging: "333333333333",
  prod: "444444444444",
} as const;
const PROFILES = {
  "mlops-operations": ACCOUNTS.operations,
  "mlops-dev": ACCOUNTS.dev,
  "mlops-staging": ACCOUNTS.staging,
  "mlops-prod": ACCOUNTS.prod,
};
const COMMIT = "c0ffee0000000000000000000000000000000001";
const UNPROMOTED = "badc0de000000000000000000000000000000002";
const REGION = "eu-west-1";

/**
 * A checkout as a user has it: the repository's tasks, code and config
 * (symlinked), its own `.mlops/`, a home with AWS profiles, and a `docker`
 * stand-in on PATH that pushes to the emulated registry.
 */
async function workspace(moto: Moto) {
  const dir = await Deno.makeTempDir({ prefix: "mlops-e2e-" });
  for (const link of ["deno.json", "deno.lock", "tasks", "lib", "terraform", "training-pipeline"]) {
    await Deno.symlink(`${REPO}/${link}`, `${dir}/${link}`);
  }
  await Deno.copyFile(`${REPO}/mlops.config.json`, `${dir}/mlops.config.json`);
  const home = `${dir}/home`;
  await moto.writeProfiles(home, PROFILES);
  const bin = `${dir}/bin`;
  await Deno.mkdir(bin);
  const standin = new URL("./docker_standin.py", import.meta.url).pathname;
  await Deno.writeTextFile(`${bin}/docker`, `#!/bin/sh\nexec "${moto.python}" "${standin}" "$@"\n`, { mode: 0o755 });
  const base: Record<string, string> = {
    ...isolatedEnv(home),
    ...moto.env(),
    PATH: `${bin}:${Deno.env.get("PATH")}`,
    E2E_DOCKER_LOG: `${dir}/docker.log`,
    MLOPS_POLL_MS: "50",
  };
  delete base.NO_PROXY;
  delete base.no_proxy;
  return { dir, base };
}

/** `deno task <name> …` in `cwd`, as typed. */
async function task(cwd: string, env: Record<string, string>, name: string, args: string[]): Promise<TaskRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", name, ...args],
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** The environment of a CI job: one role's credentials, GitHub's variables, no profiles. */
function ciEnv(base: Record<string, string>, creds: SessionCredentials, ref: string, sha: string) {
  return {
    ...base,
    ...creds,
    AWS_REGION: REGION,
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_REF: ref,
    GITHUB_SHA: sha,
    GITHUB_ACTOR: "e2e-bot",
  };
}

function ok(run: TaskRun, what: string): TaskRun {
  assert.equal(run.code, 0, `${what} exited ${run.code}:\n${run.stderr.slice(-3000)}`);
  return run;
}

Deno.test({
  name: "e2e on moto: bootstrap → deploy → build → pipeline → CI promotions → gate → destroy, four accounts",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const began = performance.now();
    await using moto = await Moto.start(REGION);
    const { dir, base } = await workspace(moto);
    const laptop = (name: string, args: string[]) => task(dir, base, name, args);
    const timings: [string, number][] = [];
    /** `fn`, with its duration added to the timing table. */
    const timed = <T>(name: string, fn: () => Promise<T>) => async (): Promise<T> => {
      const started = performance.now();
      try {
        return await fn();
      } finally {
        timings.push([`  ${name}`, (performance.now() - started) / 1000]);
      }
    };
    let failed = false;
    // Each step needs the ones before it: after a failure the rest are not run (the test has failed).
    const step = (name: string, fn: () => Promise<void>) =>
      t.step({
        name,
        ignore: failed,
        fn: async () => {
          const started = performance.now();
          try {
            await fn();
          } catch (error) {
            failed = true;
            throw error;
          } finally {
            timings.push([name, (performance.now() - started) / 1000]);
          }
        },
      });
    let imageUri = "";
    const roles: Record<string, string> = {};

    await step("doctor sees four accounts through their profiles", async () => {
      const run = ok(await laptop("doctor", []), "doctor");
      for (const [env, account] of Object.entries(ACCOUNTS)) {
        assert.match(run.stdout, new RegExp(`aws ${env}\\s+ok\\s+arn:aws:sts::${account}:assumed-role/`));
      }
    });

    await step("bootstrap from empty accounts", async () => {
      const run = ok(await laptop("bootstrap", ["--yes"]), "bootstrap");
      for (const line of run.stdout.matchAll(/^\s*(MLOPS_\w+_ROLE_ARN)=(\S+)$/gm)) roles[line[1]] = line[2];
      assert.equal(roles.MLOPS_BUILD_ROLE_ARN, `arn:aws:iam::${ACCOUNTS.operations}:role/mlops-ci-build`);
      assert.equal(roles.MLOPS_STAGING_DEPLOY_ROLE_ARN, `arn:aws:iam::${ACCOUNTS.staging}:role/mlops-staging-deploy`);
      assert.equal(roles.MLOPS_PROD_DEPLOY_ROLE_ARN, `arn:aws:iam::${ACCOUNTS.prod}:role/mlops-prod-deploy`);
    });

    await step("bootstrap again changes nothing, then deploy dev (staging and prod deploy alongside)", async () => {
      const again = timed("bootstrap again", async () => {
        const run = ok(await laptop("bootstrap", ["--yes"]), "bootstrap (again)");
        assert.match(run.stdout, /backend\s+no changes/);
        assert.match(run.stdout, /operations\s+no changes/);
        assert.match(run.stdout, /No changes: already bootstrapped/);
      });
      const deployDev = timed(
        "deploy dev",
        async () => void ok(await laptop("deploy", ["dev", "--yes"]), "deploy dev"),
      );
      const others = ["staging", "prod"].map((env) =>
        timed(`deploy ${env}`, async () => void ok(await laptop("deploy", [env, "--yes"]), `deploy ${env}`))()
      );
      await Promise.all([again().then(deployDev), ...others]);
      const outputs = JSON.parse(await Deno.readTextFile(`${dir}/.mlops/outputs/dev.json`));
      assert.equal(outputs.bucket_name, `mlops-dev-ml-${ACCOUNTS.dev}`);
    });

    const drift = timed("deploy --all --plan and deploy dev --plan", async () => {
      const [all, single] = await Promise.all([
        laptop("deploy", ["--all", "--plan"]),
        laptop("deploy", ["dev", "--plan"]),
      ]);
      assert.equal(all.code, 0, `expected nothing pending:\n${all.stdout}\n${all.stderr.slice(-2000)}`);
      for (const env of ["dev", "staging", "prod"]) {
        assert.match(all.stdout, new RegExp(`${env}\\s+0\\s+0\\s+0\\s+0\\s+up to date`));
      }
      assert.equal(single.code, 0, `deploy dev --plan agrees with deploy --all --plan:\n${single.stderr.slice(-2000)}`);
    });

    const build = timed("build in CI with the build role: push to the operations registry", async () => {
      const creds = await moto.ciCredentials(roles.MLOPS_BUILD_ROLE_ARN);
      const run = ok(await task(dir, ciEnv(base, creds, "refs/heads/main", COMMIT), "build", []), "build");
      imageUri = run.stdout.trim();
      assert.match(
        imageUri,
        new RegExp(
          `^${ACCOUNTS.operations}\\.dkr\\.ecr\\.${REGION}\\.amazonaws\\.com/mlops/training@sha256:[0-9a-f]{64}$`,
        ),
      );
      const docker = await Deno.readTextFile(`${dir}/docker.log`);
      assert.match(docker, /^login --username AWS --password-stdin 111111111111\.dkr\.ecr/m);
      assert.match(docker, /^push 111111111111\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/mlops\/training:/m);
    });

    const devPipeline = timed("dev pipeline from the laptop: upload-data, upsert, start, status", async () => {
      ok(await laptop("pipeline", ["upload-data", "--env", "dev"]), "upload-data");
      ok(await laptop("pipeline", ["upsert", "--env", "dev", "--image", imageUri]), "upsert");
      const started = ok(await laptop("pipeline", ["start", "--env", "dev"]), "start");
      assert.match(started.stderr, new RegExp(`arn:aws:sagemaker:${REGION}:${ACCOUNTS.dev}:pipeline/`));
      const status = ok(await laptop("pipeline", ["status", "--env", "dev"]), "status");
      assert.match(status.stdout + status.stderr, /Succeeded|Executing/);
    });

    await step(
      "deploy --all --plan: nothing pending right after the applies (alongside: CI build, dev pipeline)",
      async () => {
        await Promise.all([drift(), build().then(devPipeline)]);
      },
    );

    /** `deno task <name> <env> …` as the environment's tag-triggered CI job runs it (its deploy role only). */
    const inCi = async (env: "staging" | "prod", name: string, args: string[], commit = COMMIT) => {
      const creds = await moto.ciCredentials(roles[`MLOPS_${env.toUpperCase()}_DEPLOY_ROLE_ARN`]);
      return task(dir, ciEnv(base, creds, `refs/tags/${env}`, commit), name, [env, ...args]);
    };

    const promoteStaging = timed(
      "promote staging in CI: the staging deploy role finds the image in operations",
      async () => {
        const run = await inCi("staging", "promote", ["--wait", "--json"]);
        ok(run, "promote staging");
        const record = JSON.parse(run.stdout);
        assert.equal(record.status, "succeeded");
        assert.equal(`${imageUri.split("@")[0]}@${record.digest}`, imageUri);
        assert.equal(record.pipelineStatus, "Succeeded");
      },
    );

    const promoteProd = timed("promote prod in CI: the gate passes on staging's record", async () => {
      const run = await inCi("prod", "promote", ["--wait", "--json"]);
      ok(run, "promote prod");
      assert.match(run.stderr, /Gate\s+staging ran c0ffee000000/);
      assert.equal(JSON.parse(run.stdout).imageUri, imageUri);
    });

    const status = timed("promote status shows staging and prod on the same commit and digest", async () => {
      const rows = JSON.parse(ok(await laptop("promote", ["status", "--json"]), "promote status").stdout);
      const current = (env: string) => rows.find((r: { environment: string }) => r.environment === env).current;
      assert.equal(current("staging").commit, COMMIT);
      assert.equal(current("prod").commit, COMMIT);
      assert.equal(current("prod").digest, current("staging").digest);
      assert.equal(current("dev"), null);
    });

    const gate = timed("the gate refuses a commit staging never ran", async () => {
      const run = await inCi("prod", "promote", [], UNPROMOTED);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /Refusing to promote to prod: staging has never promoted commit badc0de00000/);
      assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
      const rows = JSON.parse(ok(await laptop("promote", ["status", "--json"]), "promote status").stdout);
      assert.equal(rows.find((r: { environment: string }) => r.environment === "prod").latest.commit, COMMIT);
    });

    const serving = timed(
      "serve in CI: staging create, update, a failed smoke test keeps the old version, delete; prod --approve",
      async () => {
        const { SageMakerClient, CreateModelPackageCommand, DescribeEndpointCommand, DescribeModelPackageCommand } =
          await import("@aws-sdk/client-sagemaker");
        const clients = {
          staging: new SageMakerClient(await moto.clientConfig(ACCOUNTS.staging)),
          prod: new SageMakerClient(await moto.clientConfig(ACCOUNTS.prod)),
        };
        // What each pipeline's RegisterModel step leaves (moto's executions run no steps).
        const register = async (env: "staging" | "prod", status: "Approved" | "PendingManualApproval") =>
          (await clients[env].send(
            new CreateModelPackageCommand({
              ModelPackageGroupName: "mlops-models",
              ModelApprovalStatus: status,
              InferenceSpecification: {
                Containers: [{ Image: imageUri }],
                SupportedContentTypes: ["text/csv", "application/json"],
                SupportedResponseMIMETypes: ["application/json", "text/csv"],
              },
            }),
          )).ModelPackageArn!;
        // What the version's `serve` answers the smoke test (moto runs no containers; see moto_launcher.py).
        const answers = async (env: "staging" | "prod", bodies: string[]) => {
          const response = await fetch(`${moto.endpoint}/moto-api/static/sagemaker/endpoint-results`, {
            method: "POST",
            body: JSON.stringify({
              account_id: ACCOUNTS[env],
              region: REGION,
              results: bodies.map((Body) => ({ Body, ContentType: "application/json" })),
            }),
          });
          assert.ok(response.ok, await response.text());
        };
        const prediction = { label: "Urology", probabilities: { Urology: 0.9, Neurology: 0.1 } };
        const valid = JSON.stringify({
          labels: ["Neurology", "Urology"],
          predictions: [prediction, prediction, prediction],
        });
        const stagingCreds = await moto.ciCredentials(roles.MLOPS_STAGING_DEPLOY_ROLE_ARN);
        const serveStaging = (args: string[]) =>
          task(dir, ciEnv(base, stagingCreds, "refs/tags/staging", COMMIT), "serve", ["staging", ...args]);
        const serving = async () =>
          (await clients.staging.send(new DescribeEndpointCommand({ EndpointName: "mlops-staging" })))
            .EndpointConfigName;
        try {
          await register("staging", "Approved");
          await answers("staging", [valid]);
          const v1 = JSON.parse(ok(await serveStaging(["--json"]), "serve staging (create)").stdout);
          assert.deepEqual([v1.version, v1.commit, v1.status], [1, COMMIT, "succeeded"]);
          assert.equal(await serving(), v1.endpointConfig);

          await register("staging", "Approved");
          await answers("staging", [valid]);
          const v2 = JSON.parse(ok(await serveStaging(["--json"]), "serve staging (update)").stdout);
          assert.deepEqual([v2.version, v2.previousVersion], [2, 1]);
          assert.equal(await serving(), v2.endpointConfig);

          await register("staging", "Approved");
          await answers("staging", ['{"error": "Cannot load the model: no model.joblib in \\"/opt/ml/model\\""}']);
          const broken = await serveStaging([]);
          assert.equal(broken.code, 1, broken.stderr.slice(-2000));
          assert.match(
            broken.stderr,
            /Version 3 failed its smoke test in staging: .* The previous version serves again/,
          );
          assert.equal(await serving(), v2.endpointConfig, "version 2 still serves");
          const rows = JSON.parse(ok(await laptop("serve", ["status", "--json"]), "serve status").stdout);
          const staging = rows.find((r: { environment: string }) => r.environment === "staging");
          assert.deepEqual([staging.current.version, staging.latest.version, staging.latest.status], [2, 3, "failed"]);

          const prodArn = await register("prod", "PendingManualApproval");
          await answers("prod", [valid]);
          const prodCreds = await moto.ciCredentials(roles.MLOPS_PROD_DEPLOY_ROLE_ARN);
          const approved = await task(dir, ciEnv(base, prodCreds, "refs/tags/prod", COMMIT), "serve", [
            "prod",
            "--approve",
            "1",
            "--reason",
            "e2e review",
            "--json",
          ]);
          const record = JSON.parse(ok(approved, "serve prod --approve").stdout);
          assert.match(approved.stderr, /Gate\s+staging served commit c0ffee000000/);
          assert.deepEqual([record.approval.by, record.approval.reason], ["github:e2e-bot", "e2e review"]);
          const pkg = await clients.prod.send(new DescribeModelPackageCommand({ ModelPackageName: prodArn }));
          assert.equal(pkg.ModelApprovalStatus, "Approved");

          const deleted = ok(await serveStaging(["--delete"]), "serve staging --delete");
          assert.match(
            deleted.stderr,
            /Deleted\s+endpoint mlops-staging, 3 endpoint config\(s\), 3 model\(s\) in staging/,
          );
          await assert.rejects(serving(), /Could not find endpoint/);
        } finally {
          clients.staging.destroy();
          clients.prod.destroy();
        }
      },
    );

    const handDrift = timed("a bucket policy edited by hand shows as drift, not as a code change", async () => {
      const { S3Client, GetBucketPolicyCommand, PutBucketPolicyCommand } = await import("@aws-sdk/client-s3");
      const s3 = new S3Client(await moto.clientConfig(ACCOUNTS.dev));
      const Bucket = `mlops-dev-ml-${ACCOUNTS.dev}`;
      try {
        const policy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy!);
        policy.Statement.push({
          Sid: "EditedByHand",
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::999999999999:root" },
          Action: "s3:GetObject",
          Resource: `arn:aws:s3:::${Bucket}/*`,
        });
        await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify(policy) }));
      } finally {
        s3.destroy();
      }
      const run = await laptop("deploy", ["dev", "--plan"]);
      assert.equal(run.code, 3, run.stderr.slice(-2000));
      assert.match(
        run.stderr,
        /changed outside Terraform module\.bucket\.aws_s3_bucket_policy\.this \(policy\); applying restores it/,
      );
    });

    const destroyDev = timed("destroy dev with data, a pipeline and a model version: nothing left", async () => {
      const { SageMakerClient, CreateModelPackageCommand, ListPipelinesCommand, ListModelPackageGroupsCommand } =
        await import("@aws-sdk/client-sagemaker");
      const { S3Client, ListBucketsCommand } = await import("@aws-sdk/client-s3");
      const config = await moto.clientConfig(ACCOUNTS.dev);
      const sagemaker = new SageMakerClient(config);
      const s3 = new S3Client(config);
      try {
        // What the pipeline's RegisterModel step leaves on AWS (moto's executions run no steps).
        await sagemaker.send(
          new CreateModelPackageCommand({
            ModelPackageGroupName: "mlops-models",
            InferenceSpecification: {
              Containers: [{ Image: imageUri }],
              SupportedContentTypes: ["text/csv"],
              SupportedResponseMIMETypes: ["text/csv"],
            },
          }),
        );
        const run = await laptop("destroy", ["dev", "--yes", "--confirm", "dev"]);
        ok(run, "destroy dev");
        assert.match(
          run.stderr,
          /First\s+deletes 1 object version and 0 delete markers in s3:\/\/mlops-dev-ml-222222222222/,
        );
        assert.match(run.stderr, /pipeline mlops-training/);
        assert.match(run.stderr, /1 model package version/);
        const state = ok(await laptop("tf", ["main", "dev", "--", "state", "list"]), "state list");
        assert.equal(state.stdout.trim(), "", "the dev state holds nothing");
        const buckets = (await s3.send(new ListBucketsCommand({}))).Buckets ?? [];
        assert.deepEqual(buckets.map((b) => b.Name).filter((n) => n?.startsWith("mlops-dev-")), []);
        assert.deepEqual((await sagemaker.send(new ListPipelinesCommand({}))).PipelineSummaries ?? [], []);
        assert.deepEqual(
          (await sagemaker.send(new ListModelPackageGroupsCommand({}))).ModelPackageGroupSummaryList ?? [],
          [],
        );
      } finally {
        sagemaker.destroy();
        s3.destroy();
      }
    });

    await step(
      "promotions and serving in CI: staging, prod, status, gate, serve (alongside: drift and destroy of dev)",
      async () => {
        await Promise.all([
          promoteStaging().then(promoteProd).then(status).then(gate).then(serving),
          handDrift().then(destroyDev),
        ]);
      },
    );

    const total = (performance.now() - began) / 1000;
    console.log(
      ["", "e2e step timings (s):", ...timings.map(([n, s]) => `  ${s.toFixed(1).padStart(6)}  ${n}`)]
        .concat(`  ${total.toFixed(1).padStart(6)}  total (wall clock)`)
        .join("\n"),
    );
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  },
});
