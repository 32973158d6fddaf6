/**
 * deno task build — build and push the training image once per content hash
 * of its context (training-pipeline/ as its .dockerignore lets it through,
 * plus the Dockerfile); prints the image pinned by digest. Skips the build
 * when the registry already has the tag.
 *
 * Steps: hash the context → account guard (operations) → ECR DescribeImages
 * → if missing: docker info → ECR GetAuthorizationToken → docker login
 * (password on stdin) → docker build → docker push → read back the digest.
 *
 * Example:
 *   deno task build --json
 */
import { defineTask } from "../lib/cli.ts";
import { AWS_OPTIONS } from "../lib/task_options.ts";

export const task = defineTask({
  name: "build",
  summary: "Build and push the training image (tag = content hash), print its digest.",
  usage: "deno task build [--json]",
  description:
    "Run from the repository root. Needs a running Docker engine only when the registry does not have the tag yet.",
  options: {
    json: { type: "boolean", description: "Print {tag, digest, built, imageUri} as JSON on stdout." },
    ...AWS_OPTIONS,
  },
  examples: ["deno task build", "deno task build --json"],
  async run({ options }) {
    const { loadContext } = await import("../lib/context.ts");
    const { buildImage } = await import("../lib/image.ts");
    const ctx = await loadContext(options);
    const result = await buildImage(ctx);
    console.log(options.json ? JSON.stringify(result, null, 2) : result.imageUri);
  },
});

if (import.meta.main) await task.main(Deno.args);
