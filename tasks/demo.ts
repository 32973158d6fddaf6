/**
 * deno task demo — the first command on a fresh machine, no AWS account
 * needed: runs the training pipeline locally on the sample data (the same
 * definition SageMaker runs), plans the dev environment offline, then serves
 * the model it registered with the image's own `serve` program and prints its
 * predictions for three sample texts.
 *
 * Example:
 *   deno task demo
 */
import { defineTask, ExitCode, TaskError } from "../lib/cli.ts";
import type { TaskContext } from "../lib/context.ts";
import { TERRAFORM_OPTIONS } from "../lib/task_options.ts";

export const task = defineTask({
  name: "demo",
  summary: "Run the pipeline locally on the sample data, plan dev offline, serve the model (no AWS account).",
  usage: "deno task demo [--skip-plan]",
  options: {
    "skip-plan": { type: "boolean", description: "Skip the offline Terraform plan." },
    "provider-mirror": TERRAFORM_OPTIONS["provider-mirror"],
  },
  examples: ["deno task demo", "deno task demo --skip-plan"],
  async run({ options }) {
    const { loadContext } = await import("../lib/context.ts");
    const { localRun, describeLocalRun, localRunFailure } = await import("../lib/pipeline/commands.ts");
    const { log } = await import("../lib/log.ts");
    const ctx = await loadContext({ ...options, offline: true });
    const mirror = ctx.runnerOptions.providerMirror;
    if (mirror && !options["skip-plan"]) {
      // Before the pipeline's minute of work, not after it.
      const { providerMirrorProblem } = await import("../lib/terraform.ts");
      const problem = await providerMirrorProblem(mirror);
      if (problem) throw new TaskError(`${problem}.`);
    }
    log.info("1/3  Training pipeline, run locally on the sample data (no AWS)\n");
    const result = await localRun(ctx, { env: "dev", params: [] });
    console.log(`\n${describeLocalRun(result)}\n`);
    if (result.status !== "Succeeded") throw localRunFailure(result);
    if (!options["skip-plan"]) {
      log.info("2/3  Infrastructure of dev, planned offline (no AWS)\n");
      await planDev(ctx);
    }
    log.info("3/3  The model, served locally by the image's own serve program (no AWS, no Docker)\n");
    const { serveLocal } = await import("../lib/serving/local.ts");
    const { describePredictions, sampleTexts } = await import("../lib/serving/predictions.ts");
    const { path, textColumn } = ctx.config.data.pipeline.dataset;
    const texts = sampleTexts(await Deno.readTextFile(path), textColumn, 3);
    await using server = await serveLocal(ctx.config, {
      repoDir: Deno.cwd(),
      version: result.registered?.version,
    });
    log.step("Serving", `model version ${server.version} at ${server.url}`);
    const predictions = await server.invoke(texts);
    console.log(`\nPredictions of ${server.url}/invocations:\n${describePredictions(texts, predictions)}\n`);
    console.log("Serve it yourself: deno task serve local (Ctrl-C stops it).");
    console.log(
      "Next: put your account ids in mlops.config.json, then `deno task doctor` and `deno task bootstrap`.",
    );
    return ExitCode.ok;
  },
});

/** Step 2: the offline plan of dev; without a registry or mirror, says how to get it and goes on. */
async function planDev(ctx: TaskContext): Promise<void> {
  const { deploy, describeSummary } = await import("../lib/deploy.ts");
  const { log } = await import("../lib/log.ts");
  try {
    const planned = await deploy(ctx, "dev", { planOnly: true, yes: false, quiet: true });
    console.log(`\nOffline plan of dev: ${describeSummary(planned.summary)}\n`);
  } catch (error) {
    // The pipeline (the main job) ran; without a registry or mirror the plan cannot, so say how to get it.
    const { isProviderInstallFailure } = await import("../lib/terraform.ts");
    if (ctx.runnerOptions.providerMirror || !isProviderInstallFailure((error as Error).message)) throw error;
    log.warn(
      "Skipped the offline plan: Terraform cannot install the AWS provider here (no registry access). " +
        "Point MLOPS_PROVIDER_MIRROR (or --provider-mirror) at a provider mirror and re-run: deno task demo",
    );
  }
}

if (import.meta.main) await task.main(Deno.args);
