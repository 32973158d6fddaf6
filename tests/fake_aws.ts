/**
 * An in-process fake of the AWS APIs this project calls, for tests. Both the
 * AWS SDK and Terraform reach it through `AWS_ENDPOINT_URL_<SERVICE>`.
 *
 * Requests are routed by the service named in their SigV4 credential scope,
 * so one server answers every service. STS is built in: the caller's account
 * is looked up by access key id (one fake key per profile), so a test can give
 * a profile the wrong account. Later features register more services with
 * {@linkcode FakeAws.handle}.
 *
 * @example
 * ```ts
 * import { FakeAws } from "./fake_aws.ts";
 * await using aws = await FakeAws.start();
 * aws.identities.set("AKIDDEV", "222222222222");
 * ```
 * @module
 */

/** A request as the fake sees it. */
export interface FakeRequest {
  service: string;
  /** `Action` (query protocols), the `X-Amz-Target` operation (JSON), or `METHOD /path` (REST). */
  action: string;
  accessKeyId: string;
  url: URL;
  method: string;
  headers: Headers;
  body: Uint8Array;
  /** Form fields of a query-protocol request. */
  form: URLSearchParams;
}

/** Answers one service's requests. */
export type FakeHandler = (request: FakeRequest) => Response | Promise<Response>;

/** One recorded call. */
export interface FakeCall {
  service: string;
  action: string;
  accessKeyId: string;
}

/** An XML response in the query-protocol shape. */
export function xmlResponse(action: string, result: string, namespace: string): Response {
  return new Response(
    `<${action}Response xmlns="${namespace}"><${action}Result>${result}</${action}Result>` +
      `<ResponseMetadata><RequestId>fake-${crypto.randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
    { headers: { "content-type": "text/xml" } },
  );
}

/** A query-protocol error response. */
export function xmlError(status: number, code: string, message: string): Response {
  return new Response(
    `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error>` +
      `<RequestId>fake</RequestId></ErrorResponse>`,
    { status, headers: { "content-type": "text/xml" } },
  );
}

/** A JSON-protocol response. */
export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/x-amz-json-1.1" } });
}

/** A JSON-protocol error response. */
export function jsonError(status: number, type: string, message: string): Response {
  return jsonResponse({ __type: type, message }, status);
}

const SIGV4_SCOPE = /Credential=([^/]+)\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/;

/** The fake server. */
export class FakeAws {
  /** Account id of each access key id; unknown keys get `defaultAccount`. */
  readonly identities = new Map<string, string>();
  /** Access keys STS rejects as expired. */
  readonly expiredKeys = new Set<string>();
  defaultAccount = "000000000000";
  readonly calls: FakeCall[] = [];
  readonly #handlers = new Map<string, FakeHandler>();

  #server: Deno.HttpServer<Deno.NetAddr> | null = null;

  private constructor() {
    this.handle("sts", (r) => this.#sts(r));
  }

  private get server(): Deno.HttpServer<Deno.NetAddr> {
    if (!this.#server) throw new Error("The fake AWS server is not started.");
    return this.#server;
  }

  /** Starts the fake on a free loopback port. */
  static async start(): Promise<FakeAws> {
    const fake = new FakeAws();
    const ready = Promise.withResolvers<void>();
    fake.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => ready.resolve() },
      (request) => fake.#route(request),
    );
    await ready.promise;
    return fake;
  }

  /** Base URL of the fake. */
  get url(): string {
    return `http://127.0.0.1:${this.server.addr.port}`;
  }

  /** Environment variables that point the SDK and Terraform at the fake. */
  endpointEnv(services = ["sts", "s3", "ecr", "sagemaker"]): Record<string, string> {
    return Object.fromEntries(services.map((s) => [`AWS_ENDPOINT_URL_${s.toUpperCase()}`, this.url]));
  }

  /** Registers (or replaces) the handler of a service. */
  handle(service: string, handler: FakeHandler): void {
    this.#handlers.set(service, handler);
  }

  /** The handler of a service, so a later fake can extend it (answer some actions, pass on the rest). */
  handlerOf(service: string): FakeHandler | undefined {
    return this.#handlers.get(service);
  }

  /** Calls recorded for a service (and action). */
  callsTo(service: string, action?: string): FakeCall[] {
    return this.calls.filter((c) => c.service === service && (!action || c.action === action));
  }

  async #route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const scope = SIGV4_SCOPE.exec(request.headers.get("authorization") ?? "");
    const body = new Uint8Array(await request.arrayBuffer());
    const service = scope?.[2] ?? "unsigned";
    const contentType = request.headers.get("content-type") ?? "";
    const form = contentType.includes("x-www-form-urlencoded")
      ? new URLSearchParams(new TextDecoder().decode(body))
      : new URLSearchParams();
    const target = request.headers.get("x-amz-target");
    const action = form.get("Action") ?? (target ? target.split(".").at(-1)! : `${request.method} ${url.pathname}`);
    const fakeRequest: FakeRequest = {
      service,
      action,
      accessKeyId: scope?.[1] ?? "",
      url,
      method: request.method,
      headers: request.headers,
      body,
      form,
    };
    this.calls.push({ service, action, accessKeyId: fakeRequest.accessKeyId });
    const handler = this.#handlers.get(service);
    if (!handler) return jsonError(501, "NotImplemented", `The fake has no "${service}" service (action ${action}).`);
    return await handler(fakeRequest);
  }

  #sts(request: FakeRequest): Response {
    const ns = "https://sts.amazonaws.com/doc/2011-06-15/";
    if (request.action !== "GetCallerIdentity") {
      return xmlError(400, "InvalidAction", `The fake STS does not implement ${request.action}.`);
    }
    if (this.expiredKeys.has(request.accessKeyId)) {
      return xmlError(403, "ExpiredToken", "The security token included in the request is expired");
    }
    const account = this.identities.get(request.accessKeyId) ?? this.defaultAccount;
    return xmlResponse(
      "GetCallerIdentity",
      `<Arn>arn:aws:iam::${account}:user/${request.accessKeyId}</Arn><UserId>${request.accessKeyId}</UserId><Account>${account}</Account>`,
      ns,
    );
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.server.shutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
