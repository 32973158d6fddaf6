/**
 * deno task plan-comment — joins the Markdown plan sections that
 * `deploy <env> --plan --markdown` printed (one per environment) into one
 * comment, prints it (for the job summary) and, on a pull request, edits the
 * pull request's plan comment in place, or creates it the first time.
 *
 * Reads what GitHub Actions provides: GITHUB_EVENT_PATH (the pull request),
 * GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_SERVER_URL and GITHUB_RUN_ID, and
 * GITHUB_TOKEN (pass `${{ github.token }}`; the job needs
 * `pull-requests: write`). A fork's pull request gets a read-only token: the
 * comment is printed only, and says why its plans are offline.
 *
 * Example:
 *   deno task plan-comment --section plan-dev.md --section plan-staging.md --section plan-prod.md
 */
import { defineTask, TaskError } from "../lib/cli.ts";

export const task = defineTask({
  name: "plan-comment",
  summary: "Join each environment's Markdown plan into one sticky pull-request comment.",
  usage: "deno task plan-comment --section FILE [--section FILE]...",
  options: {
    section: {
      type: "string",
      multiple: true,
      value: "FILE",
      description: "A plan section printed by `deploy <env> --plan --markdown` (repeatable).",
    },
  },
  examples: ["deno task plan-comment --section plan-dev.md --section plan-prod.md"],
  async run({ options }) {
    const { log } = await import("../lib/log.ts");
    const { planComment, pullRequestFromEvent, upsertStickyComment } = await import("../lib/plan_report.ts");
    const env = (name: string) => Deno.env.get(name) ?? "";
    const sections = await Promise.all(
      options.section.map((file) =>
        Deno.readTextFile(file).catch(() =>
          `_No plan from \`${file}\`: its plan job failed before printing one; see the run's log._\n`
        )
      ),
    );
    const repository = env("GITHUB_REPOSITORY");
    const eventPath = env("GITHUB_EVENT_PATH");
    let event: unknown = null;
    if (eventPath) {
      try {
        event = JSON.parse(await Deno.readTextFile(eventPath));
      } catch (error) {
        throw new TaskError(`Cannot read the workflow event "${eventPath}": ${(error as Error).message}.`);
      }
    }
    const pr = pullRequestFromEvent(event, repository);
    const head = (event as { pull_request?: { head?: { sha?: string } } })?.pull_request?.head?.sha;
    const runUrl = env("GITHUB_RUN_ID")
      ? `${env("GITHUB_SERVER_URL") || "https://github.com"}/${repository}/actions/runs/${env("GITHUB_RUN_ID")}`
      : undefined;
    const body = planComment(sections, { commit: head ?? (env("GITHUB_SHA") || undefined), runUrl, fork: pr?.fork });
    console.log(body);
    if (!pr) {
      log.info("Not a pull request (no pull_request in GITHUB_EVENT_PATH): the plan is printed only.");
      return;
    }
    if (pr.fork) {
      log.info(`Pull request #${pr.number} comes from a fork, whose token may not comment: the plan is printed only.`);
      return;
    }
    const token = env("GITHUB_TOKEN");
    if (!token) {
      throw new TaskError(
        `Cannot comment on pull request #${pr.number}: GITHUB_TOKEN is not set. Pass it to the step (env: GITHUB_TOKEN: \${{ github.token }}).`,
      );
    }
    const result = await upsertStickyComment(
      { apiUrl: env("GITHUB_API_URL") || "https://api.github.com", repository, issue: pr.number, token },
      body,
    );
    log.step(result.action === "created" ? "Created" : "Updated", `the plan comment on pull request #${pr.number}`);
  },
});

if (import.meta.main) await task.main(Deno.args);
