/**
 * Plans for pull requests: `deploy --plan --markdown` prints one Markdown
 * section per environment, and `deno task plan-comment` joins the sections into
 * one sticky comment on the pull request, found again by a hidden marker and
 * edited in place on every push rather than repeated (as Atlantis and similar
 * tools do). GitHub is reached through its REST API at `GITHUB_API_URL`, which
 * is how the tests point it at a fake.
 *
 * @example
 * ```ts
 * import { planComment, planSection } from "./plan_report.ts";
 * const section = planSection(
 *   [{
 *     environment: "dev",
 *     pending: true,
 *     summary: { add: 2, change: 0, destroy: 0, replace: [], delete: [], changed: ["aws_s3_bucket.ml"], outputs: [], drifted: [] },
 *   }],
 *   { offline: false },
 * );
 * console.log(planComment([section], { commit: "0123456789abcdef" }));
 * ```
 * @module
 */
import { TaskError } from "./cli.ts";
import type { Environment } from "./config.ts";
import { type PlanSummary, planVerdict } from "./plan.ts";

/** The hidden line that marks the plan comment, so later runs edit it instead of adding another. */
export const PLAN_MARKER = "<!-- mlops-plan -->";

/** One environment's plan, as `planAll` returns it. */
export interface PlanRow {
  environment: Environment;
  summary: PlanSummary;
  pending: boolean;
}

/** Where a plan came from, for the reader. */
export interface SectionOptions {
  /** Planned offline (from empty state, no credentials). */
  offline: boolean;
}

/** The sentence above an offline plan. */
export const OFFLINE_NOTE =
  "Planned offline: from empty state and without AWS credentials, so it shows everything the code defines, not what the account lacks.";

/** The sentence above the plans of a fork's pull request. */
export const FORK_NOTE =
  "This pull request comes from a fork: GitHub gives it no AWS credentials (and no token that may comment), so its plans are offline.";

function addresses(kind: string, list: string[]): string[] {
  return list.map((address) => `- ${kind} \`${address}\``);
}

function drifts(summary: PlanSummary): string[] {
  return summary.drifted.map((d) =>
    `- drifted \`${d.address}\`${d.attributes.length > 0 ? ` (${d.attributes.join(", ")})` : ""}`
  );
}

/** The Markdown section of one or more environments' plans. */
export function planSection(rows: PlanRow[], options: SectionOptions): string {
  const lines = [
    "| environment | add | change | destroy | drifted | status |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    ...rows.map(({ environment, summary }) =>
      `| ${environment}${
        options.offline ? " (offline)" : ""
      } | ${summary.add} | ${summary.change} | ${summary.destroy} | ${summary.drifted.length} | ${
        planVerdict(summary)
      } |`
    ),
  ];
  const notes = rows.flatMap(({ environment, summary }) => {
    const items = [
      ...addresses("replace", summary.replace),
      ...addresses("delete", summary.delete),
      ...drifts(summary),
    ];
    return items.length > 0 ? ["", `**${environment}**`, "", ...items] : [];
  });
  return [...(options.offline ? [`> ${OFFLINE_NOTE}`, ""] : []), ...lines, ...notes].join("\n") + "\n";
}

/** The whole comment: the marker, a heading naming the commit, and each environment's section. */
export function planComment(sections: string[], context: { commit?: string; runUrl?: string; fork?: boolean }): string {
  const commit = context.commit ? ` of ${context.commit.slice(0, 12)}` : "";
  const fork = context.fork ? `> ${FORK_NOTE}\n\n` : "";
  const run = context.runUrl ? `\n\n[The plan run](${context.runUrl}); this comment is updated on every push.` : "";
  const body = sections.length > 0 ? sections.map((s) => s.trimEnd()).join("\n\n") : "No environment printed a plan.";
  return `${PLAN_MARKER}\n### Terraform plan${commit}\n\n${fork}${body}${run}\n`;
}

/** The pull request a workflow event is about, or null for other events. */
export interface PullRequest {
  number: number;
  /** Opened from a fork: its token may not write, and it gets no AWS credentials. */
  fork: boolean;
}

/** Reads the pull request from a GitHub event payload (`GITHUB_EVENT_PATH`). */
export function pullRequestFromEvent(event: unknown, repository: string): PullRequest | null {
  const pr = (event as { pull_request?: { number?: number; head?: { repo?: { full_name?: string } | null } } })
    ?.pull_request;
  if (!pr || typeof pr.number !== "number") return null;
  return { number: pr.number, fork: pr.head?.repo?.full_name !== repository };
}

/** Where the comment goes. */
export interface CommentTarget {
  /** `GITHUB_API_URL`, e.g. https://api.github.com. */
  apiUrl: string;
  /** `owner/name`. */
  repository: string;
  issue: number;
  token: string;
}

/** What {@linkcode upsertStickyComment} did. */
export interface CommentResult {
  action: "created" | "updated";
  id: number;
}

/**
 * Edits the comment carrying `marker` on the pull request, or creates it when
 * there is none, so a pull request has one plan comment however often it runs.
 */
export async function upsertStickyComment(
  target: CommentTarget,
  body: string,
  marker = PLAN_MARKER,
): Promise<CommentResult> {
  const base = `${target.apiUrl.replace(/\/$/, "")}/repos/${target.repository}`;
  const call = async (method: string, url: string, payload?: unknown) => {
    const response = await fetch(url, {
      method,
      headers: {
        accept: "application/vnd.github+json",
        authorization: `Bearer ${target.token}`,
        "x-github-api-version": "2022-11-28",
        ...(payload ? { "content-type": "application/json" } : {}),
      },
      body: payload ? JSON.stringify(payload) : undefined,
    });
    const text = await response.text();
    if (!response.ok) {
      const reason = (() => {
        try {
          return (JSON.parse(text) as { message?: string }).message ?? text;
        } catch {
          return text;
        }
      })();
      throw new TaskError(
        `Cannot update the plan comment on pull request #${target.issue} of "${target.repository}": GitHub answered ${response.status} ${reason}. ` +
          `Give the job "permissions: pull-requests: write" and pass GITHUB_TOKEN (fork pull requests get a read-only token).`,
      );
    }
    return JSON.parse(text);
  };
  for (let page = 1;; page++) {
    const comments = await call("GET", `${base}/issues/${target.issue}/comments?per_page=100&page=${page}`) as {
      id: number;
      body?: string;
    }[];
    const mine = comments.find((c) => c.body?.includes(marker));
    if (mine) {
      await call("PATCH", `${base}/issues/comments/${mine.id}`, { body });
      return { action: "updated", id: mine.id };
    }
    if (comments.length < 100) break;
  }
  const created = await call("POST", `${base}/issues/${target.issue}/comments`, { body }) as { id: number };
  return { action: "created", id: created.id };
}
