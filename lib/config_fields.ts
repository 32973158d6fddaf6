/**
 * The config's field types, built on zod: one definition gives the
 * TypeScript type (`z.output`), the validator (`safeParse`, every problem
 * with its path) and the JSON Schema editors use (`z.toJSONSchema`). What
 * this module adds is the sentences: each field says what it got and what it
 * expects (`"12345" is not a 12-digit AWS account id`), an absent field says
 * what it is for, and an unknown key lists the keys allowed.
 *
 * @example
 * ```ts
 * import { issuesOf, object, string } from "./config_fields.ts";
 * const Point = object({ name: string({ description: "A name." }) }, { description: "A point." });
 * const result = Point.safeParse({ name: 1 });
 * if (!result.success) console.log(issuesOf(result.error)); // [{ path: "name", message: "1 is not a string" }]
 * ```
 * @module
 */
import { z } from "zod";

/** One problem found in a value: where it is and what is wrong with it. */
export interface Issue {
  /** Dotted field path, e.g. `accounts.prod.id`; empty for the root. */
  path: string;
  /** Sentence that names the bad value and what is expected instead. */
  message: string;
}

/** Formats a value for an error message: strings quoted, others as JSON. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  return JSON.stringify(value);
}

interface Common {
  /** Shown by editors, and in the message when the field is missing. */
  description: string;
}

/** "is missing (what it is for)" for an absent field, else "<value> <problem>". */
function sentence(description: string, problem: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? `is missing (${description})` : `${show(issue.input)} ${problem}`;
}

/** Options of {@linkcode string}. */
export interface StringOptions extends Common {
  /** Regular expression the whole string must match. */
  pattern?: RegExp;
  /** What a valid value looks like, for the error message ("a 12-digit AWS account id"). */
  expected?: string;
  /** Example values for editors. */
  examples?: string[];
}

/** A string, optionally constrained by a pattern. */
export function string(options: StringOptions): z.ZodString {
  const base = z.string({ error: sentence(options.description, "is not a string") });
  const checked = options.pattern
    ? base.regex(options.pattern, {
      error: sentence(options.description, `is not ${options.expected ?? `a match for ${options.pattern.source}`}`),
    })
    : base;
  return checked.meta({
    description: options.description,
    ...(options.examples ? { examples: options.examples } : {}),
  });
}

/** One of a fixed list of strings. */
export function literal<const T extends readonly [string, ...string[]]>(values: T, options: Common) {
  const listed = values.map((v) => `"${v}"`).join(", ");
  return z.enum(values, { error: sentence(options.description, `is not one of ${listed}`) })
    .meta({ description: options.description });
}

/** A boolean. */
export function boolean(options: Common): z.ZodBoolean {
  return z.boolean({ error: sentence(options.description, "is not true or false") })
    .meta({ description: options.description });
}

/** Options of {@linkcode number}. */
export interface NumberOptions extends Common {
  minimum?: number;
  /** The value must be greater than this. */
  exclusiveMinimum?: number;
  maximum?: number;
  integer?: boolean;
}

/** A finite number within optional bounds; every violation gets the one sentence naming the whole range. */
export function number(options: NumberOptions): z.ZodNumber {
  const { minimum, exclusiveMinimum, maximum, integer } = options;
  const range = [
    integer ? "an integer" : "a number",
    minimum !== undefined ? `≥ ${minimum}` : "",
    exclusiveMinimum !== undefined ? `> ${exclusiveMinimum}` : "",
    maximum !== undefined ? `≤ ${maximum}` : "",
  ].filter(Boolean).join(" ");
  const error = sentence(options.description, `is not ${range}`);
  let schema = z.number({ error });
  if (integer) schema = schema.int({ error, abort: true });
  if (minimum !== undefined) schema = schema.min(minimum, { error, abort: true });
  if (exclusiveMinimum !== undefined) schema = schema.gt(exclusiveMinimum, { error, abort: true });
  if (maximum !== undefined) schema = schema.max(maximum, { error, abort: true });
  return schema.meta({ description: options.description });
}

/** `null` or a value of the inner schema (described like it). */
export function nullable<T extends z.ZodType>(inner: T) {
  return inner.nullable().meta({ description: z.globalRegistry.get(inner)?.description });
}

/** A string-keyed map whose values share one schema. */
export function record<K extends z.ZodString, V extends z.ZodType>(keys: K, values: V, options: Common) {
  return z.record(keys, values, { error: sentence(options.description, "is not an object") })
    .meta({ description: options.description });
}

/** An object with exactly the given fields (and `allow`ed extra string keys); unknown keys are errors. */
export function object<S extends z.ZodRawShape>(shape: S, options: Common & { allow?: string[] }) {
  const extra = Object.fromEntries((options.allow ?? []).map((key) => [key, z.string().optional()]));
  const allowed = [...Object.keys(shape), ...(options.allow ?? [])].join(", ");
  const invalid = sentence(options.description, "is not an object");
  return z.strictObject({ ...shape, ...extra } as S, {
    error: (issue) => issue.code === "unrecognized_keys" ? `unknown field; expected one of ${allowed}` : invalid(issue),
  }).meta({ description: options.description });
}

/**
 * zod's issues as one sentence per problem: an unknown key each, a bad record key named as such.
 * An object's unknown keys come before the problems inside its fields (zod reports them after).
 */
export function issuesOf(error: z.ZodError): Issue[] {
  const issues: Issue[] = [];
  const seen = new Set<string>();
  const add = (path: PropertyKey[], message: string, at = issues.length) => {
    const dotted = path.map(String).join(".");
    if (seen.has(`${dotted}\n${message}`)) return;
    seen.add(`${dotted}\n${message}`);
    issues.splice(at, 0, { path: dotted, message });
  };
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      const prefix = issue.path.map(String).join(".");
      const inside = issues.findIndex((i) => prefix === "" || i.path.startsWith(`${prefix}.`));
      let at = inside === -1 ? issues.length : inside;
      for (const key of issue.keys) {
        const before = issues.length;
        add([...issue.path, key], issue.message, at);
        at += issues.length - before;
      }
    } else if (issue.code === "invalid_key") {
      add(issue.path, `key ${issue.issues[0]?.message ?? issue.message}`);
    } else {
      add(issue.path, issue.message);
    }
  }
  return issues;
}
