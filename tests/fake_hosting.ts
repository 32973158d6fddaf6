/**
 * Fake SageMaker hosting for tests: model package versions (list, describe,
 * approve), models, endpoint configs and endpoints whose status moves
 * Creating/Updating → InService after a few describes, and the runtime's
 * `InvokeEndpoint` answering like the image's `serve` program. It wraps the
 * SageMaker handler already registered (pipelines) and passes other actions on.
 * State is kept per account (the caller's access key, as the fake STS sees it).
 *
 * @example
 * ```ts
 * import { FakeAws } from "./fake_aws.ts";
 * import { FakeHosting } from "./fake_hosting.ts";
 * await using aws = await FakeAws.start();
 * const hosting = new FakeHosting(aws);
 * hosting.register("222222222222", { status: "Approved", image: "repo@sha256:…" });
 * ```
 * @module
 */
import { type FakeAws, type FakeHandler, type FakeRequest, jsonError, jsonResponse } from "./fake_aws.ts";

/** A model package version. */
export interface FakePackage {
  version: number;
  arn: string;
  status: string;
  image: string;
  approvalDescription: string | null;
  description: string;
  /** Invocations of an endpoint serving this version fail (the container answers 500). */
  broken: boolean;
}

interface FakeEndpoint {
  config: string;
  status: string;
  /** The config an update moves to once it settles. */
  pending: string | null;
  polls: number;
}

/** The fake hosting side of SageMaker and SageMaker Runtime. */
export class FakeHosting {
  readonly packages = new Map<string, FakePackage[]>();
  readonly models = new Map<string, { packageArn: string; role: string }>();
  readonly configs = new Map<string, { model: string; variant: Record<string, unknown> }>();
  readonly endpoints = new Map<string, FakeEndpoint>();
  /** Describes an endpoint stays Creating/Updating/Deleting before it settles. */
  pollsToSettle = 2;
  /**
   * Register a version whenever a pipeline execution starts, as its RegisterModel step would: the
   * pipeline's image and default approval status, the execution ARN in the description.
   */
  registerOnStart = false;
  /** Update requests received (with their DeploymentConfig), for assertions. */
  readonly updates: { endpoint: string; config: string; deploymentConfig: unknown }[] = [];
  readonly #next: FakeHandler | undefined;

  /**
   * `pipelineOf(account, name)`: a pipeline's definition, for {@linkcode registerOnStart}
   * (e.g. from a FakeSageMaker).
   */
  constructor(
    readonly aws: FakeAws,
    readonly pipelineOf: ((account: string, name: string) => string | undefined) | null = null,
    readonly region = "eu-west-1",
  ) {
    this.#next = aws.handlerOf("sagemaker");
    aws.handle("sagemaker", (r) => this.#handle(r));
  }

  #account(request: FakeRequest): string {
    return this.aws.identities.get(request.accessKeyId) ?? this.aws.defaultAccount;
  }

  /** Registers a new version in the account's `mlops-models` group. */
  register(
    account: string,
    options: { status: string; image: string; broken?: boolean; description?: string },
  ): FakePackage {
    const list = this.packages.get(account) ?? [];
    const version = list.length + 1;
    const pkg: FakePackage = {
      version,
      arn: `arn:aws:sagemaker:${this.region}:${account}:model-package/mlops-models/${version}`,
      status: options.status,
      image: options.image,
      approvalDescription: null,
      description: options.description ?? "registered by a test",
      broken: options.broken ?? false,
    };
    list.push(pkg);
    this.packages.set(account, list);
    return pkg;
  }

  /** The endpoint config an account's endpoint serves now, or undefined. */
  serving(account: string, endpoint: string): string | undefined {
    return this.endpoints.get(`${account}/${endpoint}`)?.config;
  }

  #missing(what: string, name: string): Response {
    return jsonError(400, "ValidationException", `Could not find ${what} "${name}".`);
  }

  async #handle(request: FakeRequest): Promise<Response> {
    const account = this.#account(request);
    const invocation = /^POST \/endpoints\/([^/]+)\/invocations$/.exec(request.action);
    if (invocation) return this.#invoke(account, decodeURIComponent(invocation[1]), request);
    const input = JSON.parse(new TextDecoder().decode(request.body) || "{}");
    const key = (name: string) => `${account}/${name}`;
    switch (request.action) {
      case "ListModelPackages": {
        const list = (this.packages.get(account) ?? [])
          .filter((p) => !input.ModelApprovalStatus || p.status === input.ModelApprovalStatus)
          .sort((a, b) => input.SortOrder === "Descending" ? b.version - a.version : a.version - b.version)
          .slice(0, input.MaxResults ?? 100);
        return jsonResponse({
          ModelPackageSummaryList: list.map((p) => ({
            ModelPackageArn: p.arn,
            ModelPackageVersion: p.version,
            ModelApprovalStatus: p.status,
            ModelPackageDescription: p.description,
          })),
        });
      }
      case "DescribeModelPackage":
      case "UpdateModelPackage": {
        const arn = input.ModelPackageName ?? input.ModelPackageArn;
        const pkg = (this.packages.get(account) ?? []).find((p) => p.arn === arn);
        if (!pkg) return this.#missing("model package", arn);
        if (request.action === "UpdateModelPackage") {
          pkg.status = input.ModelApprovalStatus;
          pkg.approvalDescription = input.ApprovalDescription ?? null;
          return jsonResponse({ ModelPackageArn: pkg.arn });
        }
        return jsonResponse({
          ModelPackageArn: pkg.arn,
          ModelPackageVersion: pkg.version,
          ModelPackageGroupName: "mlops-models",
          ModelApprovalStatus: pkg.status,
          InferenceSpecification: { Containers: [{ Image: pkg.image }] },
        });
      }
      case "CreateModel": {
        if (this.models.has(key(input.ModelName))) return jsonError(400, "ValidationException", "Model exists.");
        this.models.set(key(input.ModelName), {
          packageArn: input.PrimaryContainer.ModelPackageName,
          role: input.ExecutionRoleArn,
        });
        return jsonResponse({ ModelArn: `arn:aws:sagemaker:${this.region}:${account}:model/${input.ModelName}` });
      }
      case "DescribeModel":
        return this.models.has(key(input.ModelName))
          ? jsonResponse({ ModelName: input.ModelName })
          : this.#missing("model", input.ModelName);
      case "CreateEndpointConfig": {
        const [variant] = input.ProductionVariants;
        this.configs.set(key(input.EndpointConfigName), { model: variant.ModelName, variant });
        return jsonResponse({ EndpointConfigArn: `arn:${input.EndpointConfigName}` });
      }
      case "DescribeEndpointConfig":
        return this.configs.has(key(input.EndpointConfigName))
          ? jsonResponse({ EndpointConfigName: input.EndpointConfigName })
          : this.#missing("endpoint configuration", input.EndpointConfigName);
      case "CreateEndpoint":
        this.endpoints.set(key(input.EndpointName), {
          config: input.EndpointConfigName,
          status: "Creating",
          pending: null,
          polls: 0,
        });
        return jsonResponse({ EndpointArn: `arn:${input.EndpointName}` });
      case "UpdateEndpoint": {
        const endpoint = this.endpoints.get(key(input.EndpointName));
        if (!endpoint) return this.#missing("endpoint", input.EndpointName);
        this.updates.push({
          endpoint: input.EndpointName,
          config: input.EndpointConfigName,
          deploymentConfig: input.DeploymentConfig ?? null,
        });
        Object.assign(endpoint, { status: "Updating", pending: input.EndpointConfigName, polls: 0 });
        return jsonResponse({ EndpointArn: `arn:${input.EndpointName}` });
      }
      case "DescribeEndpoint": {
        const endpoint = this.endpoints.get(key(input.EndpointName));
        if (!endpoint) return this.#missing("endpoint", input.EndpointName);
        if (["Creating", "Updating", "Deleting"].includes(endpoint.status) && ++endpoint.polls > this.pollsToSettle) {
          if (endpoint.status === "Deleting") {
            this.endpoints.delete(key(input.EndpointName));
            return this.#missing("endpoint", input.EndpointName);
          }
          if (endpoint.pending) endpoint.config = endpoint.pending;
          Object.assign(endpoint, { status: "InService", pending: null });
        }
        return jsonResponse({
          EndpointName: input.EndpointName,
          EndpointConfigName: endpoint.config,
          EndpointStatus: endpoint.status,
        });
      }
      case "DeleteEndpoint": {
        const endpoint = this.endpoints.get(key(input.EndpointName));
        if (!endpoint) return this.#missing("endpoint", input.EndpointName);
        Object.assign(endpoint, { status: "Deleting", polls: 0 });
        return jsonResponse({});
      }
      case "ListEndpointConfigs":
      case "ListModels": {
        const models = request.action === "ListModels";
        const names = [...(models ? this.models : this.configs).keys()]
          .filter((k) => k.startsWith(`${account}/`)).map((k) => k.slice(account.length + 1))
          .filter((n) => n.includes(input.NameContains ?? ""));
        return jsonResponse(
          models
            ? { Models: names.map((ModelName) => ({ ModelName })) }
            : { EndpointConfigs: names.map((EndpointConfigName) => ({ EndpointConfigName })) },
        );
      }
      case "DeleteModelPackage": {
        const list = this.packages.get(account) ?? [];
        if (!list.some((p) => p.arn === input.ModelPackageName)) {
          return this.#missing("model package", input.ModelPackageName);
        }
        this.packages.set(account, list.filter((p) => p.arn !== input.ModelPackageName));
        return jsonResponse({});
      }
      case "DeleteEndpointConfig":
        this.configs.delete(key(input.EndpointConfigName));
        return jsonResponse({});
      case "DeleteModel":
        this.models.delete(key(input.ModelName));
        return jsonResponse({});
    }
    if (request.action === "StartPipelineExecution" && this.registerOnStart && this.#next) {
      return await this.#registerOnStart(account, input, await this.#next(request));
    }
    if (this.#next) return await this.#next(request);
    return jsonError(400, "UnknownOperation", `The fake SageMaker does not implement ${request.action}.`);
  }

  async #registerOnStart(
    account: string,
    input: { PipelineDefinition?: string; PipelineName: string },
    response: Response,
  ): Promise<Response> {
    const body = await response.clone().json() as { PipelineExecutionArn?: string };
    const arn = body.PipelineExecutionArn;
    const known = (this.packages.get(account) ?? []).some((p) => arn && p.description.includes(arn));
    if (!arn || known || !this.pipelineOf) return response;
    const definition = JSON.parse(this.pipelineOf(account, input.PipelineName) ?? "{}");
    type Step = { Type: string; Arguments: { InferenceSpecification: { Containers: { Image: string }[] } } };
    const register = (definition.Steps ?? []).flatMap((s: Step & { Arguments: { IfSteps?: Step[] } }) =>
      s.Type === "Condition" ? s.Arguments.IfSteps ?? [] : [s]
    ).find((s: Step) => s.Type === "RegisterModel") as Step | undefined;
    const status = (definition.Parameters ?? []).find((p: { Name: string }) => p.Name === "ModelApprovalStatus")
      ?.DefaultValue;
    if (!register || !status) return response;
    this.register(account, {
      status,
      image: register.Arguments.InferenceSpecification.Containers[0].Image,
      description: `Trained by pipeline execution ${arn}`,
    });
    return response;
  }

  /** InvokeEndpoint: one prediction per CSV line, like `serve`; a broken version's container answers 500. */
  #invoke(account: string, name: string, request: FakeRequest): Response {
    const endpoint = this.endpoints.get(`${account}/${name}`);
    if (!endpoint || endpoint.status === "Creating") {
      return runtimeError(400, "ValidationError", `Endpoint ${name} of account ${account} not found.`);
    }
    const model = this.models.get(`${account}/${this.configs.get(`${account}/${endpoint.config}`)?.model}`);
    const pkg = (this.packages.get(account) ?? []).find((p) => p.arn === model?.packageArn);
    if (!pkg || pkg.broken) {
      return new Response(
        JSON.stringify({ message: "Received server error (500) from primary.", OriginalStatusCode: 500 }),
        { status: 424, headers: { "content-type": "application/json", "x-amzn-errortype": "ModelError" } },
      );
    }
    const texts = new TextDecoder().decode(request.body).split("\n").filter((l) => l.trim());
    const labels = ["a", "b"];
    return new Response(
      JSON.stringify({ labels, predictions: texts.map(() => ({ label: "a", probabilities: { a: 0.75, b: 0.25 } })) }),
      { headers: { "content-type": "application/json" } },
    );
  }
}

function runtimeError(status: number, type: string, message: string): Response {
  return new Response(JSON.stringify({ message }), {
    status,
    headers: { "content-type": "application/json", "x-amzn-errortype": type },
  });
}
