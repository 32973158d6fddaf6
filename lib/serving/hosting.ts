/**
 * SageMaker hosting calls for one environment: model package versions (the
 * latest Approved, the one a pipeline run registered, approval), models and
 * endpoint configs created unless they exist, the endpoint created or updated
 * (blue/green with alarm rollback for instances) and polled until it settles,
 * the smoke test through `InvokeEndpoint`, and the inventory and deletion of
 * everything serving created. The flow over these calls is `endpoint.ts`.
 *
 * @example
 * ```ts
 * import { SageMakerClient } from "@aws-sdk/client-sagemaker";
 * import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
 * import { Hosting } from "./hosting.ts";
 * const hosting = new Hosting(new SageMakerClient({}), new SageMakerRuntimeClient({}));
 * console.log(await hosting.endpoint("mlops-dev"));
 * ```
 * @module
 */
import type { ProductionVariant, SageMakerClient } from "@aws-sdk/client-sagemaker";
import type { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { allPages } from "../aws.ts";
import { TaskError } from "../cli.ts";
import { log } from "../log.ts";
import { sleep as interruptibleSleep } from "../process.ts";
import { toCsv } from "./local.ts";
import { type Predictions, predictionsProblem } from "./predictions.ts";

/** A model package version as serving needs it. */
export interface ModelVersion {
  arn: string;
  version: number;
  status: string;
  image: string;
  digest: string | null;
  description: string;
}

/** CloudWatch alarms (created by Terraform for provisioned endpoints) that roll a blue/green update back. */
export function rollbackAlarms(endpoint: string): string[] {
  return [`${endpoint}-5xx`, `${endpoint}-latency`];
}

function errorName(error: unknown): string {
  return (error as { name?: string }).name ?? "";
}

/** SageMaker answers a missing model, config or endpoint with a ValidationException "Could not find …". */
export function isMissing(error: unknown): boolean {
  return errorName(error) === "ResourceNotFound" ||
    (errorName(error) === "ValidationException" && /could not find|does not exist/i.test((error as Error).message));
}

/** What serving created in an environment. */
export interface ServingLeftovers {
  endpoint: string | null;
  configs: string[];
  models: string[];
}

/** Lines for destroy's list of what it deletes besides Terraform's resources. */
export function describeServingLeftovers(found: ServingLeftovers): string[] {
  const lines = found.endpoint ? [`endpoint ${found.endpoint}`] : [];
  if (found.configs.length) lines.push(`${found.configs.length} endpoint config(s): ${found.configs.join(", ")}`);
  if (found.models.length) lines.push(`${found.models.length} model(s): ${found.models.join(", ")}`);
  return lines;
}

/** An endpoint's state. */
export interface EndpointState {
  status: string;
  config: string | null;
  failureReason: string | null;
}

/** Options of {@linkcode Hosting}. */
export interface HostingOptions {
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** How long to wait for an endpoint to settle. */
  timeoutMs?: number;
}

/** SageMaker hosting calls for one environment. */
export class Hosting {
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #pollMs: number;
  readonly #timeoutMs: number;

  constructor(
    readonly sagemaker: SageMakerClient,
    readonly runtime: SageMakerRuntimeClient,
    options: HostingOptions = {},
  ) {
    this.#sleep = options.sleep ?? interruptibleSleep;
    this.#pollMs = options.pollMs ?? 15_000;
    this.#timeoutMs = options.timeoutMs ?? 45 * 60_000;
  }

  /** The newest Approved version of `group`, or null. */
  async latestApproved(group: string): Promise<ModelVersion | null> {
    const { ListModelPackagesCommand } = await import("@aws-sdk/client-sagemaker");
    const out = await this.sagemaker.send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: group,
        ModelApprovalStatus: "Approved",
        SortBy: "CreationTime",
        SortOrder: "Descending",
        MaxResults: 1,
      }),
    );
    const arn = out.ModelPackageSummaryList?.[0]?.ModelPackageArn;
    return arn ? await this.modelVersion(arn) : null;
  }

  /** The version a pipeline execution registered (its description names the execution), or null. */
  async registeredBy(group: string, executionArn: string): Promise<ModelVersion | null> {
    const { ListModelPackagesCommand } = await import("@aws-sdk/client-sagemaker");
    const out = await this.sagemaker.send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: group,
        SortBy: "CreationTime",
        SortOrder: "Descending",
        MaxResults: 20,
      }),
    );
    const found = (out.ModelPackageSummaryList ?? []).find((p) => p.ModelPackageDescription?.includes(executionArn));
    return found?.ModelPackageArn ? await this.modelVersion(found.ModelPackageArn) : null;
  }

  /** One version, by ARN. */
  async modelVersion(arn: string): Promise<ModelVersion> {
    const { DescribeModelPackageCommand } = await import("@aws-sdk/client-sagemaker");
    const out = await this.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
    const image = out.InferenceSpecification?.Containers?.[0]?.Image ?? "";
    return {
      arn: out.ModelPackageArn ?? arn,
      version: out.ModelPackageVersion ?? Number(arn.split("/").at(-1)),
      status: out.ModelApprovalStatus ?? "PendingManualApproval",
      image,
      digest: /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1] ?? null,
      description: out.ModelPackageDescription ?? "",
    };
  }

  /** Sets a version's status to Approved with a description of who and why. */
  async approve(arn: string, description: string): Promise<void> {
    const { UpdateModelPackageCommand } = await import("@aws-sdk/client-sagemaker");
    await this.sagemaker.send(
      new UpdateModelPackageCommand({
        ModelPackageArn: arn,
        ModelApprovalStatus: "Approved",
        ApprovalDescription: description.slice(0, 1024),
      }),
    );
  }

  /** Describes; when SageMaker says it does not exist, creates. Returns whether it created. */
  async #createUnlessExists(describe: () => Promise<unknown>, create: () => Promise<unknown>): Promise<boolean> {
    try {
      await describe();
      return false;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    await create();
    return true;
  }

  /** Creates the model from the package unless it exists. */
  async ensureModel(name: string, packageArn: string, roleArn: string, tags: Record<string, string>): Promise<boolean> {
    const { CreateModelCommand, DescribeModelCommand } = await import("@aws-sdk/client-sagemaker");
    return await this.#createUnlessExists(
      () => this.sagemaker.send(new DescribeModelCommand({ ModelName: name })),
      () =>
        this.sagemaker.send(
          new CreateModelCommand({
            ModelName: name,
            PrimaryContainer: { ModelPackageName: packageArn },
            ExecutionRoleArn: roleArn,
            Tags: tagList(tags),
          }),
        ),
    );
  }

  /** Creates the endpoint config unless it exists. */
  async ensureEndpointConfig(name: string, variant: ProductionVariant, tags: Record<string, string>): Promise<boolean> {
    const { CreateEndpointConfigCommand, DescribeEndpointConfigCommand } = await import("@aws-sdk/client-sagemaker");
    return await this.#createUnlessExists(
      () => this.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name })),
      () =>
        this.sagemaker.send(
          new CreateEndpointConfigCommand({
            EndpointConfigName: name,
            ProductionVariants: [variant],
            Tags: tagList(tags),
          }),
        ),
    );
  }

  /** The endpoint's state, or null when there is none. */
  async endpoint(name: string): Promise<EndpointState | null> {
    const { DescribeEndpointCommand } = await import("@aws-sdk/client-sagemaker");
    try {
      const out = await this.sagemaker.send(new DescribeEndpointCommand({ EndpointName: name }));
      return {
        status: out.EndpointStatus ?? "Unknown",
        config: out.EndpointConfigName ?? null,
        failureReason: out.FailureReason ?? null,
      };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  /** Creates the endpoint, or points it at `config` (blue/green with alarm rollback for instances). */
  async deploy(
    name: string,
    config: string,
    exists: boolean,
    options: { blueGreen: boolean; tags: Record<string, string> },
  ): Promise<void> {
    const { CreateEndpointCommand, UpdateEndpointCommand } = await import("@aws-sdk/client-sagemaker");
    if (!exists) {
      await this.sagemaker.send(
        new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: config, Tags: tagList(options.tags) }),
      );
      return;
    }
    await this.sagemaker.send(
      new UpdateEndpointCommand({
        EndpointName: name,
        EndpointConfigName: config,
        ...(options.blueGreen
          ? {
            DeploymentConfig: {
              BlueGreenUpdatePolicy: {
                TrafficRoutingConfiguration: { Type: "ALL_AT_ONCE", WaitIntervalInSeconds: 0 },
                TerminationWaitInSeconds: 300,
              },
              AutoRollbackConfiguration: { Alarms: rollbackAlarms(name).map((AlarmName) => ({ AlarmName })) },
            },
          }
          : {}),
      }),
    );
  }

  /** Polls until the endpoint settles (not Creating/Updating/SystemUpdating/RollingBack/Deleting). */
  async waitForEndpoint(name: string, report: (state: EndpointState | null) => void): Promise<EndpointState | null> {
    const started = Date.now();
    let last = "";
    for (;;) {
      const state = await this.endpoint(name);
      const key = `${state?.status}:${state?.config}`;
      if (key !== last) report(state);
      last = key;
      if (!state || !["Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"].includes(state.status)) {
        return state;
      }
      if (Date.now() - started > this.#timeoutMs) {
        throw new TaskError(
          `The endpoint "${name}" is still ${state.status} after ${
            Math.round(this.#timeoutMs / 60_000)
          } minutes. Look at it in the SageMaker console, then re-run.`,
        );
      }
      await this.#sleep(this.#pollMs);
    }
  }

  /** Sends texts through InvokeEndpoint; returns a problem sentence or null when the answer is valid. */
  async smokeTest(name: string, texts: string[]): Promise<{ problem: string | null; answer: Predictions | null }> {
    const { InvokeEndpointCommand } = await import("@aws-sdk/client-sagemaker-runtime");
    try {
      const out = await this.runtime.send(
        new InvokeEndpointCommand({
          EndpointName: name,
          ContentType: "text/csv",
          Accept: "application/json",
          Body: new TextEncoder().encode(toCsv(texts)),
        }),
      );
      const text = new TextDecoder().decode(out.Body);
      let answer: unknown;
      try {
        answer = JSON.parse(text);
      } catch {
        return { problem: `the answer is not JSON: ${text.slice(0, 80)}`, answer: null };
      }
      const problem = predictionsProblem(answer, texts.length);
      return { problem, answer: problem ? null : answer as Predictions };
    } catch (error) {
      const e = error as { name?: string; message?: string; OriginalStatusCode?: number };
      const status = e.OriginalStatusCode ? ` (the container answered ${e.OriginalStatusCode})` : "";
      return { problem: `InvokeEndpoint failed${status}: ${e.name}: ${e.message}`, answer: null };
    }
  }

  /** What serving created: the endpoint (if any), and the endpoint configs and models named with `prefix`. */
  async inventory(endpoint: string, prefix: string): Promise<ServingLeftovers> {
    const sdk = await import("@aws-sdk/client-sagemaker");
    const configs = await pagedNames(prefix, async (NextToken) => {
      const out = await this.sagemaker.send(
        new sdk.ListEndpointConfigsCommand({ NameContains: prefix, NextToken, MaxResults: 100 }),
      );
      return { items: (out.EndpointConfigs ?? []).map((c) => c.EndpointConfigName!), next: out.NextToken };
    });
    const models = await pagedNames(prefix, async (NextToken) => {
      const out = await this.sagemaker.send(
        new sdk.ListModelsCommand({ NameContains: prefix, NextToken, MaxResults: 100 }),
      );
      return { items: (out.Models ?? []).map((m) => m.ModelName!), next: out.NextToken };
    });
    return { endpoint: (await this.endpoint(endpoint)) ? endpoint : null, configs, models };
  }

  /** Deletes the endpoint (waiting until it is gone), then every endpoint config and model with `prefix`. */
  async deleteAll(endpoint: string, prefix: string): Promise<ServingLeftovers> {
    const sdk = await import("@aws-sdk/client-sagemaker");
    const found = await this.inventory(endpoint, prefix);
    if (found.endpoint) {
      await this.sagemaker.send(new sdk.DeleteEndpointCommand({ EndpointName: endpoint }));
      await this.waitForEndpoint(endpoint, (s) => log.info(`Endpoint ${endpoint}: ${s?.status ?? "deleted"}`));
    }
    const { configs, models } = found;
    for (const name of configs) {
      await this.sagemaker.send(new sdk.DeleteEndpointConfigCommand({ EndpointConfigName: name }));
    }
    for (const name of models) await this.sagemaker.send(new sdk.DeleteModelCommand({ ModelName: name }));
    return found;
  }
}

/** Every name of a paged listing that starts with `prefix` (NameContains matches anywhere). */
/** The names a paginated listing returns that start with `prefix` (NameContains matches anywhere). */
async function pagedNames(
  prefix: string,
  page: (token: string | undefined) => Promise<{ items: string[]; next: string | undefined }>,
): Promise<string[]> {
  return (await allPages(page)).filter((n) => n.startsWith(prefix));
}

function tagList(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
