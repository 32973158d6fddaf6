/**
 * Local serving as a person meets it: `deno task demo` ends with predictions
 * from the local server, and `deno task serve local` serves the latest model
 * of the local registry until Ctrl-C. Both run as real processes with the
 * permissions deno.json gives them, in a fresh workspace (the project's
 * virtual environment is shared through a symlink to save the install).
 */
import assert from "node:assert/strict";
import { PythonEnv } from "../lib/python_env.ts";
import { parseCsv } from "../lib/csv.ts";
import { predictionsProblem, sampleTexts } from "../lib/serving/predictions.ts";
import { firstLine, toCsv } from "../lib/serving/local.ts";
import { REPO, runTask, spawnTask, writeConfig } from "./helpers.ts";

async function workspace(): Promise<string> {
  const venv = await PythonEnv.ensure(REPO);
  const dir = await Deno.makeTempDir();
  await Deno.symlink(`${REPO}/training-pipeline`, `${dir}/training-pipeline`);
  await Deno.mkdir(`${dir}/.mlops`);
  await Deno.symlink(venv.dir, `${dir}/.mlops/venv`);
  await writeConfig(dir);
  return dir;
}

Deno.test({
  name: "demo ends with predictions from the local server; serve local serves the latest model until Ctrl-C",
  sanitizeResources: false,
  async fn() {
    const dir = await workspace();
    const demo = await runTask("demo", ["--skip-plan"], { cwd: dir, env: { NO_COLOR: "1" } });
    assert.equal(demo.code, 0, demo.stderr);
    const texts = sampleTexts(await Deno.readTextFile(`${REPO}/training-pipeline/data/sample.csv`), "text", 3);
    const table = demo.stdout.slice(demo.stdout.indexOf("Predictions of http://127.0.0.1:"));
    const rows = table.split("\n").slice(3, 6);
    assert.equal(rows.length, 3, demo.stdout);
    rows.forEach((row, i) => {
      assert.ok(row.startsWith(texts[i].slice(0, 57)), row);
      assert.match(row, /(Orthopedic|Cardiovascular \/ Pulmonary|Neurology|Gastroenterology|Urology)\s+0\.\d\d$/);
    });
    assert.match(demo.stderr, /Serving +model version 1 at http:\/\/127\.0\.0\.1:\d+/);

    const child = spawnTask("serve", ["local"], { cwd: dir, env: { NO_COLOR: "1" } });
    const { line: url, rest } = await firstLine(child.stdout);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${url}/invocations`, {
      method: "POST",
      headers: { "Content-Type": "text/csv" },
      body: toCsv(texts),
    });
    assert.equal(response.status, 200);
    assert.equal(predictionsProblem(await response.json(), 3), null);
    child.kill("SIGINT");
    const status = await child.status;
    await rest;
    assert.equal(status.code, 130);
    assert.equal(await fetch(`${url}/ping`).then(() => "up", () => "down"), "down", "Ctrl-C stopped the server");
  },
});

Deno.test("serve local without a trained model says how to get one", async () => {
  const dir = await workspace();
  const result = await runTask("serve", ["local"], { cwd: dir, env: { NO_COLOR: "1" } });
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr.trim(),
    'error: The local registry has no model in "mlops-models" yet. Train one first: deno task pipeline local',
  );
});

Deno.test("CSV: quotes, doubled quotes and newlines inside fields; samples come from the text column", () => {
  assert.deepEqual(parseCsv('text,label\n"a, ""b""\nc",x\nplain,y\r\n'), [["text", "label"], ['a, "b"\nc', "x"], [
    "plain",
    "y",
  ]]);
  assert.deepEqual(sampleTexts("label,text\nx,one\ny,\nz,two\nw,three\n", "text", 2), ["one", "two"]);
  assert.deepEqual(sampleTexts("a,b\n1,2\n", "text", 2), []);
  assert.equal(toCsv(['say "hi", then go', "two"]), '"say ""hi"", then go"\n"two"\n');
});

Deno.test("an answer is checked: labels known, one prediction per text, probabilities sum to 1", () => {
  const labels = ["a", "b"];
  const good = { labels, predictions: [{ label: "a", probabilities: { a: 0.7, b: 0.3 } }] };
  assert.equal(predictionsProblem(good, 1), null);
  assert.equal(predictionsProblem(good, 2), "1 predictions for 2 texts");
  assert.equal(
    predictionsProblem({ labels, predictions: [{ label: "c", probabilities: { a: 1, b: 0 } }] }, 1),
    'prediction 1 has the unknown label "c"',
  );
  assert.equal(
    predictionsProblem({ labels, predictions: [{ label: "a", probabilities: { a: 0.7, b: 0.7 } }] }, 1),
    "the probabilities of prediction 1 do not cover the 2 labels and sum to 1",
  );
  assert.match(predictionsProblem({ error: "x" }, 1)!, /^expected \{"labels"/);
});
