/**
 * The training image: its tag is a content hash of the image context, so a
 * commit's image is built once and every environment pulls it by digest.
 *
 * - {@linkcode DockerIgnore} reads `.dockerignore` with Docker's rules (later
 *   rules win, `!` re-includes, a rule that matches a directory matches
 *   everything in it).
 * - {@linkcode hashContext} hashes what `docker build` would send: the paths,
 *   file modes and contents the `.dockerignore` lets through, plus the
 *   Dockerfile, sorted; files it keeps out (tests, data, READMEs) never change
 *   the tag.
 * - {@linkcode buildImage} looks the tag up in ECR (operations account) and
 *   builds and pushes only when it is missing, then reads back the digest.
 *   The ECR password reaches `docker login` on stdin only: never in argv, a
 *   log line or an error message.
 *
 * The AWS SDK is imported lazily, so hashing stays cheap for callers that only
 * need the tag.
 *
 * @example
 * ```ts
 * import { hashContext } from "./image.ts";
 * const context = await hashContext("training-pipeline");
 * console.log(context.tag, context.files.map((f) => f.path));
 * ```
 * @module
 */
import type { ECRClient } from "@aws-sdk/client-ecr";
import { type AwsAccess, sentence } from "./aws.ts";
import { TaskError } from "./cli.ts";
import { sha256Hex } from "./hash.ts";
import type { Config } from "./config.ts";
import { log } from "./log.ts";
import { run, which } from "./process.ts";

/** The image context, relative to the repository root. */
export const CONTEXT_DIR = "training-pipeline";
/** SageMaker's ml.* instance types of the config are x86_64: the image is built for that. */
export const PLATFORM = "linux/amd64";
/**
 * Hex characters of the context hash used as the tag: 128 bits, far beyond
 * any chance of a collision, and visibly shorter than the 64-character image
 * digest so the two are not mistaken for each other.
 */
export const TAG_LENGTH = 32;
/** Version of the hashing scheme; changing how the tag is computed must change every tag. */
const SCHEME = "mlops-image-context/1";

// ---------------------------------------------------------------------------
// .dockerignore

interface IgnoreRule {
  /** The cleaned pattern, without `!`. */
  pattern: string;
  /** A `!` rule: re-includes what it matches. */
  exclusion: boolean;
  regex: RegExp;
}

/** Cleans a slash-separated path the way Go's `path.Clean` does. */
export function cleanPath(path: string): string {
  const rooted = path.startsWith("/");
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out.at(-1) !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(segment);
  }
  const cleaned = (rooted ? "/" : "") + out.join("/");
  return cleaned || (rooted ? "/" : ".");
}

const REGEX_SPECIAL = /[.+()|{}^$\\\/*?\[\]]/;
const escapeChar = (ch: string) => (REGEX_SPECIAL.test(ch) ? `\\${ch}` : ch);

/**
 * Compiles one pattern to a regular expression: `*` and `?` never cross a
 * `/`, `**` crosses any number of directories (`**\/` also matches none),
 * `[...]` is a character class and `\` makes the next character literal.
 */
function compilePattern(pattern: string): RegExp {
  const chars = Array.from(pattern);
  let source = "^";
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === "*") {
      if (chars[i + 1] === "*") {
        i++;
        if (chars[i + 1] === "/") i++;
        source += i + 1 >= chars.length ? ".*" : "(.*/)?";
      } else {
        source += "[^/]*";
      }
    } else if (ch === "?") {
      source += "[^/]";
    } else if (ch === "[" || ch === "]") {
      source += ch;
    } else if (ch === "\\") {
      source += i + 1 < chars.length ? escapeChar(chars[++i]) : "\\\\";
    } else {
      source += escapeChar(ch);
    }
  }
  return new RegExp(`${source}$`, "u");
}

/**
 * The rules of a `.dockerignore` file, matched the way Docker matches them.
 *
 * @example
 * ```ts
 * import { DockerIgnore } from "./image.ts";
 * const ignore = DockerIgnore.parse("*\n!src/\n**\/__pycache__\n");
 * ignore.ignores("src/train.py"); // false
 * ignore.ignores("tests/test_train.py"); // true
 * ```
 */
export class DockerIgnore {
  private constructor(readonly rules: readonly IgnoreRule[]) {}

  /** Parses `.dockerignore` text; `file` is only used in messages. */
  static parse(text: string, file = ".dockerignore"): DockerIgnore {
    const rules: IgnoreRule[] = [];
    text.replace(/^\uFEFF/, "").split(/\r?\n/).forEach((line, index) => {
      if (line.startsWith("#")) return;
      let pattern = line.trim();
      if (!pattern) return;
      const exclusion = pattern.startsWith("!");
      if (exclusion) pattern = pattern.slice(1).trim();
      if (pattern) {
        pattern = cleanPath(pattern);
        if (pattern.length > 1 && pattern.startsWith("/")) pattern = pattern.slice(1);
      }
      let regex: RegExp;
      try {
        regex = compilePattern(pattern);
      } catch {
        throw new TaskError(`Invalid pattern "${line.trim()}" at line ${index + 1} of ${file}. Fix the pattern.`);
      }
      rules.push({ pattern, exclusion, regex });
    });
    return new DockerIgnore(rules);
  }

  /** Reads `<dir>/.dockerignore`; no file means nothing is ignored. */
  static async load(dir: string): Promise<DockerIgnore> {
    const file = `${dir}/.dockerignore`;
    try {
      return DockerIgnore.parse(await Deno.readTextFile(file), file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return new DockerIgnore([]);
      throw error;
    }
  }

  /**
   * Whether the context leaves out `path` (relative, `/`-separated). A rule
   * matches a path or any of its parent directories; the last matching rule
   * decides.
   */
  ignores(path: string): boolean {
    const parents = path.split("/").slice(0, -1);
    let ignored = false;
    for (const rule of this.rules) {
      // An exclusion only matters for an ignored path, an ignore only for a kept one.
      if (rule.exclusion !== ignored) continue;
      let match = rule.regex.test(path);
      for (let i = 1; !match && i <= parents.length; i++) match = rule.regex.test(parents.slice(0, i).join("/"));
      if (match) ignored = !rule.exclusion;
    }
    return ignored;
  }

  /**
   * Whether an ignored directory can be skipped without looking inside: no
   * `!` rule could re-include anything in it (BuildKit's rule: only when
   * every `!` rule is a plain path, and none lies under `dir`).
   */
  canSkip(dir: string): boolean {
    const exclusions = this.rules.filter((r) => r.exclusion);
    if (exclusions.some((r) => /[*?\[\\]/.test(r.pattern))) return false;
    return !exclusions.some((r) => `${r.pattern}/`.startsWith(`${dir}/`));
  }
}

// ---------------------------------------------------------------------------
// Content hash of the context

/** One file of the context as hashed. */
export interface ContextFile {
  /** Relative, `/`-separated. */
  path: string;
  /** Git-style mode: `100644`, `100755` (executable) or `120000` (symlink). */
  mode: string;
  /** sha256 of the contents (of the link target for a symlink). */
  sha256: string;
}

/** The hashed context. */
export interface ImageContext {
  dir: string;
  /** The image tag: the first {@linkcode TAG_LENGTH} hex characters of {@linkcode ImageContext.hash}. */
  tag: string;
  /** sha256 (hex) of the manifest. */
  hash: string;
  /** The files that go into the image, sorted by path. */
  files: ContextFile[];
  /** What was hashed: the scheme, the platform and one line per file. */
  manifest: string;
}

async function hashFile(dir: string, path: string, symlink: boolean): Promise<ContextFile> {
  const full = `${dir}/${path}`;
  if (symlink) return { path, mode: "120000", sha256: await sha256Hex(await Deno.readLink(full)) };
  const stat = await Deno.stat(full);
  const executable = ((stat.mode ?? 0) & 0o111) !== 0;
  return { path, mode: executable ? "100755" : "100644", sha256: await sha256Hex(await Deno.readFile(full)) };
}

/** The files of `dir` that `.dockerignore` keeps in the context (the Dockerfile always), sorted. */
export async function contextFiles(dir: string): Promise<ContextFile[]> {
  const ignore = await DockerIgnore.load(dir);
  const found: { path: string; symlink: boolean }[] = [];
  const walk = async (rel: string): Promise<void> => {
    for await (const entry of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const ignored = ignore.ignores(path);
      if (entry.isDirectory) {
        if (!ignored || !ignore.canSkip(path)) await walk(path);
      } else if (!ignored || path === "Dockerfile") {
        found.push({ path, symlink: entry.isSymlink });
      }
    }
  };
  await walk("");
  // Code-unit order: the same on every machine, whatever the locale.
  found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return await Promise.all(found.map((f) => hashFile(dir, f.path, f.symlink)));
}

/**
 * Hashes the image context of `dir`: the scheme, the target platform, and
 * `<mode> <sha256> <path>` for every file in the context.
 */
export async function hashContext(dir: string, platform = PLATFORM): Promise<ImageContext> {
  try {
    await Deno.stat(`${dir}/Dockerfile`);
  } catch {
    throw new TaskError(
      `No Dockerfile in "${dir}" (looked in ${Deno.cwd()}). Run the task from the repository root, where ${CONTEXT_DIR}/ is.`,
    );
  }
  const files = await contextFiles(dir);
  const manifest = [SCHEME, `platform ${platform}`, ...files.map((f) => `${f.mode} ${f.sha256} ${f.path}`)]
    .join("\n") + "\n";
  const hash = await sha256Hex(manifest);
  return { dir, tag: hash.slice(0, TAG_LENGTH), hash, files, manifest };
}

// ---------------------------------------------------------------------------
// Registry (ECR) and docker

/** Username and password for `docker login`. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Decodes an ECR authorization token (`base64("AWS:<password>")`). */
export function decodeAuthorizationToken(token: string): RegistryCredentials {
  let text: string;
  try {
    text = atob(token);
  } catch {
    throw new TaskError("ECR returned an authorization token that is not base64. Re-run deno task build.");
  }
  const colon = text.indexOf(":");
  if (colon <= 0) {
    throw new TaskError("ECR returned an authorization token without a user name. Re-run deno task build.");
  }
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** `text` with every occurrence of each secret replaced by `***`. */
export function redact(text: string, secrets: string[]): string {
  return secrets.filter((s) => s.length > 0).reduce((t, s) => t.split(s).join("***"), text);
}

function errorName(error: unknown): string {
  return (error as { name?: string }).name ?? "";
}

/** The image repository in the operations account. */
export class ImageRepository {
  constructor(
    readonly client: ECRClient,
    /** Repository name, e.g. `mlops/training`. */
    readonly name: string,
    /** Registry host, e.g. `111111111111.dkr.ecr.eu-west-1.amazonaws.com`. */
    readonly registry: string,
    readonly accountId: string,
  ) {}

  /** The repository of the config, with a client acting in the operations account. */
  static async open(config: Config, aws: AwsAccess): Promise<ImageRepository> {
    const { ECRClient } = await import("@aws-sdk/client-ecr");
    return new ImageRepository(
      new ECRClient(await aws.clientConfig("operations")),
      config.names.ecrRepository,
      config.names.registry,
      config.account("operations").id,
    );
  }

  /** `registry/name:tag`. */
  reference(tag: string): string {
    return `${this.registry}/${this.name}:${tag}`;
  }

  /** `registry/name@digest`: how the pipeline pins the image. */
  uri(digest: string): string {
    return `${this.registry}/${this.name}@${digest}`;
  }

  /** The digest of `tag`, or null when the repository has no such tag. */
  async digestOf(tag: string): Promise<string | null> {
    const { DescribeImagesCommand } = await import("@aws-sdk/client-ecr");
    try {
      const out = await this.client.send(
        // registryId: without it ECR searches the caller's own registry, which in CI (one
        // environment's deploy role) is the environment's account, not the operations account.
        new DescribeImagesCommand({
          registryId: this.accountId,
          repositoryName: this.name,
          imageIds: [{ imageTag: tag }],
        }),
      );
      return out.imageDetails?.find((d) => d.imageTags?.includes(tag))?.imageDigest ??
        out.imageDetails?.[0]?.imageDigest ?? null;
    } catch (error) {
      if (errorName(error) === "ImageNotFoundException") return null;
      if (errorName(error) === "RepositoryNotFoundException") {
        throw new TaskError(
          `The image repository "${this.name}" does not exist in the operations account (${this.accountId}) yet. Create it with: deno task bootstrap`,
          { cause: error },
        );
      }
      throw new TaskError(
        `Cannot look up image tag "${tag}" in "${this.name}": ${sentence((error as Error).message)}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Credentials for `docker login` from ECR `GetAuthorizationToken`. */
  async credentials(): Promise<RegistryCredentials> {
    const { GetAuthorizationTokenCommand } = await import("@aws-sdk/client-ecr");
    let token: string | undefined;
    try {
      const out = await this.client.send(new GetAuthorizationTokenCommand({}));
      token = out.authorizationData?.[0]?.authorizationToken;
    } catch (error) {
      throw new TaskError(
        `Cannot get a registry login from ECR (GetAuthorizationToken): ${sentence((error as Error).message)} ` +
          `Check that the operations credentials may call ecr:GetAuthorizationToken.`,
        { cause: error },
      );
    }
    if (!token) throw new TaskError("ECR returned no authorization token. Re-run deno task build.");
    return decodeAuthorizationToken(token);
  }

  /** Closes the client. */
  close(): void {
    this.client.destroy();
  }
}

/** The docker CLI, through {@linkcode run}. */
export class Docker {
  constructor(readonly command = "docker") {}

  /** Refuses unless the CLI is installed and reaches a running engine. */
  async assertEngine(): Promise<void> {
    if (!(await which(this.command))) {
      throw new TaskError(
        `Cannot build the image: "${this.command}" is not installed. Install Docker (Docker Desktop or Docker Engine) and re-run deno task build.`,
      );
    }
    const info = await run([this.command, "info", "--format", "{{.ServerVersion}}"], {
      capture: true,
      captureStderr: true,
    });
    if (info.code !== 0) {
      const reason = info.stderr.trim().split("\n").find((l) => l.trim()) ?? `exit ${info.code}`;
      throw new TaskError(
        `Cannot build the image: no Docker engine is running (docker info: ${reason.trim()}). Start Docker and re-run deno task build.`,
      );
    }
    log.debug(`docker engine ${info.stdout.trim() || "(version unknown)"}`);
  }

  /** `docker login` with the password on stdin; it never reaches argv, logs or messages. */
  async login(registry: string, credentials: RegistryCredentials): Promise<void> {
    const result = await run(
      [this.command, "login", "--username", credentials.username, "--password-stdin", registry],
      { stdin: credentials.password, capture: true, captureStderr: true },
    );
    if (result.code !== 0) {
      const secrets = [credentials.password, btoa(`${credentials.username}:${credentials.password}`)];
      const reason = redact(`${result.stderr}${result.stdout}`, secrets).trim().split("\n").at(-1) ??
        `exit ${result.code}`;
      throw new TaskError(`docker login to ${registry} failed: ${reason}. Check the Docker engine and re-run.`);
    }
  }

  /** `docker build` of `contextDir` as `reference`; its output goes to stderr. */
  async build(reference: string, contextDir: string, platform = PLATFORM): Promise<void> {
    const result = await run([this.command, "build", "--platform", platform, "-t", reference, contextDir], {
      stdoutToStderr: true,
    });
    if (result.code !== 0) {
      throw new TaskError(
        `docker build failed (exit ${result.code}); see its output above. Fix ${contextDir}/Dockerfile or the code it copies.`,
      );
    }
  }

  /** `docker push`; true when it succeeded. */
  async push(reference: string): Promise<boolean> {
    return (await run([this.command, "push", reference], { stdoutToStderr: true })).code === 0;
  }
}

/** What {@linkcode buildImage} found or made. */
export interface ImageResult {
  /** The content-hash tag. */
  tag: string;
  /** `sha256:…` of the image in the registry. */
  digest: string;
  /** Whether this run built and pushed it. */
  built: boolean;
  /** `registry/repository@digest`. */
  imageUri: string;
}

/** Options of {@linkcode buildImage}. */
export interface BuildOptions {
  /** The image context (default {@linkcode CONTEXT_DIR}). */
  contextDir?: string;
  docker?: Docker;
}

/**
 * Makes sure the registry has the image of the context: looks its tag up and
 * builds and pushes only when it is missing. Refuses unless the operations
 * credentials belong to the operations account.
 */
export async function buildImage(
  ctx: { config: Config; aws: AwsAccess },
  options: BuildOptions = {},
): Promise<ImageResult> {
  const contextDir = options.contextDir ?? CONTEXT_DIR;
  const context = await hashContext(contextDir);
  log.step("Hashed", `${contextDir}: ${context.files.length} files, tag ${context.tag}`);
  log.step("Checking", `credentials of operations (${ctx.aws.describe(ctx.aws.source("operations"))})`);
  await ctx.aws.assertAccount("operations", "build the image in");
  const repository = await ImageRepository.open(ctx.config, ctx.aws);
  try {
    const reference = repository.reference(context.tag);
    const existing = await repository.digestOf(context.tag);
    if (existing) {
      log.step("Found", `${reference} (${existing}); nothing to build`);
      return { tag: context.tag, digest: existing, built: false, imageUri: repository.uri(existing) };
    }
    const docker = options.docker ?? new Docker();
    await docker.assertEngine();
    log.step("Logging in", repository.registry);
    await docker.login(repository.registry, await repository.credentials());
    log.step("Building", reference);
    await docker.build(reference, contextDir);
    log.step("Pushing", reference);
    const pushed = await docker.push(reference);
    const digest = await repository.digestOf(context.tag);
    if (!pushed) {
      // Tags are immutable: a concurrent build of the same content may have pushed it first.
      if (!digest) {
        throw new TaskError(`docker push of ${reference} failed; see its output above. Re-run deno task build.`);
      }
      log.warn(`${reference} was pushed by another build meanwhile; using its digest.`);
      return { tag: context.tag, digest, built: false, imageUri: repository.uri(digest) };
    }
    if (!digest) {
      throw new TaskError(
        `docker push of ${reference} succeeded but ECR does not list the tag. Re-run deno task build.`,
      );
    }
    log.step("Pushed", `${reference} (${digest})`);
    return { tag: context.tag, digest, built: true, imageUri: repository.uri(digest) };
  } finally {
    repository.close();
  }
}
