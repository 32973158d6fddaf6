/**
 * deno task demo — the first command on a fresh machine, no AWS account
 * needed: runs the training pipeline locally on the sample data (the same
 * definition SageMaker runs), then plans the dev environment offline.
 *
 * Example:
 *   deno task demo
 */
import { defineTask, ExitCode, TaskError } from "../lib/cli.ts";
import { TERRAFORM_OPTIONS } from "../lib/task_options.ts";

export const task = defineTask({
  name: "demo",
  summary: "Run the pipeline locally on the sample data and plan dev offline (no AWS account).",
  usage: "deno task demo [--skip-plan]",
  options: {
    "skip-plan": { type: "boolean", description: "Only run the pipeline; skip the offline Terraform plan." },
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
    log.info("1/2  Training pipeline, run locally on the sample data (no AWS)\n");
    const result = await localRun(ctx, { env: "dev", params: [] });
    console.log(`\n${describeLocalRun(result)}\n`);
    if (result.status !== "Succeeded") throw localRunFailure(result);
    if (options["skip-plan"]) return ExitCode.ok;
    const { deploy, describeSummary } = await import("../lib/deploy.ts");
    log.info("2/2  Infrastructure of dev, planned offline (no AWS)\n");
    let planned;
    try {
      planned = await deploy(ctx, "dev", { planOnly: true, yes: false, quiet: true });
    } catch (error) {
      // The pipeline (the main job) ran; without a registry or mirror the plan cannot, so say how to get it.
      const { isProviderInstallFailure } = await import("../lib/terraform.ts");
      if (ctx.runnerOptions.providerMirror || !isProviderInstallFailure((error as Error).message)) {
        throw error;
      }
      log.warn(
        "Skipped the offline plan: Terraform cannot install the AWS provider here (no registry access). " +
          "Point MLOPS_PROVIDER_MIRROR (or --provider-mirror) at a provider mirror and re-run: deno task demo",
      );
      return ExitCode.ok;
    }
    console.log(`\nOffline plan of dev: ${describeSummary(planned.summary)}`);
    console.log(
      "Next: put your account ids in mlops.config.json, then `deno task doctor` and `deno task bootstrap`.",
    );
    return ExitCode.ok;
  },
});

if (import.meta.main) await task.main(Deno.args);
