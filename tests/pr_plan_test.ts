/**
 * The pull-request plan: `deploy <env> --plan --markdown` in CI mode (the
 * environment's credentials, checked against the fake STS; terraform a
 * recording stand-in) and `plan-comment` against a fake GitHub API, as
 * processes with the permissions deno.json gives them.
 */
import assert from "node:assert/strict";
import { FORK_NOTE, PLAN_MARKER } from "../lib/plan_report.ts";
import { fourAccountWorkspace, isolatedEnv, runTask, stubCalls, stubCommand } from "./helpers.ts";

const TERRAFORM = `
case "$*" in
  *" init "*) exit 0 ;;
  *" plan "*) exit 2 ;;
  *" show -json "*) echo '{"format_version":"1.2","resource_changes":[{"address":"module.bucket.aws_s3_bucket.this","change":{"actions":["create"]}},{"address":"aws_iam_role.old","change":{"actions":["delete","create"]}}]}' ;;
  *) echo "unexpected: $*" >&2; exit 9 ;;
esac`;

Deno.test("in CI, deploy <env> --plan --markdown plans read-only with the environment's credentials and prints Markdown", async () => {
  const { dir, aws } = await fourAccountWorkspace(["terraform"]);
  try {
    const bin = await stubCommand(dir, "terraform", TERRAFORM);
    const env = {
      ...isolatedEnv(dir),
      ...aws.endpointEnv(),
      PATH: `${bin}:${Deno.env.get("PATH")}`,
      CI: "true",
      GITHUB_ACTIONS: "true",
      AWS_ACCESS_KEY_ID: "AKIDDEV",
      AWS_SECRET_ACCESS_KEY: "fake",
    };
    const task = (args: string[]) => runTask("deploy", args, { cwd: dir, env, clearEnv: true });

    const run = await task(["dev", "--plan", "--markdown"]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stdout, /^\| dev \| 2 \| 0 \| 1 \| 0 \| changes pending \|$/m);
    assert.match(run.stdout, /^- replace `aws_iam_role\.old`$/m);
    assert.doesNotMatch(run.stdout, /offline/, "an online plan says nothing about offline");
    const calls = await stubCalls(dir, "terraform");
    const plans = calls.filter((c) => / plan /.test(` ${c} `));
    assert.equal(plans.length, 1);
    assert.match(plans[0], /-lock=false/, "a plan role may not write the state lock");
    assert.ok(!calls.some((c) => / apply /.test(` ${c} `)), "nothing applied");
    assert.equal(aws.callsTo("sts", "GetCallerIdentity").length, 1);

    const wrong = await task(["staging", "--plan", "--markdown"]);
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stderr,
      /error: Cannot plan "staging": the environment's credentials belong to account 222222222222 .*, but .* names 333333333333 for "staging"\./,
    );

    const usage = await task(["dev", "--markdown"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--markdown only plans: add --plan/);

    const offline = await task(["prod", "--plan", "--markdown", "--offline"]);
    assert.equal(offline.code, 3, offline.stderr);
    assert.match(offline.stdout, /^> Planned offline: from empty state and without AWS credentials/m);
    assert.match(offline.stdout, /^\| prod \(offline\) \| 2 \| 0 \| 1 \|/m);
  } finally {
    await aws.close();
  }
});

/** A fake of GitHub's issue-comment API; records each request. */
function fakeGitHub(options: { status?: number } = {}) {
  const comments: { id: number; body: string; user: string }[] = [
    { id: 1, body: "Looks good to me", user: "reviewer" },
  ];
  const requests: { method: string; path: string; auth: string | null }[] = [];
  let next = 100;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    requests.push({ method: req.method, path: url.pathname + url.search, auth: req.headers.get("authorization") });
    if (options.status) return Response.json({ message: "Resource not accessible by integration" }, { status: 403 });
    const list = /^\/repos\/acme\/ml\/issues\/7\/comments$/.exec(url.pathname);
    const one = /^\/repos\/acme\/ml\/issues\/comments\/(\d+)$/.exec(url.pathname);
    if (list && req.method === "GET") {
      const page = Number(url.searchParams.get("page") ?? 1);
      return Response.json(page === 1 ? comments : []);
    }
    if (list && req.method === "POST") {
      const comment = { id: next++, body: (await req.json()).body, user: "github-actions[bot]" };
      comments.push(comment);
      return Response.json(comment, { status: 201 });
    }
    if (one && req.method === "PATCH") {
      const comment = comments.find((c) => c.id === Number(one[1]));
      if (!comment) return Response.json({ message: "Not Found" }, { status: 404 });
      comment.body = (await req.json()).body;
      return Response.json(comment);
    }
    return Response.json({ message: "unexpected" }, { status: 400 });
  });
  const url = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  return { url, comments, requests, close: () => server.shutdown() };
}

async function commentWorkspace(github: string, fork = false) {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/event.json`,
    JSON.stringify({
      pull_request: {
        number: 7,
        head: { sha: "0123456789abcdef0123", repo: { full_name: fork ? "someone/ml" : "acme/ml" } },
      },
    }),
  );
  const env = {
    ...isolatedEnv(dir),
    GITHUB_ACTIONS: "true",
    CI: "true",
    GITHUB_API_URL: github,
    GITHUB_REPOSITORY: "acme/ml",
    GITHUB_EVENT_PATH: `${dir}/event.json`,
    GITHUB_SERVER_URL: "https://github.example",
    GITHUB_RUN_ID: "42",
    GITHUB_TOKEN: "ghs_secret-token",
  };
  const comment = async (sections: Record<string, string>, extra: Record<string, string> = {}) => {
    const args: string[] = [];
    for (const [name, text] of Object.entries(sections)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      args.push("--section", `${dir}/${name}`);
    }
    return runTask("plan-comment", args, { cwd: dir, env: { ...env, ...extra }, clearEnv: true });
  };
  return { dir, comment };
}

Deno.test("plan-comment keeps one plan comment per pull request, edited in place on every push", async () => {
  const github = fakeGitHub();
  try {
    const { comment } = await commentWorkspace(github.url);
    const first = await comment({ "plan-dev.md": "| dev | 1 |\n", "plan-prod.md": "| prod | 3 |\n" });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /Created the plan comment on pull request #7/);
    assert.ok(first.stdout.startsWith(`${PLAN_MARKER}\n### Terraform plan of 0123456789ab\n`), first.stdout);
    assert.match(first.stdout, /\| dev \| 1 \|\n\n\| prod \| 3 \|/);
    assert.match(first.stdout, /\[The plan run\]\(https:\/\/github\.example\/acme\/ml\/actions\/runs\/42\)/);

    const second = await comment({ "plan-dev.md": "| dev | 0 |\n" });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /Updated the plan comment on pull request #7/);

    const plans = github.comments.filter((c) => c.body.includes(PLAN_MARKER));
    assert.equal(plans.length, 1, "one plan comment, not one per run");
    assert.match(plans[0].body, /\| dev \| 0 \|/);
    assert.doesNotMatch(plans[0].body, /prod/);
    assert.equal(github.comments[0].body, "Looks good to me", "other comments are left alone");
    assert.deepEqual(
      github.requests.map((r) => `${r.method} ${r.path}`),
      [
        "GET /repos/acme/ml/issues/7/comments?per_page=100&page=1",
        "POST /repos/acme/ml/issues/7/comments",
        "GET /repos/acme/ml/issues/7/comments?per_page=100&page=1",
        `PATCH /repos/acme/ml/issues/comments/${plans[0].id}`,
      ],
    );
    assert.ok(github.requests.every((r) => r.auth === "Bearer ghs_secret-token"));
    for (const run of [first, second]) {
      assert.ok(!`${run.stdout}${run.stderr}`.includes("ghs_secret"), "no token in logs");
    }

    const missing = await comment({ "plan-dev.md": "| dev | 0 |\n" }, { GITHUB_TOKEN: "" });
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /error: Cannot comment on pull request #7: GITHUB_TOKEN is not set\. Pass it to the step/,
    );
  } finally {
    await github.close();
  }
});

Deno.test("a fork's pull request gets its plans printed, marked offline, and no comment attempt", async () => {
  const github = fakeGitHub();
  try {
    const { comment } = await commentWorkspace(github.url, true);
    const run = await comment({ "plan-dev.md": "| dev (offline) | 9 |\n" }, { GITHUB_TOKEN: "" });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes(`> ${FORK_NOTE}`));
    assert.match(
      run.stderr,
      /Pull request #7 comes from a fork, whose token may not comment: the plan is printed only\./,
    );
    assert.deepEqual(github.requests, []);
  } finally {
    await github.close();
  }
});

Deno.test("plan-comment names the missing permission when GitHub refuses the comment", async () => {
  const github = fakeGitHub({ status: 403 });
  try {
    const { comment } = await commentWorkspace(github.url);
    const run = await comment({ "plan-dev.md": "| dev | 1 |\n" });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /error: Cannot update the plan comment on pull request #7 of "acme\/ml": GitHub answered 403 Resource not accessible by integration\. Give the job "permissions: pull-requests: write"/,
    );
    assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
  } finally {
    await github.close();
  }
});
