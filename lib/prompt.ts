/**
 * Questions to the user before anything destructive. Off a terminal they
 * refuse with the flag that answers them instead (`--yes`), so CI never hangs
 * on a prompt.
 *
 * @example
 * ```ts
 * import { confirmOnTerminal } from "./prompt.ts";
 * // if (!confirmOnTerminal("Apply these changes to dev?", "--yes")) …
 * ```
 * @module
 */
import { TaskError } from "./cli.ts";

function assertTerminal(question: string, instead: string): void {
  if (!Deno.stdin.isTerminal()) {
    throw new TaskError(`${question} — cannot ask on a non-interactive terminal. Pass ${instead}.`);
  }
}

/** Asks a yes/no question on the terminal. */
export function confirmOnTerminal(question: string, instead: string): boolean {
  assertTerminal(question, instead);
  return confirm(question);
}

/** Asks for a typed answer on the terminal. */
export function askOnTerminal(question: string, instead: string): string | null {
  assertTerminal(question, instead);
  return prompt(question);
}
