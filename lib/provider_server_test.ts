import assert from "node:assert/strict";
import { installedProviders, ProviderPool, reattachValue, SharedProvider } from "./provider_server.ts";

const AWS = "registry.terraform.io/hashicorp/aws";

/** A stand-in provider: prints a reattach line naming its own pid (as `-debug` does), then serves until interrupted. */
async function fakeProvider(dir: string, name: string, { offersDebug = true } = {}): Promise<string> {
  const path = `${dir}/${name}`;
  const banner = [
    "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment variable:",
    `\tTF_REATTACH_PROVIDERS='{"${AWS}":{"Protocol":"grpc","ProtocolVersion":5,"Pid":$$,"Test":true}}'`,
  ].join("\n");
  await Deno.writeTextFile(
    path,
    offersDebug
      ? `#!/bin/sh\n[ "$1" = "-debug" ] || exit 9\ncat <<EOT\n${banner}\nEOT\nexec sleep 120\n`
      : `#!/bin/sh\necho "this provider has no debug mode" >&2\nexit 1\n`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test("the reattach value is read from a debug-mode provider's banner, and only when it is JSON", () => {
  const banner = `Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment variable ` +
    `with the following:\n\n\tTF_REATTACH_PROVIDERS='{"${AWS}":{"Protocol":"grpc","Pid":7}}'\n`;
  assert.equal(reattachValue(banner), `{"${AWS}":{"Protocol":"grpc","Pid":7}}`);
  assert.equal(reattachValue("Starting provider…"), null);
  assert.equal(reattachValue("TF_REATTACH_PROVIDERS='{not json}'"), null);
});

Deno.test("installedProviders finds each provider binary of a data directory by address and version", async () => {
  const data = await Deno.makeTempDir();
  const dir = `${data}/providers/${AWS}/5.100.0/linux_amd64`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/terraform-provider-aws_v5.100.0_x5`, "");
  await Deno.writeTextFile(`${dir}/LICENSE.txt`, "");
  const found = await installedProviders(data);
  assert.deepEqual([...found], [[`${AWS}/5.100.0`, `${dir}/terraform-provider-aws_v5.100.0_x5`]]);
  assert.equal((await installedProviders(`${data}/missing`)).size, 0);
});

Deno.test("a shared provider runs until stopped; one without a debug mode is left to Terraform", async () => {
  const dir = await Deno.makeTempDir();
  const provider = await SharedProvider.start(await fakeProvider(dir, "good"));
  assert.ok(provider, "started");
  const pid = JSON.parse(provider.reattach)[AWS].Pid as number;
  assert.deepEqual(provider.env, { TF_REATTACH_PROVIDERS: provider.reattach });
  assert.ok(alive(pid), "the provider serves until stopped");
  await provider.stop();
  assert.ok(!alive(pid), "stopped");
  assert.equal(await SharedProvider.start(await fakeProvider(dir, "plain", { offersDebug: false })), null);
});

Deno.test("a pool starts one process per provider binary and gives each data directory its reattach value", async () => {
  const bin = await Deno.makeTempDir();
  const binary = await fakeProvider(bin, "terraform-provider-aws_v5.100.0_x5");
  const dataDirs: string[] = [];
  for (let i = 0; i < 2; i++) {
    const data = await Deno.makeTempDir();
    const dir = `${data}/providers/${AWS}/5.100.0/linux_amd64`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.symlink(binary, `${dir}/terraform-provider-aws_v5.100.0_x5`);
    dataDirs.push(data);
  }
  const pool = await ProviderPool.start(dataDirs);
  try {
    assert.equal(pool.size, 1, "two roots with one provider version share one process");
    const [a, b] = dataDirs.map((d) => pool.envFor(d));
    assert.equal(a.TF_REATTACH_PROVIDERS, b.TF_REATTACH_PROVIDERS);
    assert.ok(alive(JSON.parse(a.TF_REATTACH_PROVIDERS)[AWS].Pid));
    assert.deepEqual(pool.envFor("/no/such/data"), {}, "a directory without providers attaches to nothing");
  } finally {
    await pool.stop();
  }
});
