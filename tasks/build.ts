/**
 * deno task build — build and push the training image once per content hash
 * of its context; prints the digest. Skips the build when the registry
 * already has the tag.
 *
 * Example:
 *   deno task build --json
 */
import { defineTask, notBuiltYet } from "../lib/cli.ts";
import { AWS_OPTIONS } from "../lib/task_options.ts";

export const task = defineTask({
  name: "build",
  summary: "Build and push the training image (tag = content hash), print its digest.",
  usage: "deno task build [--json]",
  options: {
    json: { type: "boolean", description: "Print {tag, digest, built} as JSON on stdout." },
    ...AWS_OPTIONS,
  },
  examples: ["deno task build", "deno task build --json"],
  run() {
    notBuiltYet("deno task build", "issue #6");
  },
});

if (import.meta.main) await task.main(Deno.args);
