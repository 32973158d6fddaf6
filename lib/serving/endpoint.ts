/**
 * Serving in an environment: an approved model package version becomes the
 * environment's endpoint. Model (from the package, with the execution role
 * from Terraform's outputs) → endpoint config named after the version → create
 * or update the endpoint → wait → smoke test through `InvokeEndpoint` on sample
 * texts → record. A version that fails its smoke test never stays: the previous
 * endpoint config is put back (or a fresh endpoint deleted) and the task fails.
 *
 * Names (all start with `<name>-<env>`, the prefix the deploy role may manage):
 * endpoint `<name>-<env>`, model `<name>-<env>-v<N>`, endpoint config
 * `<name>-<env>-v<N>-<hash of the variant settings>`.
 * Records: see `records.ts`.
 *
 * @example
 * ```ts
 * import { servingGateProblem } from "./endpoint.ts";
 * console.log(servingGateProblem(null, { commit: "abc", digest: "sha256:…" }, "staging"));
 * ```
 * @module
 */
import type { ProductionVariant } from "@aws-sdk/client-sagemaker";
import { TaskError } from "../cli.ts";
import type { Environment } from "../config.ts";
import type { TaskContext } from "../context.ts";
import { sha256Hex } from "../hash.ts";
import { log, style, table } from "../log.ts";
import { environmentOutputs } from "../pipeline/commands.ts";
import { actor, assertCiRef, PromotionRecords, readPerEnvironment } from "../promote.ts";
import type { CleanupStep } from "../teardown.ts";
import { sampleTexts } from "./predictions.ts";
import { type Approval, type ServingRecord, ServingRecords, type ServingSettings, servingSummary } from "./records.ts";

export type { Approval, ServingRecord, ServingSettings } from "./records.ts";
export { servingSummary } from "./records.ts";
import { describeServingLeftovers, type EndpointState, Hosting, type HostingOptions, isMissing } from "./hosting.ts";

/** Resource names of one version's deployment. */
export interface ServingNames {
  endpoint: string;
  model: string;
  endpointConfig: string;
}

/** The names for `version` in `env`: endpoint, model and an endpoint config that changes with the settings. */
export async function servingNames(
  name: string,
  env: Environment,
  version: number,
  settings: ServingSettings,
): Promise<ServingNames> {
  const { variant, memorySizeInMb, maxConcurrency, instanceType, instanceCount } = settings;
  const shape = variant === "serverless"
    ? `${variant}:${memorySizeInMb}:${maxConcurrency}`
    : `${variant}:${instanceType}:${instanceCount}`;
  const endpoint = `${name}-${env}`;
  return {
    endpoint,
    model: `${endpoint}-v${version}`,
    endpointConfig: `${endpoint}-v${version}-${(await sha256Hex(shape)).slice(0, 8)}`,
  };
}

/** The production variant of an endpoint config: serverless by default, instances when opted in. */
export function productionVariant(model: string, settings: ServingSettings): ProductionVariant {
  return settings.variant === "serverless"
    ? {
      VariantName: "AllTraffic",
      ModelName: model,
      ServerlessConfig: { MemorySizeInMB: settings.memorySizeInMb, MaxConcurrency: settings.maxConcurrency },
    }
    : {
      VariantName: "AllTraffic",
      ModelName: model,
      InstanceType: settings.instanceType as ProductionVariant["InstanceType"],
      InitialInstanceCount: settings.instanceCount,
      InitialVariantWeight: 1,
    };
}

/** Why prod may not serve this model, or null: `from` must have served the same commit and digest. */
export function servingGateProblem(
  source: ServingRecord | null,
  wanted: { commit: string | null; digest: string | null },
  from: Environment,
): string | null {
  if (!wanted.commit || !wanted.digest) {
    return `no promotion record names the image ${
      wanted.digest ?? "(none)"
    } of this model, so its commit is unknown. Promote the commit, let its pipeline register the model, and serve that version`;
  }
  const short = wanted.commit.slice(0, 12);
  if (!source || source.status !== "succeeded") {
    return `${from} has never served a model of commit ${short}. Serve it in ${from} first: deno task serve ${from}`;
  }
  if (source.digest !== wanted.digest) {
    return `${from} served commit ${short} with image ${source.digest}, not ${wanted.digest}. Serve this image in ${from} first`;
  }
  return null;
}

/** Runs `work` with hosting clients acting in `env`; SDK failures become one line. */
async function withHosting<T>(
  ctx: TaskContext,
  env: Environment,
  what: string,
  work: (hosting: Hosting) => Promise<T>,
  options: HostingOptions = {},
): Promise<T> {
  const { SageMakerClient } = await import("@aws-sdk/client-sagemaker");
  const { SageMakerRuntimeClient } = await import("@aws-sdk/client-sagemaker-runtime");
  const config = await ctx.aws.clientConfig(env);
  const sagemaker = new SageMakerClient(config);
  const runtime = new SageMakerRuntimeClient(config);
  try {
    return await work(new Hosting(sagemaker, runtime, options));
  } catch (error) {
    throw ctx.aws.awsError(env, `${what} ${env}`, error);
  } finally {
    sagemaker.destroy();
    runtime.destroy();
  }
}

/** Options of {@linkcode serve}. */
export interface ServeOptions {
  /** The version to serve (default: the latest Approved). */
  version?: number;
  /** Approve `version` first (after the gate), recording why. */
  approve: { reason: string | null } | null;
  pollMs?: number;
  /** Sample texts for the smoke test (default: the first three of the dataset). */
  texts?: string[];
}

/** The commit promoted to `env` with image `digest`, from the promotion records (null: none names it). */
async function commitOf(records: PromotionRecords, env: Environment, digest: string | null): Promise<string | null> {
  if (!digest) return null;
  for (const record of [await records.current(env), await records.latest(env)]) {
    if (record?.digest === digest) return record.commit;
  }
  return null;
}

/** Serves an approved version in `env`; returns the record (also written on failure). */
export async function serve(ctx: TaskContext, env: Environment, options: ServeOptions): Promise<ServingRecord> {
  const settings = ctx.config.environment(env);
  assertCiRef(ctx, env, "serve");
  log.step("Checking", `credentials of ${env} (${ctx.aws.describe(ctx.aws.source(env))})`);
  await ctx.aws.assertEnvironment(env, "serve a model in");
  const outputs = await environmentOutputs(ctx, env);
  const texts = options.texts ?? await datasetSamples(ctx);
  const records = await PromotionRecords.open(ctx);
  const serving = new ServingRecords(records);
  try {
    return await withHosting(ctx, env, "serve a model in", async (hosting) => {
      const group = outputs.model_package_group_name;
      const arn = (version: number) =>
        `arn:aws:sagemaker:${ctx.config.region}:${
          ctx.config.account(env).id
        }:model-package/${group.toLowerCase()}/${version}`;
      const model = options.version !== undefined
        ? await hosting.modelVersion(arn(options.version)).catch((error) => {
          if (!isMissing(error)) throw error;
          throw new TaskError(
            `Model version ${options.version} does not exist in "${group}" of ${env}. List them in the SageMaker console or with: aws sagemaker list-model-packages --model-package-group-name ${group}`,
          );
        })
        : await hosting.latestApproved(group);
      if (!model) {
        throw new TaskError(
          `No Approved model version in "${group}" of ${env}. Train one (deno task promote ${env} --wait) or approve one (deno task serve ${env} --approve N).`,
        );
      }
      const commit = await commitOf(records, env, model.digest);
      log.step(
        "Model",
        `${group} version ${model.version} (${model.status}), image ${model.digest ?? model.image}${
          commit ? `, commit ${commit.slice(0, 12)}` : ""
        }`,
      );
      // The gate comes before any approval: nothing is approved in prod that staging has not served.
      if (settings.promoteFrom) {
        const source = commit ? await serving.forCommit(settings.promoteFrom, commit) : null;
        const problem = servingGateProblem(source, { commit, digest: model.digest }, settings.promoteFrom);
        if (problem) throw new TaskError(`Refusing to serve version ${model.version} in ${env}: ${problem}.`);
        log.step("Gate", `${settings.promoteFrom} served commit ${commit!.slice(0, 12)} with ${model.digest}`);
      }
      let approval: Approval | null = null;
      if (options.approve) {
        approval = {
          version: model.version,
          by: actor(),
          reason: options.approve.reason,
          time: new Date().toISOString(),
        };
        if (model.status !== "Approved") {
          await hosting.approve(
            model.arn,
            `Approved by ${approval.by}${approval.reason ? `: ${approval.reason}` : ""}`,
          );
        }
        await serving.approve(env, approval);
        log.step(
          "Approved",
          `version ${model.version} by ${approval.by}${approval.reason ? ` (${approval.reason})` : ""}`,
        );
      } else if (model.status !== "Approved") {
        throw new TaskError(
          `Version ${model.version} of "${group}" in ${env} is ${model.status}, not Approved. Approve it: deno task serve ${env} --approve ${model.version} --reason "…"`,
        );
      }
      const previous = await serving.current(env);
      const record: ServingRecord = {
        environment: env,
        version: model.version,
        modelPackageArn: model.arn,
        ...(await servingNames(ctx.config.data.name, env, model.version, settings.serving)),
        variant: settings.serving.variant,
        digest: model.digest,
        commit,
        status: "failed",
        error: null,
        previousVersion: previous?.status === "succeeded" ? previous.version : null,
        approval,
        time: new Date().toISOString(),
        actor: actor(),
      };
      let failure: unknown = null;
      try {
        const recorded = previous?.status === "succeeded" ? previous.endpointConfig : null;
        await deployVersion(ctx, hosting, record, outputs.execution_role_arn, settings.serving, { texts, recorded });
        record.status = "succeeded";
      } catch (error) {
        failure = error;
        record.error = (error as Error).message;
      }
      record.time = new Date().toISOString();
      await serving.write(record);
      log.step("Recorded", `${record.status} serving of version ${record.version} in ${env}`);
      if (failure) throw failure;
      return record;
    }, { pollMs: options.pollMs });
  } finally {
    records.close();
  }
}

/**
 * After a promotion's pipeline run succeeded: serves the version that run registered when it is
 * Approved; otherwise says who approves it and how. Returns the serving record, or null.
 */
export async function serveRegistered(
  ctx: TaskContext,
  env: Environment,
  executionArn: string,
  pollMs?: number,
): Promise<ServingRecord | null> {
  const { model_package_group_name: group } = await environmentOutputs(ctx, env);
  const registered = await withHosting(
    ctx,
    env,
    "find the model registered in",
    (h) => h.registeredBy(group, executionArn),
  );
  if (!registered) {
    log.warn(`The pipeline run ${executionArn} registered no model version in "${group}"; nothing new to serve.`);
    return null;
  }
  if (registered.status !== "Approved") {
    log.step(
      "Waiting",
      `version ${registered.version} is ${registered.status}: a person approves it with deno task serve ${env} --approve ${registered.version} --reason "…" (the serve workflow)`,
    );
    return null;
  }
  return await serve(ctx, env, { version: registered.version, approve: null, pollMs });
}

/** Model → endpoint config → create/update → wait → smoke test; puts the previous config back on failure. */
async function deployVersion(
  ctx: TaskContext,
  hosting: Hosting,
  record: ServingRecord,
  roleArn: string,
  settings: ServingSettings,
  { texts, recorded }: { texts: string[]; recorded: string | null },
): Promise<void> {
  const tags = { ...ctx.config.data.tags, "mlops:environment": record.environment };
  const name = record.endpoint;
  const created = await hosting.ensureModel(record.model, record.modelPackageArn, roleArn, tags);
  log.step(created ? "Created" : "Exists", `model ${record.model}`);
  const configCreated = await hosting.ensureEndpointConfig(
    record.endpointConfig,
    productionVariant(record.model, settings),
    tags,
  );
  log.step(configCreated ? "Created" : "Exists", `endpoint config ${record.endpointConfig} (${settings.variant})`);
  const report = (state: EndpointState | null) =>
    log.info(`Endpoint ${name}: ${state?.status ?? "absent"}${state?.config ? ` (${state.config})` : ""}`);
  let before = await hosting.endpoint(name);
  if (before && !["InService", "Failed"].includes(before.status)) before = await hosting.waitForEndpoint(name, report);
  const live = before?.status === "InService" ? before.config : null;
  // What to put back if the smoke test fails: what served before this run, or, when an interrupted
  // run already switched the endpoint to this version, the last version recorded as serving.
  const previousConfig = live && live !== record.endpointConfig
    ? live
    : recorded && recorded !== record.endpointConfig
    ? recorded
    : live;
  if (before?.status === "InService" && before.config === record.endpointConfig) {
    log.step("Unchanged", `endpoint ${name} already serves ${record.endpointConfig}`);
  } else {
    await hosting.deploy(name, record.endpointConfig, before !== null, {
      blueGreen: settings.variant === "provisioned",
      tags,
    });
    log.step(before ? "Updating" : "Creating", `endpoint ${name} → ${record.endpointConfig}`);
  }
  const after = await hosting.waitForEndpoint(name, report);
  if (after?.status !== "InService" || after.config !== record.endpointConfig) {
    throw new TaskError(
      `The endpoint ${name} did not take version ${record.version}: ${after?.status ?? "absent"}${
        after?.failureReason ? ` (${after.failureReason})` : ""
      }${after?.config ? `; it serves ${after.config}` : ""}. Fix the cause, then re-run.`,
    );
  }
  log.step("Smoke test", `${texts.length} sample texts through InvokeEndpoint`);
  const smoke = await hosting.smokeTest(name, texts);
  if (!smoke.problem) {
    log.step("Serving", `version ${record.version} at endpoint ${name}`);
    return;
  }
  // A version that fails its smoke test never stays: put back what served, or remove what we created.
  if (previousConfig && previousConfig !== record.endpointConfig) {
    log.warn(`Smoke test failed; putting ${previousConfig} back`);
    await hosting.deploy(name, previousConfig, true, { blueGreen: settings.variant === "provisioned", tags });
    await hosting.waitForEndpoint(name, report);
    throw new TaskError(
      `Version ${record.version} failed its smoke test in ${record.environment}: ${smoke.problem}. The previous version serves again (${previousConfig}).`,
    );
  }
  if (!live) {
    log.warn(`Smoke test failed; deleting the endpoint ${name}, which serves nothing else`);
    const { DeleteEndpointCommand } = await import("@aws-sdk/client-sagemaker");
    await hosting.sagemaker.send(new DeleteEndpointCommand({ EndpointName: name }));
    await hosting.waitForEndpoint(name, report);
  }
  throw new TaskError(
    `Version ${record.version} failed its smoke test in ${record.environment}: ${smoke.problem}. ${
      live ? "It was already serving; fix the model or serve another version." : "Nothing serves there now."
    }`,
  );
}

async function datasetSamples(ctx: TaskContext): Promise<string[]> {
  const { path, textColumn } = ctx.config.data.pipeline.dataset;
  const csv = await Deno.readTextFile(path).catch(() => {
    throw new TaskError(`The dataset "${path}" does not exist. Set pipeline.dataset.path in the config to a CSV file.`);
  });
  const texts = sampleTexts(csv, textColumn, 3);
  if (texts.length === 0) {
    throw new TaskError(`The dataset "${path}" has no texts in column "${textColumn}" for the smoke test.`);
  }
  return texts;
}

/** The environment's endpoint name and the prefix of its models and endpoint configs. */
function servingPrefix(ctx: TaskContext, env: Environment): { endpoint: string; prefix: string } {
  const endpoint = `${ctx.config.data.name}-${env}`;
  return { endpoint, prefix: `${endpoint}-v` };
}

/**
 * Deletes everything serving created in `env`: the endpoint, every endpoint config and
 * model named with the environment's prefix, and marks the record deleted. Safe to repeat.
 */
export async function deleteServing(ctx: TaskContext, env: Environment): Promise<void> {
  assertCiRef(ctx, env, "serve");
  await ctx.aws.assertEnvironment(env, "delete the endpoint of");
  const { endpoint, prefix } = servingPrefix(ctx, env);
  const removed = await withHosting(
    ctx,
    env,
    "delete the endpoint of",
    (hosting) => hosting.deleteAll(endpoint, prefix),
    { pollMs: Number(Deno.env.get("MLOPS_POLL_MS") ?? 15_000) },
  );
  log.step(
    "Deleted",
    `${
      removed.endpoint ? `endpoint ${endpoint}, ` : ""
    }${removed.configs.length} endpoint config(s), ${removed.models.length} model(s) in ${env}`,
  );
  const records = await PromotionRecords.open(ctx);
  try {
    const serving = new ServingRecords(records);
    const current = await serving.current(env);
    if (current && current.status !== "deleted") {
      await serving.write({
        ...current,
        status: "deleted",
        error: null,
        time: new Date().toISOString(),
        actor: actor(),
      });
    }
  } catch (error) {
    throw ctx.aws.awsError("operations", "record the deletion", error);
  } finally {
    records.close();
  }
}

/**
 * Serving's part of `destroy <env>` (lib/teardown.ts): lists the endpoint, endpoint configs
 * and models serving created, and deletes them with {@linkcode deleteServing}.
 */
export function servingCleanup(ctx: TaskContext, env: Environment): CleanupStep {
  const { endpoint, prefix } = servingPrefix(ctx, env);
  return {
    inventory: () =>
      withHosting(
        ctx,
        env,
        "list the endpoint of",
        async (hosting) => describeServingLeftovers(await hosting.inventory(endpoint, prefix)),
      ),
    run: () => deleteServing(ctx, env),
  };
}

/** What serves in each environment now, and the last attempt. */
export function servingStatus(
  ctx: TaskContext,
): Promise<{ environment: Environment; current: ServingRecord | null; latest: ServingRecord | null }[]> {
  return readPerEnvironment(ctx, "serving", async (records, environment) => {
    const serving = new ServingRecords(records);
    return { current: await serving.current(environment), latest: await serving.latest(environment) };
  });
}

/** The status table. */
export function describeServingStatus(rows: Awaited<ReturnType<typeof servingStatus>>): string {
  return table(
    ["environment", "serving", "commit", "since", "approved by", "last attempt"],
    rows.map(({ environment, current, latest }) => [
      environment,
      servingSummary(current),
      current?.status === "succeeded" ? current.commit?.slice(0, 12) ?? "unknown" : "-",
      current?.status === "succeeded" ? current.time.replace(/\.\d+Z$/, "Z") : "-",
      current?.approval?.by ?? "-",
      !latest
        ? "-"
        : latest.status === "failed"
        ? style.red(`failed v${latest.version}: ${latest.error ?? ""}`.slice(0, 60))
        : style.green(`${latest.status} v${latest.version}`),
    ]),
  );
}
