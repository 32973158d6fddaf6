/**
 * What `destroy` removes before Terraform runs: the environment's data and
 * what the tasks created outside Terraform. Terraform cannot delete a
 * versioned bucket that holds objects (it would first strip the bucket's
 * TLS-only policy, encryption and public access block, then fail on
 * `DeleteBucket`), nor a model package group that holds versions.
 *
 * Order, each step safe to repeat (a re-run after a failure or Ctrl-C picks
 * up what is left): stop running pipeline executions, delete the pipeline,
 * delete the model package versions, empty the ML bucket (every object
 * version and delete marker), then check it is empty. The bucket keeps its
 * policy throughout: Terraform only runs once nothing remains in it.
 *
 * @example
 * ```ts
 * import { describeLeftovers } from "./teardown.ts";
 * console.log(describeLeftovers({
 *   bucket: "mlops-dev-ml-222222222222", bucketExists: true, objectVersions: 3, deleteMarkers: 1,
 *   pipelines: ["mlops-training"], runningExecutions: [], modelPackages: ["arn:…/mlops-models/1"], extra: [],
 * }));
 * ```
 * @module
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { allPages, isNotFound } from "./aws.ts";
import { TaskError } from "./cli.ts";
import type { Environment } from "./config.ts";
import type { TaskContext } from "./context.ts";
import { log } from "./log.ts";
import { isMissingPipeline } from "./pipeline/sagemaker.ts";

/** What remains in an environment outside Terraform's state. */
export interface Leftovers {
  bucket: string;
  bucketExists: boolean;
  objectVersions: number;
  deleteMarkers: number;
  pipelines: string[];
  runningExecutions: string[];
  modelPackages: string[];
  /** Further items (say, endpoints) described by other modules' cleanup steps. */
  extra: string[];
}

/** A cleanup contributed by another module (serving: endpoints, endpoint configs, models). */
export interface CleanupStep {
  /** Lines saying what it would delete; empty when nothing. */
  inventory(): Promise<string[]>;
  /** Deletes it; safe to repeat. */
  run(): Promise<void>;
}

/** Whether there is anything to delete before Terraform. */
export function hasLeftovers(l: Leftovers): boolean {
  return l.objectVersions + l.deleteMarkers + l.pipelines.length + l.modelPackages.length + l.extra.length > 0;
}

/** The lines shown before the confirmation: what destroy deletes besides Terraform's resources. */
export function describeLeftovers(l: Leftovers): string[] {
  const lines: string[] = [];
  if (l.objectVersions + l.deleteMarkers > 0) {
    lines.push(
      `${plural(l.objectVersions, "object version")} and ${
        plural(l.deleteMarkers, "delete marker")
      } in s3://${l.bucket}`,
    );
  }
  for (const p of l.pipelines) {
    const running = l.runningExecutions.length > 0
      ? `, stopping ${plural(l.runningExecutions.length, "running execution")}`
      : "";
    lines.push(`pipeline ${p}${running}`);
  }
  if (l.modelPackages.length > 0) lines.push(`${plural(l.modelPackages.length, "model package version")}`);
  return [...lines, ...l.extra];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

const BATCH = 1000; // DeleteObjects takes at most 1000 keys.

/** Deletes an environment's data and the resources the tasks created there. */
export class EnvironmentTeardown {
  constructor(
    private readonly s3: S3Client,
    private readonly sagemaker: SageMakerClient,
    readonly bucket: string,
    readonly pipeline: string,
    readonly modelPackageGroup: string,
    private readonly steps: CleanupStep[] = [],
  ) {}

  /** Clients acting in the environment's account, names from the config. */
  static async open(ctx: TaskContext, env: Environment, steps: CleanupStep[] = []): Promise<EnvironmentTeardown> {
    const { SageMakerClient } = await import("@aws-sdk/client-sagemaker");
    const { names } = ctx.config;
    return new EnvironmentTeardown(
      await ctx.aws.s3Client(env),
      new SageMakerClient(await ctx.aws.clientConfig(env)),
      names.mlBucket(env),
      names.pipeline,
      names.modelPackageGroup,
      steps,
    );
  }

  /** Every object version and delete marker of the bucket, page by page. */
  async *#versions(): AsyncGenerator<{ Key: string; VersionId?: string; marker: boolean }[]> {
    const { ListObjectVersionsCommand } = await import("@aws-sdk/client-s3");
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectVersionsCommand({ Bucket: this.bucket, KeyMarker, VersionIdMarker, MaxKeys: BATCH }),
      );
      yield [
        ...(page.Versions ?? []).map((v) => ({ Key: v.Key!, VersionId: v.VersionId, marker: false })),
        ...(page.DeleteMarkers ?? []).map((m) => ({ Key: m.Key!, VersionId: m.VersionId, marker: true })),
      ];
      ({ NextKeyMarker: KeyMarker, NextVersionIdMarker: VersionIdMarker } = page.IsTruncated ? page : {
        NextKeyMarker: undefined,
        NextVersionIdMarker: undefined,
      });
    } while (KeyMarker !== undefined);
  }

  /** Counts what is left, reading only. */
  async inventory(): Promise<Leftovers> {
    const leftovers: Leftovers = {
      bucket: this.bucket,
      bucketExists: true,
      objectVersions: 0,
      deleteMarkers: 0,
      pipelines: [],
      runningExecutions: [],
      modelPackages: [],
      extra: [],
    };
    try {
      for await (const page of this.#versions()) {
        for (const v of page) v.marker ? leftovers.deleteMarkers++ : leftovers.objectVersions++;
      }
    } catch (error) {
      if (!isNotFound(error) && (error as Error).name !== "NoSuchBucket") throw error;
      leftovers.bucketExists = false;
    }
    if (await this.#pipelineExists()) {
      leftovers.pipelines.push(this.pipeline);
      leftovers.runningExecutions = await this.#runningExecutions();
    }
    leftovers.modelPackages = await this.#modelPackages();
    for (const step of this.steps) leftovers.extra.push(...await step.inventory());
    return leftovers;
  }

  async #pipelineExists(): Promise<boolean> {
    const { DescribePipelineCommand } = await import("@aws-sdk/client-sagemaker");
    try {
      await this.sagemaker.send(new DescribePipelineCommand({ PipelineName: this.pipeline }));
      return true;
    } catch (error) {
      if (isMissingPipeline(error)) return false;
      throw error;
    }
  }

  async #runningExecutions(): Promise<string[]> {
    const { ListPipelineExecutionsCommand } = await import("@aws-sdk/client-sagemaker");
    const executions = await allPages(async (NextToken) => {
      const page = await this.sagemaker.send(
        new ListPipelineExecutionsCommand({ PipelineName: this.pipeline, NextToken }),
      );
      return { items: page.PipelineExecutionSummaries, next: page.NextToken };
    });
    return executions.filter((e) => e.PipelineExecutionStatus === "Executing" && e.PipelineExecutionArn)
      .map((e) => e.PipelineExecutionArn!);
  }

  async #modelPackages(): Promise<string[]> {
    const { ListModelPackagesCommand } = await import("@aws-sdk/client-sagemaker");
    try {
      const packages = await allPages(async (NextToken) => {
        const page = await this.sagemaker.send(
          new ListModelPackagesCommand({ ModelPackageGroupName: this.modelPackageGroup, NextToken }),
        );
        return { items: page.ModelPackageSummaryList, next: page.NextToken };
      });
      return packages.map((p) => p.ModelPackageArn!);
    } catch (error) {
      // A group that does not exist holds no versions.
      if (isMissingPipeline(error) || (error as Error).name === "ValidationException") return [];
      throw error;
    }
  }

  /** Deletes everything {@linkcode inventory} found; each part is safe to repeat. */
  async run(leftovers: Leftovers): Promise<void> {
    const {
      DeleteModelPackageCommand,
      DeletePipelineCommand,
      StopPipelineExecutionCommand,
    } = await import("@aws-sdk/client-sagemaker");
    for (const arn of leftovers.runningExecutions) {
      log.step("Stopping", arn);
      await this.sagemaker.send(
        new StopPipelineExecutionCommand({ PipelineExecutionArn: arn, ClientRequestToken: crypto.randomUUID() }),
      ).catch((error) => log.debug(`stop ${arn}: ${(error as Error).message}`)); // it may have ended meanwhile
    }
    for (const name of leftovers.pipelines) {
      log.step("Deleting", `pipeline ${name}`);
      await this.sagemaker.send(
        new DeletePipelineCommand({ PipelineName: name, ClientRequestToken: crypto.randomUUID() }),
      )
        .catch((error) => {
          if (!isMissingPipeline(error)) throw error;
        });
    }
    for (const step of this.steps) await step.run();
    if (leftovers.modelPackages.length > 0) {
      log.step(
        "Deleting",
        `${plural(leftovers.modelPackages.length, "model package version")} in ${this.modelPackageGroup}`,
      );
    }
    for (const arn of leftovers.modelPackages) {
      await this.sagemaker.send(new DeleteModelPackageCommand({ ModelPackageName: arn }));
    }
    if (leftovers.bucketExists) await this.emptyBucket();
  }

  /** Deletes every object version and delete marker; returns how many. */
  async emptyBucket(): Promise<number> {
    const { DeleteObjectsCommand } = await import("@aws-sdk/client-s3");
    let deleted = 0;
    log.step("Emptying", `s3://${this.bucket}`);
    // Listing restarts after each batch: deleting while paging would skip entries.
    for (;;) {
      const next = await this.#versions().next();
      const page = next.done ? [] : next.value;
      if (page.length === 0) break;
      const out = await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: page.map(({ Key, VersionId }) => ({ Key, VersionId })), Quiet: true },
        }),
      );
      const errors = out.Errors ?? [];
      if (errors.length > 0) {
        const first = errors[0];
        throw new TaskError(
          `Cannot empty s3://${this.bucket}: ${plural(errors.length, "object")} ${
            errors.length === 1 ? "was" : "were"
          } not deleted (first: ${first.Key}: ${first.Code} ${
            first.Message ?? ""
          }). Nothing was destroyed; fix the permission and re-run destroy.`,
        );
      }
      deleted += page.length;
    }
    return deleted;
  }

  /** Refuses unless the bucket is empty (or gone): Terraform must not strip its policy while data remains. */
  async assertEmpty(): Promise<void> {
    const next = await this.#versions().next().catch((error) => {
      if (isNotFound(error) || (error as Error).name === "NoSuchBucket") {
        return { done: true as const, value: undefined };
      }
      throw error;
    });
    if (!next.done && next.value.length > 0) {
      throw new TaskError(
        `s3://${this.bucket} is not empty (something wrote to it during destroy); nothing was destroyed by Terraform. Stop what writes there and re-run destroy.`,
      );
    }
  }

  close(): void {
    this.s3.destroy();
    this.sagemaker.destroy();
  }
}
