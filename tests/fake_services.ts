/**
 * Fake SageMaker (the pipeline operations the tasks use), fake S3
 * (path-style objects, conditional PUT for Terraform's lock files) and fake
 * ECR (image lookups and registry logins), plugged into {@linkcode FakeAws}.
 *
 * @example
 * ```ts
 * import { FakeAws } from "./fake_aws.ts";
 * import { FakeS3, FakeSageMaker } from "./fake_services.ts";
 * await using aws = await FakeAws.start();
 * const sagemaker = new FakeSageMaker(aws);
 * const s3 = new FakeS3(aws);
 * ```
 * @module
 */
import { type FakeAws, type FakeRequest, jsonError, jsonResponse } from "./fake_aws.ts";

interface Pipeline {
  arn: string;
  definition: string;
  roleArn: string;
  tags?: { Key: string; Value: string }[];
}

interface Execution {
  arn: string;
  pipeline: string;
  token: string;
  parameters: { Name: string; Value: string }[];
  created: number;
  polls: number;
}

/** A fake SageMaker: pipelines and their executions (model versions and hosting: tests/fake_hosting.ts). */
export class FakeSageMaker {
  readonly pipelines = new Map<string, Pipeline>();
  readonly executions: Execution[] = [];
  /** `ConflictException`s to return before an Update/Create succeeds. */
  conflicts = 0;
  /** Describe calls an execution stays `Executing` for before it ends. */
  pollsToFinish = 1;
  /** When set, executions fail at this step with this reason. */
  failAt: { step: string; reason: string } | null = null;
  /**
   * Keep each account's pipelines apart (keys become `<account>/<name>`, the account
   * taken from the caller's access key as the fake STS sees it).
   */
  perAccount = false;

  constructor(readonly aws: FakeAws, readonly region = "eu-west-1", readonly account = "222222222222") {
    aws.handle("sagemaker", (r) => this.#handle(r));
  }

  #key(request: FakeRequest, name: string): string {
    if (!this.perAccount) return name;
    return `${this.aws.identities.get(request.accessKeyId) ?? this.aws.defaultAccount}/${name}`;
  }

  #handle(request: FakeRequest): Response {
    const input = JSON.parse(new TextDecoder().decode(request.body) || "{}");
    if (input.PipelineName) input.PipelineName = this.#key(request, input.PipelineName);
    switch (request.action) {
      case "DescribePipeline": {
        const p = this.pipelines.get(input.PipelineName);
        if (!p) return jsonError(400, "ResourceNotFound", `Pipeline '${input.PipelineName}' does not exist.`);
        return jsonResponse({
          PipelineArn: p.arn,
          PipelineName: input.PipelineName,
          PipelineDefinition: p.definition,
          RoleArn: p.roleArn,
        });
      }
      case "CreatePipeline": {
        if (this.conflicts > 0) return this.#conflict();
        if (this.pipelines.has(input.PipelineName)) {
          return jsonError(400, "ResourceInUse", `Pipeline '${input.PipelineName}' already exists.`);
        }
        const arn = `arn:aws:sagemaker:${this.region}:${this.account}:pipeline/${input.PipelineName.toLowerCase()}`;
        this.pipelines.set(input.PipelineName, {
          arn,
          definition: input.PipelineDefinition,
          roleArn: input.RoleArn,
          tags: input.Tags ?? [],
        });
        return jsonResponse({ PipelineArn: arn });
      }
      case "UpdatePipeline": {
        if (this.conflicts > 0) return this.#conflict();
        const p = this.pipelines.get(input.PipelineName);
        if (!p) return jsonError(400, "ResourceNotFound", `Pipeline '${input.PipelineName}' does not exist.`);
        p.definition = input.PipelineDefinition;
        p.roleArn = input.RoleArn;
        return jsonResponse({ PipelineArn: p.arn });
      }
      case "AddTags": {
        const p = [...this.pipelines.values()].find((x) => x.arn === input.ResourceArn);
        if (!p) return jsonError(400, "ValidationException", `Resource ${input.ResourceArn} does not exist.`);
        const tags = new Map((p.tags ?? []).map((t) => [t.Key, t.Value]));
        for (const t of input.Tags ?? []) tags.set(t.Key, t.Value);
        p.tags = [...tags].map(([Key, Value]) => ({ Key, Value }));
        return jsonResponse({ Tags: p.tags });
      }
      case "StartPipelineExecution": {
        const p = this.pipelines.get(input.PipelineName);
        if (!p) return jsonError(400, "ResourceNotFound", `Pipeline '${input.PipelineName}' does not exist.`);
        const token = input.ClientRequestToken ?? "";
        if (token.length < 32 || token.length > 128) {
          return jsonError(400, "ValidationException", "ClientRequestToken must have length 32 to 128.");
        }
        const existing = this.executions.find((e) => e.token === input.ClientRequestToken);
        if (existing) return jsonResponse({ PipelineExecutionArn: existing.arn });
        const arn = `${p.arn}/execution/${crypto.randomUUID().slice(0, 12)}`;
        this.executions.push({
          arn,
          pipeline: input.PipelineName,
          token: input.ClientRequestToken,
          parameters: input.PipelineParameters ?? [],
          created: this.executions.length,
          polls: 0,
        });
        return jsonResponse({ PipelineExecutionArn: arn });
      }
      case "ListPipelineExecutions": {
        const list = this.executions.filter((e) => e.pipeline === input.PipelineName).reverse();
        return jsonResponse({
          PipelineExecutionSummaries: list.slice(0, input.MaxResults ?? 50).map((e) => ({
            PipelineExecutionArn: e.arn,
          })),
        });
      }
      case "DescribePipelineExecution": {
        const e = this.#execution(input.PipelineExecutionArn);
        if (!e) return jsonError(400, "ResourceNotFound", "Execution does not exist.");
        e.polls++;
        const { status, reason } = this.#status(e);
        return jsonResponse({
          PipelineExecutionArn: e.arn,
          PipelineExecutionStatus: status,
          ...(reason ? { FailureReason: reason } : {}),
        });
      }
      case "ListPipelineExecutionSteps": {
        const e = this.#execution(input.PipelineExecutionArn);
        if (!e) return jsonError(400, "ResourceNotFound", "Execution does not exist.");
        return jsonResponse({ PipelineExecutionSteps: this.#steps(e) });
      }
      case "DeletePipeline": {
        const p = this.pipelines.get(input.PipelineName);
        if (!p) return jsonError(400, "ResourceNotFound", `Pipeline '${input.PipelineName}' does not exist.`);
        this.pipelines.delete(input.PipelineName);
        return jsonResponse({ PipelineArn: p.arn });
      }
      case "StopPipelineExecution":
        return jsonResponse({ PipelineExecutionArn: input.PipelineExecutionArn });
      default:
        return jsonError(400, "UnknownOperation", `The fake SageMaker does not implement ${request.action}.`);
    }
  }

  #conflict(): Response {
    this.conflicts--;
    return jsonError(400, "ConflictException", "Another update is in progress.");
  }

  #execution(arn: string): Execution | undefined {
    return this.executions.find((e) => e.arn === arn);
  }

  #status(e: Execution): { status: string; reason: string | null } {
    if (e.polls < this.pollsToFinish) return { status: "Executing", reason: null };
    if (this.failAt) return { status: "Failed", reason: `Step failure: One or multiple steps failed.` };
    return { status: "Succeeded", reason: null };
  }

  #steps(e: Execution): { StepName: string; StepStatus: string; FailureReason?: string }[] {
    const definition = JSON.parse(this.pipelines.get(e.pipeline)!.definition) as { Steps: { Name: string }[] };
    const done = e.polls >= this.pollsToFinish;
    return definition.Steps.map((s, i) => {
      if (!done) return { StepName: s.Name, StepStatus: i === 0 ? "Executing" : "Starting" };
      if (this.failAt?.step === s.Name) {
        return { StepName: s.Name, StepStatus: "Failed", FailureReason: this.failAt.reason };
      }
      return { StepName: s.Name, StepStatus: "Succeeded" };
    });
  }
}

/** Decodes an `aws-chunked` body (what SDKs send with streaming checksums). */
function decodeChunked(body: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  const text = new TextDecoder("latin1");
  for (;;) {
    const lineEnd = body.indexOf(0x0d, i);
    const header = text.decode(body.subarray(i, lineEnd));
    const size = parseInt(header.split(";")[0], 16);
    i = lineEnd + 2;
    if (!size) break;
    out.push(...body.subarray(i, i + size));
    i += size + 2;
  }
  return new Uint8Array(out);
}

interface S3Object {
  body: Uint8Array;
  metadata: Record<string, string>;
  etag: string;
}

/** A fake S3 with path-style addressing. */
export class FakeS3 {
  /** Objects by `bucket/key`. */
  readonly objects = new Map<string, S3Object>();
  /**
   * Access policy: return false to answer 403 AccessDenied. `key` is empty for
   * bucket-level requests (listing), whose `prefix` is then given.
   */
  allow: (
    request: { accessKeyId: string; method: string; bucket: string; key: string; prefix: string | null },
  ) => boolean = () => true;
  /** Milliseconds to hold every response (to widen race windows in tests). */
  delayMs = 0;
  /**
   * Whether a caller may list the bucket without a prefix condition. Like S3, a GET or HEAD of a
   * missing key answers 404 only to such callers, 403 to everyone else.
   */
  listable: (accessKeyId: string, bucket: string) => boolean = () => true;

  constructor(readonly aws: FakeAws) {
    aws.handle("s3", (r) => this.#handle(r));
  }

  /** An object's text, or undefined. */
  text(bucket: string, key: string): string | undefined {
    const o = this.objects.get(`${bucket}/${key}`);
    return o ? new TextDecoder().decode(o.body) : undefined;
  }

  /** Keys in a bucket under a prefix. */
  keys(bucket: string, prefix = ""): string[] {
    return [...this.objects.keys()]
      .filter((k) => k.startsWith(`${bucket}/${prefix}`))
      .map((k) => k.slice(bucket.length + 1))
      .sort();
  }

  async #handle(request: FakeRequest): Promise<Response> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const [, bucket, ...rest] = request.url.pathname.split("/");
    const key = decodeURIComponent(rest.join("/"));
    const prefix = key ? null : request.url.searchParams.get("prefix") ?? "";
    if (!this.allow({ accessKeyId: request.accessKeyId, method: request.method, bucket, key, prefix })) {
      return new Response(`<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`, {
        status: 403,
        headers: { "content-type": "application/xml" },
      });
    }
    const id = `${bucket}/${key}`;
    const denied = () =>
      new Response(`<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`, {
        status: 403,
        headers: { "content-type": "application/xml" },
      });
    const missing = () =>
      new Response(`<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`, {
        status: 404,
        headers: { "content-type": "application/xml" },
      });
    switch (request.method) {
      case "HEAD": {
        const o = this.objects.get(id);
        if (!o) return new Response(null, { status: this.listable(request.accessKeyId, bucket) ? 404 : 403 });
        return new Response(null, { headers: this.#headers(o) });
      }
      case "GET": {
        if (!key && request.url.searchParams.has("versions")) return this.#versions(bucket);
        if (!key) return this.#list(bucket, request.url.searchParams.get("prefix") ?? "");
        const o = this.objects.get(id);
        if (o) return new Response(o.body as Uint8Array<ArrayBuffer>, { headers: this.#headers(o) });
        return this.listable(request.accessKeyId, bucket) ? missing() : denied();
      }
      case "PUT": {
        if (request.headers.get("if-none-match") === "*" && this.objects.has(id)) {
          return new Response(
            `<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>`,
            { status: 412, headers: { "content-type": "application/xml" } },
          );
        }
        const chunked = (request.headers.get("content-encoding") ?? "").includes("aws-chunked") ||
          request.headers.has("x-amz-decoded-content-length");
        const body = chunked ? decodeChunked(request.body) : request.body;
        const metadata: Record<string, string> = {};
        request.headers.forEach((v, k) => {
          if (k.startsWith("x-amz-meta-")) metadata[k.slice("x-amz-meta-".length)] = v;
        });
        const o = { body, metadata, etag: `"${crypto.randomUUID().replaceAll("-", "")}"` };
        this.objects.set(id, o);
        return new Response(null, { headers: { etag: o.etag } });
      }
      case "DELETE":
        this.objects.delete(id);
        return new Response(null, { status: 204 });
      case "POST":
        if (!key && request.url.searchParams.has("delete")) return this.#deleteObjects(request, bucket);
        return new Response(null, { status: 405 });
      default:
        return new Response(null, { status: 405 });
    }
  }

  #headers(o: S3Object): Headers {
    const headers = new Headers({
      etag: o.etag,
      "content-length": String(o.body.length),
      "last-modified": new Date().toUTCString(),
    });
    for (const [k, v] of Object.entries(o.metadata)) headers.set(`x-amz-meta-${k}`, v);
    return headers;
  }

  /** ListObjectVersions: this fake keeps no history, so each object is one version ("null"). */
  #versions(bucket: string): Response {
    const versions = this.keys(bucket).map((k) =>
      `<Version><Key>${k}</Key><VersionId>null</VersionId><IsLatest>true</IsLatest></Version>`
    ).join("");
    return new Response(
      `<ListVersionsResult><Name>${bucket}</Name><IsTruncated>false</IsTruncated>${versions}</ListVersionsResult>`,
      { headers: { "content-type": "application/xml" } },
    );
  }

  /** DeleteObjects: each key is subject to {@linkcode FakeS3.allow} as a DELETE, failures reported per key. */
  #deleteObjects(request: FakeRequest, bucket: string): Response {
    const xml = new TextDecoder().decode(request.body);
    const keys = [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
    const errors: string[] = [];
    for (const key of keys) {
      if (this.allow({ accessKeyId: request.accessKeyId, method: "DELETE", bucket, key, prefix: null })) {
        this.objects.delete(`${bucket}/${key}`);
      } else {
        errors.push(`<Error><Key>${key}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`);
      }
    }
    return new Response(`<DeleteResult>${errors.join("")}</DeleteResult>`, {
      headers: { "content-type": "application/xml" },
    });
  }

  #list(bucket: string, prefix: string): Response {
    const contents = this.keys(bucket, prefix).map((k) =>
      `<Contents><Key>${k}</Key><Size>${this.objects.get(`${bucket}/${k}`)!.body.length}</Size></Contents>`
    ).join("");
    return new Response(
      `<ListBucketResult><Name>${bucket}</Name><Prefix>${prefix}</Prefix><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`,
      { headers: { "content-type": "application/xml" } },
    );
  }
}

interface EcrImage {
  digest: string;
  tags: string[];
  pushedAt: number;
}

/**
 * A fake ECR: repositories with immutable tags, `DescribeImages` and
 * `GetAuthorizationToken`. `docker push` reaches a registry, not the ECR API,
 * so a recording `docker` stand-in registers what it pushes by appending the
 * reference (`<registry>/<repository>:<tag>`) to {@linkcode FakeEcr.pushLog};
 * the fake reads new lines of that file before answering each request.
 *
 * @example
 * ```ts
 * import { FakeAws } from "./fake_aws.ts";
 * import { FakeEcr } from "./fake_services.ts";
 * await using aws = await FakeAws.start();
 * const ecr = new FakeEcr(aws, { pushLog: "/tmp/pushes" });
 * ecr.createRepository("mlops/training");
 * ```
 */
export class FakeEcr {
  /** Images by repository name. */
  readonly repositories = new Map<string, EcrImage[]>();
  /** The secret inside every authorization token. */
  readonly password = `fake-ecr-password-${crypto.randomUUID()}`;
  /** File a `docker` stand-in appends pushed references to (null: none). */
  readonly pushLog: string | null;
  readonly region: string;
  readonly account: string;
  #pushLogLines = 0;

  constructor(
    readonly aws: FakeAws,
    options: { pushLog?: string; region?: string; account?: string } = {},
  ) {
    this.pushLog = options.pushLog ?? null;
    this.region = options.region ?? "eu-west-1";
    this.account = options.account ?? "111111111111";
    aws.handle("ecr", (r) => this.#handle(r));
  }

  /** The registry host of the fake's account and region. */
  get registry(): string {
    return `${this.account}.dkr.ecr.${this.region}.amazonaws.com`;
  }

  /** What `GetAuthorizationToken` returns: base64 of `AWS:<password>`. */
  get authorizationToken(): string {
    return btoa(`AWS:${this.password}`);
  }

  /** Creates an empty repository. */
  createRepository(name: string): void {
    if (!this.repositories.has(name)) this.repositories.set(name, []);
  }

  /** Records a push of `repository:tag` and returns its digest; refuses to move an existing tag. */
  push(repository: string, tag: string): string {
    const images = this.repositories.get(repository);
    if (!images) throw new Error(`The fake ECR has no repository "${repository}".`);
    if (images.some((i) => i.tags.includes(tag))) {
      throw new Error(`The image tag '${tag}' already exists in the '${repository}' repository (immutable).`);
    }
    const digest = `sha256:${
      Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("")
    }`;
    images.push({ digest, tags: [tag], pushedAt: Math.floor(Date.now() / 1000) });
    return digest;
  }

  /** The digest of `repository:tag`, if pushed. */
  digest(repository: string, tag: string): string | undefined {
    return this.repositories.get(repository)?.find((i) => i.tags.includes(tag))?.digest;
  }

  /** Registers pushes the `docker` stand-in appended to the push log since the last look. */
  #readPushLog(): void {
    if (!this.pushLog) return;
    let lines: string[];
    try {
      lines = Deno.readTextFileSync(this.pushLog).split("\n").filter(Boolean);
    } catch {
      return;
    }
    for (const reference of lines.slice(this.#pushLogLines)) {
      const match = /^[^/]+\/(.+):([^:/]+)$/.exec(reference.trim());
      if (match && !this.digest(match[1], match[2])) this.push(match[1], match[2]);
    }
    this.#pushLogLines = lines.length;
  }

  #handle(request: FakeRequest): Response {
    this.#readPushLog();
    const input = JSON.parse(new TextDecoder().decode(request.body) || "{}");
    switch (request.action) {
      case "GetAuthorizationToken":
        return jsonResponse({
          authorizationData: [{
            authorizationToken: this.authorizationToken,
            expiresAt: Math.floor(Date.now() / 1000) + 12 * 3600,
            proxyEndpoint: `https://${this.registry}`,
          }],
        });
      case "DescribeImages": {
        const images = this.repositories.get(input.repositoryName);
        if (!images) {
          return jsonError(
            400,
            "RepositoryNotFoundException",
            `The repository with name '${input.repositoryName}' does not exist in the registry with id '${this.account}'`,
          );
        }
        const wanted = (input.imageIds ?? []) as { imageTag?: string; imageDigest?: string }[];
        const found = wanted.length === 0
          ? images
          : images.filter((i) =>
            wanted.some((w) =>
              (w.imageTag && i.tags.includes(w.imageTag)) || (w.imageDigest && i.digest === w.imageDigest)
            )
          );
        if (wanted.length > 0 && found.length === 0) {
          return jsonError(
            400,
            "ImageNotFoundException",
            `The image with imageId {imageDigest:'null', imageTag:'${
              wanted[0].imageTag
            }'} does not exist within the repository with name '${input.repositoryName}' in the registry with id '${this.account}'`,
          );
        }
        return jsonResponse({
          imageDetails: found.map((i) => ({
            registryId: this.account,
            repositoryName: input.repositoryName,
            imageDigest: i.digest,
            imageTags: i.tags,
            imagePushedAt: i.pushedAt,
            imageSizeInBytes: 123456789,
            imageManifestMediaType: "application/vnd.docker.distribution.manifest.v2+json",
          })),
        });
      }
      default:
        return jsonError(400, "UnknownOperation", `The fake ECR does not implement ${request.action}.`);
    }
  }
}
