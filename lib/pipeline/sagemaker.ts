/**
 * The pipeline on SageMaker: upsert (create, or update only when the
 * definition changed), start with an idempotency token and parameter
 * overrides, status, and watch until the execution ends. Also the dataset
 * upload, skipped when the bucket already holds the same content.
 *
 * @example
 * ```ts
 * import { SageMakerClient } from "@aws-sdk/client-sagemaker";
 * import { PipelineService } from "./sagemaker.ts";
 * const service = new PipelineService(new SageMakerClient({ region: "eu-west-1" }));
 * ```
 * @module
 */
import {
  AddTagsCommand,
  CreatePipelineCommand,
  DescribePipelineCommand,
  DescribePipelineExecutionCommand,
  ListPipelineExecutionsCommand,
  ListPipelineExecutionStepsCommand,
  type PipelineExecutionStep,
  type SageMakerClient,
  StartPipelineExecutionCommand,
  UpdatePipelineCommand,
} from "@aws-sdk/client-sagemaker";
import { HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { allPages } from "../aws.ts";
import { TaskError } from "../cli.ts";
import { sha256Hex } from "../hash.ts";
import { log } from "../log.ts";
import { sleep } from "../process.ts";
import { canonicalJson } from "./definition.ts";
import type { PipelineDefinition } from "./steps.ts";

/** What an upsert did. */
export type UpsertAction = "created" | "updated" | "unchanged";

/** The state of one execution and its steps. */
export interface ExecutionState {
  arn: string;
  status: string;
  failureReason: string | null;
  steps: { name: string; status: string; failureReason: string | null }[];
}

/** Options of {@linkcode PipelineService}. */
export interface ServiceOptions {
  /** Waits between retries and polls (replaced in tests). */
  sleep?: (ms: number) => Promise<void>;
  /** Attempts on `ConflictException` before giving up. */
  maxAttempts?: number;
  /** Milliseconds between polls of `watch`. */
  pollMs?: number;
}

function errorName(error: unknown): string {
  return (error as { name?: string }).name ?? "";
}

/** SageMaker answers a call naming a missing pipeline with the error code `ResourceNotFound`. */
export function isMissingPipeline(error: unknown): boolean {
  return errorName(error) === "ResourceNotFound";
}

const TERMINAL = new Set(["Succeeded", "Failed", "Stopped"]);

/** Pipeline operations against one environment's SageMaker. */
export class PipelineService {
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #maxAttempts: number;
  readonly #pollMs: number;

  constructor(readonly client: SageMakerClient, options: ServiceOptions = {}) {
    this.#sleep = options.sleep ?? sleep;
    this.#maxAttempts = options.maxAttempts ?? 6;
    this.#pollMs = options.pollMs ?? 15_000;
  }

  /** Runs `call`, retrying `ConflictException` with exponential backoff. */
  async #withRetry<T>(what: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1;; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (errorName(error) !== "ConflictException" || attempt >= this.#maxAttempts) throw error;
        const wait = Math.min(30_000, 500 * 2 ** (attempt - 1));
        log.info(`SageMaker reported a conflict on ${what} (attempt ${attempt}); retrying in ${wait} ms`);
        await this.#sleep(wait);
      }
    }
  }

  /**
   * Creates the pipeline (with `tags`), or updates it (and adds `tags`) when its definition or
   * role differ; makes no write call at all when both are unchanged.
   */
  async upsert(
    name: string,
    definition: PipelineDefinition,
    roleArn: string,
    tags: Record<string, string> = {},
  ): Promise<UpsertAction> {
    const body = canonicalJson(definition);
    let current: { PipelineArn?: string; PipelineDefinition?: string; RoleArn?: string } | null = null;
    try {
      current = await this.client.send(new DescribePipelineCommand({ PipelineName: name }));
    } catch (error) {
      if (!isMissingPipeline(error)) throw error;
    }
    if (current) {
      const deployed = current.PipelineDefinition ? canonicalJson(JSON.parse(current.PipelineDefinition)) : "";
      if (deployed === body && current.RoleArn === roleArn) return "unchanged";
    } else {
      try {
        await this.#withRetry("create", () =>
          this.client.send(
            new CreatePipelineCommand({
              PipelineName: name,
              PipelineDefinition: body,
              RoleArn: roleArn,
              ClientRequestToken: crypto.randomUUID(),
              Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
            }),
          ));
        return "created";
      } catch (error) {
        // Someone created it between our describe and create: fall through to update.
        if (errorName(error) !== "ResourceInUse" && !/already exists/i.test((error as Error).message)) throw error;
      }
    }
    const updated = await this.#withRetry(
      "update",
      () =>
        this.client.send(new UpdatePipelineCommand({ PipelineName: name, PipelineDefinition: body, RoleArn: roleArn })),
    );
    // UpdatePipeline leaves tags alone; the config's tags are in the definition, so a change updates and lands here.
    const arn = updated.PipelineArn ?? current?.PipelineArn;
    if (arn && Object.keys(tags).length > 0) {
      await this.client.send(
        new AddTagsCommand({ ResourceArn: arn, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }),
      );
    }
    return "updated";
  }

  /** Starts an execution; the same `token` never starts a second one. */
  async start(name: string, params: Record<string, string>, token: string): Promise<string> {
    const out = await this.#withRetry("start", () =>
      this.client.send(
        new StartPipelineExecutionCommand({
          PipelineName: name,
          ClientRequestToken: token,
          PipelineParameters: Object.entries(params).map(([Name, Value]) => ({ Name, Value })),
        }),
      ));
    if (!out.PipelineExecutionArn) throw new TaskError(`SageMaker started no execution of "${name}".`);
    return out.PipelineExecutionArn;
  }

  /** The newest execution of the pipeline, or null when it never ran. */
  async latestExecution(name: string): Promise<string | null> {
    const out = await this.client.send(
      new ListPipelineExecutionsCommand({
        PipelineName: name,
        SortBy: "CreationTime",
        SortOrder: "Descending",
        MaxResults: 1,
      }),
    );
    return out.PipelineExecutionSummaries?.[0]?.PipelineExecutionArn ?? null;
  }

  /** Status of an execution and each of its steps. */
  async state(arn: string): Promise<ExecutionState> {
    const execution = await this.client.send(new DescribePipelineExecutionCommand({ PipelineExecutionArn: arn }));
    const steps: PipelineExecutionStep[] = await allPages(async (NextToken) => {
      const page = await this.client.send(
        new ListPipelineExecutionStepsCommand({ PipelineExecutionArn: arn, NextToken, SortOrder: "Ascending" }),
      );
      return { items: page.PipelineExecutionSteps, next: page.NextToken };
    });
    return {
      arn,
      status: execution.PipelineExecutionStatus ?? "Unknown",
      failureReason: execution.FailureReason ?? null,
      steps: steps.map((s) => ({
        name: s.StepName ?? "?",
        status: s.StepStatus ?? "?",
        failureReason: s.FailureReason ?? null,
      })),
    };
  }

  /** Polls until the execution ends; `onChange` sees every new state. */
  async watch(arn: string, onChange: (state: ExecutionState) => void): Promise<ExecutionState> {
    let last = "";
    for (;;) {
      const state = await this.state(arn);
      const key = JSON.stringify(state);
      if (key !== last) onChange(state);
      last = key;
      if (TERMINAL.has(state.status)) return state;
      await this.#sleep(this.#pollMs);
    }
  }
}

/** The failing step of an ended execution, for the one-line error. */
export function failureOf(state: ExecutionState): string {
  const step = state.steps.find((s) => s.status === "Failed");
  return step
    ? `step "${step.name}" failed: ${step.failureReason ?? "no reason given"}`
    : state.failureReason ?? `the execution ended ${state.status}`;
}

/** The object's metadata and ETag, or null when there is no such object. */
async function headObject(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ Metadata?: Record<string, string>; ETag?: string } | null> {
  try {
    return await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404 && errorName(error) !== "NotFound") throw error;
    return null;
  }
}

/** Uploads `bytes` to `s3://bucket/key` unless an object with the same SHA-256 is there. */
export async function uploadIfChanged(s3: S3Client, bucket: string, key: string, bytes: Uint8Array): Promise<boolean> {
  const hash = await sha256Hex(bytes);
  if ((await headObject(s3, bucket, key))?.Metadata?.sha256 === hash) return false;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, Metadata: { sha256: hash } }));
  return true;
}

/**
 * The version of the data at `s3://bucket/key` as Preprocess computes it: the SHA-256 that
 * upload-data stored with the object, else its ETag; null when there is no object.
 */
export async function dataVersion(s3: S3Client, bucket: string, key: string): Promise<string | null> {
  const head = await headObject(s3, bucket, key);
  if (!head) return null;
  return head.Metadata?.sha256 ?? head.ETag?.replaceAll('"', "") ?? null;
}
