/**
 * What a serving smoke test sends and checks, as pure functions: sample texts
 * taken from the configured dataset, the check of an `/invocations` answer
 * (the JSON shape `training-pipeline/src/serve.py` writes), and the table a
 * person reads.
 *
 * @example
 * ```ts
 * import { predictionsProblem } from "./predictions.ts";
 * const answer = { labels: ["a", "b"], predictions: [{ label: "a", probabilities: { a: 0.9, b: 0.1 } }] };
 * console.log(predictionsProblem(answer, 1)); // null: a valid answer for one text
 * ```
 * @module
 */
import { parseCsv } from "../csv.ts";
import { table } from "../log.ts";

/** The JSON answer of `POST /invocations`. */
export interface Predictions {
  labels: string[];
  predictions: { label: string; probabilities: Record<string, number> }[];
}

/** Why an answer is not a valid prediction of `count` texts, or null when it is. */
export function predictionsProblem(answer: unknown, count: number): string | null {
  const a = answer as Partial<Predictions> | null;
  if (!a || !Array.isArray(a.labels) || !Array.isArray(a.predictions)) {
    return `expected {"labels": [...], "predictions": [...]}, got ${JSON.stringify(answer)?.slice(0, 80)}`;
  }
  if (a.predictions.length !== count) return `${a.predictions.length} predictions for ${count} texts`;
  for (const [i, p] of a.predictions.entries()) {
    if (!p || !a.labels.includes(p.label)) {
      return `prediction ${i + 1} has the unknown label ${JSON.stringify(p?.label)}`;
    }
    const values = Object.values(p.probabilities ?? {});
    const sum = values.reduce((s, v) => s + v, 0);
    if (values.length !== a.labels.length || Math.abs(sum - 1) > 1e-3) {
      return `the probabilities of prediction ${i + 1} do not cover the ${a.labels.length} labels and sum to 1`;
    }
  }
  return null;
}

/** The first `count` non-empty texts of `column` in a CSV dataset. */
export function sampleTexts(csv: string, column: string, count: number): string[] {
  const [header, ...rows] = parseCsv(csv);
  const index = header?.indexOf(column) ?? -1;
  if (index < 0) return [];
  return rows.map((r) => (r[index] ?? "").trim()).filter(Boolean).slice(0, count);
}

/** A table of texts (shortened) with their predicted label and its probability. */
export function describePredictions(texts: string[], answer: Predictions): string {
  return table(
    ["text", "predicted", "probability"],
    answer.predictions.map((p, i) => [
      texts[i].length > 60 ? `${texts[i].slice(0, 57)}...` : texts[i],
      p.label,
      p.probabilities[p.label].toFixed(2),
    ]),
  );
}
