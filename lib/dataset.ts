/**
 * The training dataset, checked before anything runs on it: a readable file,
 * UTF-8 text, and a header row naming the configured text and label columns.
 * Each problem is one sentence naming the config field that fixes it.
 *
 * @example
 * ```ts
 * import { datasetProblem } from "./dataset.ts";
 * const bytes = new TextEncoder().encode("text,label\nhello,a\n");
 * console.log(datasetProblem("data.csv", bytes, { textColumn: "text", labelColumn: "label" })); // null
 * ```
 * @module
 */
import { TaskError } from "./cli.ts";
import { parseCsv } from "./csv.ts";

/** The dataset settings of the config (`pipeline.dataset`). */
export interface DatasetColumns {
  textColumn: string;
  labelColumn: string;
}

/** At most this many header names are quoted back in a message. */
const MAX_NAMES = 8;

/** The names of a CSV header line (RFC 4180 quoting), trimmed. */
export function csvHeader(line: string): string[] {
  return (parseCsv(line)[0] ?? [""]).map((name) => name.trim());
}

function shown(names: string[]): string {
  const clip = (n: string) => JSON.stringify(n.length > 40 ? `${n.slice(0, 37)}...` : n);
  const listed = names.slice(0, MAX_NAMES).map(clip).join(", ");
  return names.length > MAX_NAMES ? `${listed} and ${names.length - MAX_NAMES} more` : listed;
}

/**
 * What is wrong with a dataset's bytes, as the sentence a user reads, or null when its header
 * has both configured columns.
 */
export function datasetProblem(path: string, bytes: Uint8Array, columns: DatasetColumns): string | null {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, 64 * 1024));
  } catch {
    // A cut in the middle of a character at the 64 KiB boundary is not binary data.
    text = new TextDecoder("utf-8").decode(bytes.subarray(0, 64 * 1024));
    if ((text.match(/\uFFFD/g)?.length ?? 0) > 1 || bytes.length <= 64 * 1024) {
      return `The dataset "${path}" is not UTF-8 text; set pipeline.dataset.path to a CSV file with a header row.`;
    }
  }
  if (text.includes("\0")) {
    return `The dataset "${path}" is binary, not CSV text; set pipeline.dataset.path to a CSV file with a header row.`;
  }
  const header = csvHeader(text.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0]);
  for (const [field, name] of [["textColumn", columns.textColumn], ["labelColumn", columns.labelColumn]] as const) {
    if (!header.includes(name)) {
      return `The dataset "${path}" has no column "${name}" (its header has ${shown(header)}); ` +
        `set pipeline.dataset.${field} in the config to one of them.`;
    }
  }
  return null;
}

/**
 * Reads the dataset and checks it; throws a {@linkcode TaskError} naming the config field to fix.
 */
export async function readDataset(path: string, columns: DatasetColumns): Promise<Uint8Array> {
  const info = await Deno.stat(path).catch(() => null);
  if (!info) {
    throw new TaskError(`The dataset "${path}" does not exist. Set pipeline.dataset.path in the config to a CSV file.`);
  }
  if (info.isDirectory) {
    throw new TaskError(`The dataset "${path}" is a directory. Set pipeline.dataset.path in the config to a CSV file.`);
  }
  const bytes = await Deno.readFile(path);
  const problem = datasetProblem(path, bytes, columns);
  if (problem) throw new TaskError(problem);
  return bytes;
}
