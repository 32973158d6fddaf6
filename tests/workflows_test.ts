/**
 * The supply-chain rules of `.github/`: every action pinned to a full commit
 * SHA with its version in a comment (Dependabot keeps both current), OIDC
 * tokens granted per job rather than to the whole workflow, and Dependabot
 * watching every ecosystem the project pins.
 */
import assert from "node:assert/strict";
import { REPO } from "./helpers.ts";

const DIR = `${REPO}/.github/workflows`;
const workflows = [...Deno.readDirSync(DIR)]
  .filter((e) => /\.ya?ml$/.test(e.name))
  .map((e) => ({ name: e.name, text: Deno.readTextFileSync(`${DIR}/${e.name}`) }));

Deno.test("every action is pinned to a full commit SHA with its version in a comment", () => {
  const uses = workflows.flatMap((w) =>
    w.text.split("\n").filter((l) => /^\s*(-\s+)?uses:/.test(l)).map((l) => ({ file: w.name, line: l.trim() }))
  );
  assert.ok(uses.length >= 10, `found ${uses.length} uses: lines`);
  const unpinned = uses.filter(({ line }) =>
    !/uses: (\.\/\S+|[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+)$/.test(line.replace(/^-\s+/, ""))
  );
  assert.deepEqual(unpinned, [], "actions pinned by tag or branch");
});

Deno.test("id-token: write is granted only to jobs, never at workflow level", () => {
  for (const { name, text } of workflows) {
    const top = /^permissions:\n((?: {2}.*\n)+)/m.exec(text)?.[1] ?? "";
    assert.doesNotMatch(top, /id-token/, `${name}: workflow-level permissions grant id-token`);
    const jobsWithOidc = text.match(/^ {6}id-token: write/gm)?.length ?? 0;
    const credentialSteps = text.match(/uses: aws-actions\/configure-aws-credentials@/g)?.length ?? 0;
    assert.ok(jobsWithOidc >= (credentialSteps > 0 ? 1 : 0), `${name}: a job assumes a role without id-token`);
  }
});

Deno.test("Dependabot watches actions, the image's Python lock, its base image and the Terraform providers", async () => {
  const text = await Deno.readTextFile(`${REPO}/.github/dependabot.yml`);
  const ecosystems = [...text.matchAll(/package-ecosystem: (\S+)/g)].map((m) => m[1]).sort();
  assert.deepEqual(ecosystems, ["docker", "github-actions", "pip", "terraform"]);
  for (const dir of ["/training-pipeline", "/terraform/backend", "/terraform/operations", "/terraform/main"]) {
    assert.ok(text.includes(`${dir}\n`) || text.includes(`${dir} `), `dependabot covers ${dir}`);
  }
});
