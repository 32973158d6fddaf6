/**
 * One long-lived provider process that many `terraform test` runs attach to,
 * instead of Terraform starting the provider afresh for every use.
 *
 * Why: `terraform test` starts the provider binary for each phase of each run
 * block and each provider alias: the operations root's 13 runs over 4 aliases
 * started the 675 MB AWS provider 137 times, and those starts were most of
 * the suite's CPU. Terraform can instead attach to a provider that is already
 * running (`TF_REATTACH_PROVIDERS`, the mechanism providers offer for
 * debugging: the binary started with `-debug` prints the value to set).
 *
 * Only for configurations whose providers are all `mock_provider`s: Terraform
 * then never configures the real provider, and only asks it stateless
 * questions (its schema, validation of a resource's arguments), so one
 * process can answer several Terraform processes at once. A configured
 * provider keeps per-process state and must never be shared this way.
 *
 * @example
 * ```ts
 * import { SharedProvider } from "./provider_server.ts";
 * const provider = await SharedProvider.start("/path/to/terraform-provider-aws_v5.100.0_x5");
 * // run terraform with provider.env, then:
 * await provider?.stop();
 * ```
 * @module
 */
import { join } from "node:path";
import { within } from "./process.ts";

/** How long a provider may take to print its reattach line before we give up on it. */
const START_TIMEOUT_MS = 60_000;

/** The value a provider in debug mode tells the user to set: `TF_REATTACH_PROVIDERS='{…}'`. */
export function reattachValue(output: string): string | null {
  const match = /TF_REATTACH_PROVIDERS='(\{.*\})'/.exec(output);
  if (!match) return null;
  try {
    JSON.parse(match[1]);
    return match[1];
  } catch {
    return null;
  }
}

/**
 * The provider binaries a Terraform data directory holds, keyed by
 * `<source address>/<version>` (e.g. `registry.terraform.io/hashicorp/aws/5.100.0`).
 */
export async function installedProviders(dataDir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const walk = async (dir: string, parts: string[]): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      // <host>/<namespace>/<type>/<version>/<os_arch>/terraform-provider-<type>_v<version>…
      if (parts.length === 5) {
        if (entry.name.startsWith("terraform-provider-")) found.set(parts.slice(0, 4).join("/"), path);
      } else if (entry.isDirectory || entry.isSymlink) {
        await walk(path, [...parts, entry.name]);
      }
    }
  };
  await walk(join(dataDir, "providers"), []);
  return found;
}

/** A provider binary running in debug mode, ready for Terraform to attach to. */
export class SharedProvider {
  private constructor(
    private readonly child: Deno.ChildProcess,
    /** The `TF_REATTACH_PROVIDERS` value that points Terraform at this process. */
    readonly reattach: string,
  ) {}

  /** The environment that makes Terraform attach to this process instead of starting the provider. */
  get env(): Record<string, string> {
    return { TF_REATTACH_PROVIDERS: this.reattach };
  }

  /**
   * Starts `binary -debug` and waits for its reattach line; null (and the
   * process stopped) when the provider does not offer one, so callers fall
   * back to Terraform starting the provider itself.
   */
  static async start(binary: string): Promise<SharedProvider | null> {
    const child = new Deno.Command(binary, { args: ["-debug"], stdin: "null", stdout: "piped", stderr: "null" })
      .spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const reattach = await within(
      START_TIMEOUT_MS,
      null,
      (async () => {
        let output = "";
        while (true) {
          const { value, done } = await reader.read();
          if (done) return null;
          output += value;
          const found = reattachValue(output);
          if (found) return found;
        }
      })(),
    );
    // Keep reading so the provider never blocks on a full pipe; it prints nothing we need.
    (async () => {
      try {
        while (!(await reader.read()).done) { /* discard */ }
      } catch { /* the process ended */ }
    })();
    const provider = new SharedProvider(child, reattach ?? "");
    // Whatever ends this process (an interrupt's exit included), the provider must not outlive it.
    const orphanGuard = () => provider.kill("SIGKILL");
    globalThis.addEventListener("unload", orphanGuard);
    child.status.then(() => globalThis.removeEventListener("unload", orphanGuard));
    if (reattach) return provider;
    await provider.stop();
    return null;
  }

  private kill(signal: Deno.Signal): void {
    try {
      this.child.kill(signal);
    } catch { /* already exited */ }
  }

  /** Stops the provider (an interrupt, as its debug server expects) and waits for it to exit. */
  async stop(): Promise<void> {
    this.kill("SIGINT");
    const exited = await within(5_000, false, this.child.status.then(() => true));
    if (!exited) {
      this.kill("SIGKILL");
      await this.child.status;
    }
  }
}

/**
 * The shared providers of several Terraform data directories: one process per
 * distinct provider binary (address and version), started once, stopped once.
 */
export class ProviderPool {
  private constructor(
    private readonly providers: Map<string, SharedProvider>,
    private readonly byDataDir: Map<string, string[]>,
  ) {}

  /** Starts a provider for each binary the directories hold; those that cannot be shared are left to Terraform. */
  static async start(dataDirs: string[]): Promise<ProviderPool> {
    const providers = new Map<string, SharedProvider>();
    const byDataDir = new Map<string, string[]>();
    const binaries = new Map<string, string>();
    for (const dir of dataDirs) {
      const installed = await installedProviders(dir);
      byDataDir.set(dir, [...installed.keys()]);
      for (const [key, binary] of installed) if (!binaries.has(key)) binaries.set(key, binary);
    }
    await Promise.all([...binaries].map(async ([key, binary]) => {
      const provider = await SharedProvider.start(binary);
      if (provider) providers.set(key, provider);
    }));
    return new ProviderPool(providers, byDataDir);
  }

  /** How many provider processes are shared. */
  get size(): number {
    return this.providers.size;
  }

  /** The environment for Terraform in a configuration using this data directory: `{}` when nothing is shared. */
  envFor(dataDir: string): Record<string, string> {
    const merged: Record<string, unknown> = {};
    for (const key of this.byDataDir.get(dataDir) ?? []) {
      const provider = this.providers.get(key);
      if (provider) Object.assign(merged, JSON.parse(provider.reattach));
    }
    return Object.keys(merged).length > 0 ? { TF_REATTACH_PROVIDERS: JSON.stringify(merged) } : {};
  }

  /** Stops every shared provider. */
  async stop(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.stop()));
  }
}
