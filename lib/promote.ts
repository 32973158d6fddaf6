/**
 * Promotion: a commit's image, pinned by digest, moves into an environment —
 * deploy its infrastructure, upload the data, upsert and start the pipeline —
 * and a record of it is kept in the operations account. An environment with
 * `promoteFrom` only takes a commit and digest its source environment
 * promoted successfully (prod runs exactly what staging ran).
 *
 * Records live in the promotion records bucket:
 * `promotions/<env>/commits/<commit>.json` (the last attempt of that commit),
 * `promotions/<env>/latest.json` (the last attempt) and
 * `promotions/<env>/current.json` (the last success: what runs there now).
 *
 * @example
 * ```ts
 * import { gateProblem } from "./promote.ts";
 * console.log(gateProblem(null, { commit: "abc", digest: "sha256:…" }, "staging", true));
 * ```
 * @module
 */
import { type AwsAccess, inCi, isNotFound } from "./aws.ts";
import { TaskError } from "./cli.ts";
import { sha256Hex } from "./hash.ts";
import { type Environment, ENVIRONMENTS } from "./config.ts";
import type { TaskContext } from "./context.ts";
import { deploy } from "./deploy.ts";
import { buildImage, CONTEXT_DIR, hashContext, ImageRepository } from "./image.ts";
import { log, style, table } from "./log.ts";
import { run } from "./process.ts";
import { type ServingRecord, ServingRecords, servingSummary } from "./serving/records.ts";
import { failureOf, startPipeline, uploadData, upsertPipeline, watchPipeline } from "./pipeline/commands.ts";

/** What is kept about one promotion attempt. */
export interface PromotionRecord {
  environment: Environment;
  commit: string;
  digest: string;
  imageUri: string;
  definitionHash: string | null;
  executionArn: string | null;
  /** The pipeline execution's status when the record was written (null: not started). */
  pipelineStatus: string | null;
  /** Which attempt of this commit, image and definition (a failed run is retried as the next). */
  attempt: number;
  status: "succeeded" | "failed";
  error: string | null;
  time: string;
  actor: string;
}

/** Why a gate refuses, or null when the source record allows the promotion. */
export function gateProblem(
  source: PromotionRecord | null,
  wanted: { commit: string; digest: string },
  from: Environment,
  requirePipelineSuccess: boolean,
): string | null {
  const short = wanted.commit.slice(0, 12);
  if (!source) return `${from} has never promoted commit ${short}. Promote it to ${from} first`;
  if (source.status !== "succeeded") {
    return `the promotion of ${short} to ${from} failed (${
      source.error ?? "no reason recorded"
    }). Fix it and promote to ${from} again`;
  }
  if (source.digest !== wanted.digest) {
    return `${from} ran commit ${short} with image ${source.digest}, not ${wanted.digest}. Promote this image to ${from} first`;
  }
  if (requirePipelineSuccess && source.pipelineStatus !== "Succeeded") {
    return `the ${from} pipeline run of ${short} has status ${
      source.pipelineStatus ?? "not started"
    }, not Succeeded. Promote to ${from} with --wait and let it succeed first`;
  }
  return null;
}

/** Reads and writes promotion records in the operations account. */
export class PromotionRecords {
  constructor(
    private readonly s3: import("@aws-sdk/client-s3").S3Client,
    private readonly bucket: string,
    private readonly aws: AwsAccess,
  ) {}

  /** Records of the operations account, with the credentials a promotion has there. */
  static async open(ctx: TaskContext): Promise<PromotionRecords> {
    return new PromotionRecords(await ctx.aws.s3Client("operations"), ctx.config.names.recordsBucket, ctx.aws);
  }

  /** Any JSON record in the bucket (serving records live beside the promotion records), or null. */
  async readJson<T>(key: string): Promise<T | null> {
    const { GetObjectCommand } = await import("@aws-sdk/client-s3");
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return JSON.parse(await out.Body!.transformToString()) as T;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw this.aws.awsError("operations", `read the record s3://${this.bucket}/${key}`, error);
    }
  }

  /** Writes one JSON document under each of `keys`. */
  async writeJson(keys: string[], value: unknown): Promise<void> {
    const { PutObjectCommand } = await import("@aws-sdk/client-s3");
    const body = JSON.stringify(value, null, 2) + "\n";
    for (const Key of keys) {
      await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentType: "application/json" }),
      );
    }
  }

  #read(key: string): Promise<PromotionRecord | null> {
    return this.readJson<PromotionRecord>(key);
  }

  /** The last attempt to promote `commit` to `env`. */
  forCommit(env: Environment, commit: string): Promise<PromotionRecord | null> {
    return this.#read(`promotions/${env}/commits/${commit}.json`);
  }

  /** What runs in `env` now (the last successful promotion). */
  current(env: Environment): Promise<PromotionRecord | null> {
    return this.#read(`promotions/${env}/current.json`);
  }

  /** The last attempt in `env`, successful or not. */
  latest(env: Environment): Promise<PromotionRecord | null> {
    return this.#read(`promotions/${env}/latest.json`);
  }

  /** Stores a record; `current.json` only moves on success. */
  async write(record: PromotionRecord): Promise<void> {
    const keys = [
      `promotions/${record.environment}/commits/${record.commit}.json`,
      `promotions/${record.environment}/latest.json`,
    ];
    if (record.status === "succeeded") keys.push(`promotions/${record.environment}/current.json`);
    await this.writeJson(keys, record);
  }

  close(): void {
    this.s3.destroy();
  }
}

/** The commit being promoted: `GITHUB_SHA` in CI, else `git rev-parse HEAD` of a clean checkout. */
export async function currentCommit(options: { allowDirty: boolean; paths: string[] }): Promise<string> {
  const fromCi = Deno.env.get("GITHUB_SHA");
  if (fromCi) return fromCi;
  const head = await run(["git", "rev-parse", "HEAD"], { capture: true, captureStderr: true });
  if (head.code !== 0) {
    throw new TaskError("Cannot tell which commit to promote: not a git checkout and GITHUB_SHA is unset.");
  }
  // What gets built and deployed must be that commit, or the record would vouch for code no commit has.
  const status = await run(["git", "status", "--porcelain", "--", ...options.paths], { capture: true });
  const dirty = status.stdout.split("\n").filter((l) => l.trim()).map((l) => l.slice(3));
  if (dirty.length > 0 && !options.allowDirty) {
    throw new TaskError(
      `Refusing to promote: uncommitted changes in ${dirty.slice(0, 3).join(", ")}${
        dirty.length > 3 ? ", …" : ""
      }. Commit them (promotions record a commit), or pass --allow-dirty.`,
    );
  }
  return head.stdout.trim();
}

/** Who acts: the GitHub actor in CI, else the local user. */
export function actor(): string {
  return Deno.env.get("GITHUB_ACTOR")
    ? `github:${Deno.env.get("GITHUB_ACTOR")}`
    : `${Deno.env.get("USER") ?? "unknown"}@local`;
}

/** In CI, refuses unless the workflow runs on the environment's ref (`verb`: "promote", "serve"). */
export function assertCiRef(ctx: TaskContext, env: Environment, verb: string): void {
  const ref = Deno.env.get("GITHUB_REF");
  const wanted = ctx.config.environment(env).ci.ref;
  if (inCi() && ref !== wanted) {
    throw new TaskError(
      `Refusing to ${verb} ${env} from ${ref ?? "an unknown ref"}: ${env} is ${verb}d only from ${wanted}.`,
    );
  }
}

/** Options of {@linkcode promote}. */
export interface PromoteOptions {
  wait: boolean;
  pollMs?: number;
  allowDirty?: boolean;
}

/** The commit's image digest: from the registry, or built where the environment allows it. */
async function imageDigest(ctx: TaskContext, env: Environment, commit: string): Promise<string> {
  const { tag } = await hashContext(CONTEXT_DIR);
  const repository = await ImageRepository.open(ctx.config, ctx.aws);
  let digest: string | null;
  try {
    digest = await repository.digestOf(tag);
  } finally {
    repository.close();
  }
  if (digest) return digest;
  const missing = `The registry has no image for commit ${commit.slice(0, 12)} (tag ${tag})`;
  if (!ctx.config.environment(env).buildIfMissing) {
    throw new TaskError(
      `${missing}. Build it first (deno task build, or merge to ${ctx.config.data.github.defaultBranch}), or set environments.${env}.buildIfMissing.`,
    );
  }
  if (!ctx.aws.useProfiles) {
    // One set of credentials (CI, --no-profile) cannot act as both the environment and the build role.
    throw new TaskError(
      `${missing}, and these credentials cannot build it: images are pushed by the build role (the build workflow, or deno task build with the operations profile). Build it, then re-run.`,
    );
  }
  return (await buildImage(ctx)).digest;
}

/** Promotes the current commit to `env`; the record is written only after the outcome is known. */
export async function promote(ctx: TaskContext, env: Environment, options: PromoteOptions): Promise<PromotionRecord> {
  const settings = ctx.config.environment(env);
  // 1. In CI the ref must be the environment's (a `staging` tag promotes staging, nothing else).
  assertCiRef(ctx, env, "promote");
  const commit = await currentCommit({
    allowDirty: options.allowDirty ?? false,
    paths: [CONTEXT_DIR, "terraform", ctx.config.file],
  });
  log.step("Checking", `credentials of ${env} (${ctx.aws.describe(ctx.aws.source(env))})`);
  await ctx.aws.assertEnvironment(env, "promote to");

  // 2. This commit's image, by digest.
  const digest = await imageDigest(ctx, env, commit);
  const imageUri = `${ctx.config.names.registry}/${ctx.config.names.ecrRepository}@${digest}`;
  log.step("Image", `${imageUri} (commit ${commit.slice(0, 12)})`);

  const records = await PromotionRecords.open(ctx);
  let record: PromotionRecord;
  try {
    // 3. The gate: the source environment must have run this commit and digest.
    if (settings.promoteFrom) {
      const source = await records.forCommit(settings.promoteFrom, commit);
      const problem = gateProblem(
        source,
        { commit, digest },
        settings.promoteFrom,
        settings.requireSourcePipelineSuccess,
      );
      if (problem) throw new TaskError(`Refusing to promote to ${env}: ${problem}.`);
      log.step("Gate", `${settings.promoteFrom} ran ${commit.slice(0, 12)} with ${digest} successfully`);
    }
    const previous = await records.forCommit(env, commit);
    record = await promoteRecorded(ctx, env, records, previous, { commit, digest, imageUri }, options);
  } finally {
    records.close();
  }
  // 6. Serving: the version this run registered, when it is Approved (dev, staging); prod waits for a person.
  if (
    options.wait && record.pipelineStatus === "Succeeded" && record.executionArn && settings.serving.deployOnPromote
  ) {
    const { serveRegistered } = await import("./serving/endpoint.ts");
    await serveRegistered(ctx, env, record.executionArn, options.pollMs);
  }
  return record;
}

/** Steps 4 and 5: deploy, data, pipeline, then the record, whatever happened. */
async function promoteRecorded(
  ctx: TaskContext,
  env: Environment,
  records: PromotionRecords,
  previous: PromotionRecord | null,
  image: { commit: string; digest: string; imageUri: string },
  options: PromoteOptions,
): Promise<PromotionRecord> {
  const settings = ctx.config.environment(env);
  const record: PromotionRecord = {
    environment: env,
    ...image,
    definitionHash: null,
    executionArn: null,
    pipelineStatus: null,
    attempt: 1,
    status: "failed",
    error: null,
    time: new Date().toISOString(),
    actor: actor(),
  };
  let failure: unknown = null;
  try {
    await deploy(ctx, env, { planOnly: false, yes: true, quiet: true });
    await uploadData(ctx, env);
    const { hash } = await upsertPipeline(ctx, env, image.imageUri, image.commit);
    record.definitionHash = hash;
    if (settings.runPipeline) {
      // The same commit, image and definition start one execution (a re-run resumes watching it);
      // after a run that failed or stopped, the next attempt starts a fresh one.
      const same = previous?.digest === image.digest && previous?.definitionHash === hash;
      const retry = same && ["Failed", "Stopped"].includes(previous?.pipelineStatus ?? "");
      record.attempt = same ? (previous?.attempt ?? 1) + (retry ? 1 : 0) : 1;
      const token = (await sha256Hex(`${env}:${image.commit}:${image.digest}:${hash}:${record.attempt}`)).slice(0, 64);
      record.executionArn = await startPipeline(ctx, env, { params: [], token });
      record.pipelineStatus = "Executing";
      if (options.wait) {
        const state = await watchPipeline(ctx, env, record.executionArn, options.pollMs);
        record.pipelineStatus = state.status;
        if (state.status !== "Succeeded") {
          throw new TaskError(`The ${env} pipeline ended ${state.status}: ${failureOf(state)}.`);
        }
      }
    }
    record.status = "succeeded";
  } catch (error) {
    failure = error;
    record.error = (error as Error).message;
  }
  record.time = new Date().toISOString();
  try {
    await records.write(record);
    log.step("Recorded", `${record.status} promotion of ${image.commit.slice(0, 12)} to ${env}`);
  } catch (error) {
    const reason = ctx.aws.awsError("operations", "write the promotion record", error).message;
    if (failure) {
      log.error(reason);
    } else {
      throw new TaskError(
        `The promotion to ${env} succeeded but was not recorded (${reason}); prod's gate needs the record. Re-run the same promote: it deploys nothing new and resumes the same execution.`,
        { cause: error },
      );
    }
  }
  if (failure) throw failure;
  return record;
}

/** Reads records of every environment (after the operations guard on a laptop), one `read` per environment. */
export async function readPerEnvironment<T>(
  ctx: TaskContext,
  kind: string,
  read: (records: PromotionRecords, environment: Environment) => Promise<T>,
): Promise<({ environment: Environment } & T)[]> {
  if (ctx.aws.useProfiles) await ctx.aws.assertAccount("operations", `read the ${kind} records of`);
  const records = await PromotionRecords.open(ctx);
  try {
    return await Promise.all(
      ENVIRONMENTS.map(async (environment) => ({ environment, ...await read(records, environment) })),
    );
  } finally {
    records.close();
  }
}

/** What each environment runs now, its last attempt, and which model version serves there. */
export function promotionStatus(
  ctx: TaskContext,
): Promise<
  {
    environment: Environment;
    current: PromotionRecord | null;
    latest: PromotionRecord | null;
    serving: ServingRecord | null;
  }[]
> {
  return readPerEnvironment(ctx, "promotion", async (records, environment) => ({
    current: await records.current(environment),
    latest: await records.latest(environment),
    serving: await new ServingRecords(records).current(environment),
  }));
}

/** The status table. */
export function describeStatus(rows: Awaited<ReturnType<typeof promotionStatus>>): string {
  return table(
    ["environment", "commit", "digest", "promoted", "pipeline", "serving", "last attempt"],
    rows.map(({ environment, current, latest, serving }) => [
      environment,
      current?.commit.slice(0, 12) ?? "-",
      current ? `${current.digest.slice(0, 19)}…` : "-",
      current?.time.replace(/\.\d+Z$/, "Z") ?? "never",
      current?.pipelineStatus ?? "-",
      servingSummary(serving),
      !latest
        ? "-"
        : latest.status === "succeeded"
        ? style.green("succeeded")
        : style.red(`failed: ${latest.error ?? ""}`.slice(0, 60)),
    ]),
  );
}

/** Markdown for a GitHub job summary: the table and a Mermaid picture of where each environment stands. */
export function statusMarkdown(rows: Awaited<ReturnType<typeof promotionStatus>>): string {
  const node = ({ environment, current, latest }: (typeof rows)[number]) => {
    const now = current
      ? `${current.commit.slice(0, 7)} · ${current.digest.slice(7, 19)} · ${current.pipelineStatus ?? "not run"}`
      : "nothing yet";
    const failed = latest && latest.status === "failed" ? "<br/>last attempt failed" : "";
    return `  ${environment}["<b>${environment}</b><br/>${now}${failed}"]`;
  };
  return [
    "### Where each environment stands",
    "",
    "```mermaid",
    "flowchart LR",
    ...rows.map(node),
    `  ${ENVIRONMENTS.join(" --> ")}`,
    "```",
    "",
    "| environment | commit | digest | promoted | pipeline |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map(({ environment, current }) =>
      `| ${environment} | ${current?.commit.slice(0, 12) ?? "-"} | ${current?.digest ?? "-"} | ${
        current?.time ?? "never"
      } | ${current?.pipelineStatus ?? "-"} |`
    ),
    "",
  ].join("\n");
}
