/**
 * Human output of the tasks, on stderr (stdout is kept for data such as
 * `--json`). Colours only on a terminal and never with `NO_COLOR`; no cursor
 * codes unless the stream is a terminal, so CI logs stay plain text.
 *
 * @example
 * ```ts
 * import { log } from "./log.ts";
 * log.step("Planning", "dev");
 * ```
 * @module
 */

const encoder = new TextEncoder();

function isTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** Whether stderr gets colours (a terminal, and `NO_COLOR` unset). */
export function useColor(): boolean {
  return isTerminal() && !Deno.env.get("NO_COLOR");
}

function paint(code: number, text: string): string {
  return useColor() ? `\x1b[${code}m${text}\x1b[0m` : text;
}

/** Colour helpers that fall back to plain text. */
export const style = {
  bold: (t: string) => paint(1, t),
  dim: (t: string) => paint(2, t),
  red: (t: string) => paint(31, t),
  green: (t: string) => paint(32, t),
  yellow: (t: string) => paint(33, t),
  cyan: (t: string) => paint(36, t),
};

function write(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

/** The tasks' logger. */
export const log = {
  /** A phase of a task: a right-aligned verb and what it acts on. */
  step(verb: string, detail = ""): void {
    write(`${style.green(style.bold(verb.padStart(12)))} ${detail}`.trimEnd());
  },
  /** A plain informational line. */
  info(text: string): void {
    write(text);
  },
  /** A warning line. */
  warn(text: string): void {
    write(`${style.yellow(style.bold("warning"))}: ${text}`);
  },
  /** An error line. */
  error(text: string): void {
    write(`${style.red(style.bold("error"))}: ${text}`);
  },
  /** Detail shown only with `--debug`. */
  debug(text: string): void {
    if (debugEnabled) write(style.dim(`debug: ${text}`));
  },
};

let debugEnabled = false;

/** Turns `log.debug` on or off (the `--debug` flag). */
export function setDebug(enabled: boolean): void {
  debugEnabled = enabled;
}

/** Whether `--debug` is on. */
export function isDebug(): boolean {
  return debugEnabled;
}

/**
 * Awaits `work` while a terminal shows a spinner with the elapsed time;
 * elsewhere (CI, pipes) it prints nothing extra.
 */
export async function withProgress<T>(label: string, work: Promise<T>): Promise<T> {
  if (!isTerminal()) return await work;
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  const started = Date.now();
  let frame = 0;
  const timer = setInterval(() => {
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${frames[frame++ % frames.length]} ${label} (${seconds}s)`));
  }, 100);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
  }
}

/** Renders rows as an aligned plain-text table. */
export function table(header: string[], rows: string[][]): string {
  // deno-lint-ignore no-control-regex
  const visible = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "").length;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? ""))));
  const pad = (cell: string, width: number) => cell + " ".repeat(Math.max(0, width - visible(cell)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
