/**
 * The one CSV reader of the tasks (the dataset check, sample texts, the
 * server's CSV answers): RFC 4180 quoting, doubled quotes and line breaks
 * inside quotes.
 *
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * console.log(parseCsv('text,label\n"a, b",x\n')); // [["text","label"],["a, b","x"]]
 * ```
 * @module
 */

/** Parses CSV text (RFC 4180: quotes, doubled quotes, newlines inside quotes) into records. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += text[++i];
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else field += c;
  }
  if (field || record.length) records.push([...record, field]);
  return records;
}
