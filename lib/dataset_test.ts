import assert from "node:assert/strict";
import { csvHeader, datasetProblem } from "./dataset.ts";

const columns = { textColumn: "text", labelColumn: "label" };
const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("csvHeader reads quoted names with commas and doubled quotes", () => {
  assert.deepEqual(csvHeader('"a, b",c,"say ""hi"""'), ["a, b", "c", 'say "hi"']);
});

Deno.test("datasetProblem accepts a header with both columns, with a BOM or CRLF", () => {
  assert.equal(datasetProblem("d.csv", bytes("\uFEFFlabel,text\r\nx,y\r\n"), columns), null);
});

Deno.test("datasetProblem names the config field of a missing column and lists the header briefly", () => {
  const wide = Array.from({ length: 12 }, (_, i) => `c${i}`).join(",");
  assert.equal(
    datasetProblem("d.csv", bytes(`text,${wide}\n`), columns),
    'The dataset "d.csv" has no column "label" (its header has "text", "c0", "c1", "c2", "c3", "c4", "c5", "c6" and 5 more); set pipeline.dataset.labelColumn in the config to one of them.',
  );
});

Deno.test("datasetProblem tells binary and non-UTF-8 data from text", () => {
  assert.match(datasetProblem("d.csv", new Uint8Array([0xff, 0xfe, 0x00, 0x41]), columns) ?? "", /is not UTF-8 text/);
  assert.match(datasetProblem("d.csv", bytes("text,label\n\0\0"), columns) ?? "", /is binary, not CSV text/);
});
