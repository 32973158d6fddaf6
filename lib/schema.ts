/**
 * A tiny schema language: one definition gives the TypeScript type, the
 * validator that reports every problem with its field path, and the JSON
 * Schema that editors use to complete and check the config file.
 *
 * @example
 * ```ts
 * import { object, string, validate } from "./schema.ts";
 * const Point = object({ name: string({ description: "A name." }) }, { description: "A point." });
 * const issues = validate(Point, { name: 1 });
 * console.assert(issues[0].path === "name");
 * ```
 * @module
 */

/** One problem found in a value: where it is and what is wrong with it. */
export interface Issue {
  /** Dotted field path, e.g. `accounts.prod.id`; empty for the root. */
  path: string;
  /** Sentence that names the bad value and what is expected instead. */
  message: string;
}

type JsonSchema = Record<string, unknown>;
/** The fields of an {@linkcode object}: required unless wrapped in {@linkcode optional}. */
type Shape = Record<string, Schema<unknown>>;

/** A schema node: validates a value and describes itself as JSON Schema. */
export interface Schema<T> {
  /** Phantom field carrying the validated type; never set at run time. */
  readonly _type?: T;
  /** Appends an issue for every problem in `value` at `path`. */
  check(value: unknown, path: string, issues: Issue[]): void;
  /** The JSON Schema (draft 2020-12) for this node. */
  jsonSchema(): JsonSchema;
  /** The fields, for object schemas (used to fill defaults). */
  readonly shape?: Shape;
}

/** The TypeScript type a schema validates. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

/** Formats a value for an error message: strings quoted, others as JSON. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  return JSON.stringify(value);
}

function at(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

interface Common {
  /** Shown by editors and used as the error's fix when no `expected` is given. */
  description: string;
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
export function string(options: StringOptions): Schema<string> {
  return {
    check(value, path, issues) {
      if (typeof value !== "string") {
        issues.push({ path, message: `${show(value)} is not a string` });
      } else if (options.pattern && !options.pattern.test(value)) {
        issues.push({
          path,
          message: `${show(value)} is not ${options.expected ?? `a match for ${options.pattern.source}`}`,
        });
      }
    },
    jsonSchema: () => ({
      type: "string",
      description: options.description,
      ...(options.pattern ? { pattern: options.pattern.source } : {}),
      ...(options.examples ? { examples: options.examples } : {}),
    }),
  };
}

/** One of a fixed list of strings. */
export function literal<const T extends string>(
  values: readonly T[],
  options: Common,
): Schema<T> {
  return {
    check(value, path, issues) {
      if (typeof value !== "string" || !values.includes(value as T)) {
        issues.push({
          path,
          message: `${show(value)} is not one of ${values.map((v) => `"${v}"`).join(", ")}`,
        });
      }
    },
    jsonSchema: () => ({ enum: [...values], description: options.description }),
  };
}

/** A boolean. */
export function boolean(options: Common): Schema<boolean> {
  return {
    check(value, path, issues) {
      if (typeof value !== "boolean") {
        issues.push({ path, message: `${show(value)} is not true or false` });
      }
    },
    jsonSchema: () => ({ type: "boolean", description: options.description }),
  };
}

/** Options of {@linkcode number}. */
export interface NumberOptions extends Common {
  minimum?: number;
  /** The value must be greater than this. */
  exclusiveMinimum?: number;
  maximum?: number;
  integer?: boolean;
}

/** A finite number within optional bounds. */
export function number(options: NumberOptions): Schema<number> {
  const { minimum, exclusiveMinimum, maximum, integer } = options;
  return {
    check(value, path, issues) {
      const bad = typeof value !== "number" || !Number.isFinite(value) ||
        (integer && !Number.isInteger(value)) ||
        (minimum !== undefined && value < minimum) ||
        (exclusiveMinimum !== undefined && value <= exclusiveMinimum) ||
        (maximum !== undefined && value > maximum);
      if (bad) {
        const range = [
          integer ? "an integer" : "a number",
          minimum !== undefined ? `≥ ${minimum}` : "",
          exclusiveMinimum !== undefined ? `> ${exclusiveMinimum}` : "",
          maximum !== undefined ? `≤ ${maximum}` : "",
        ].filter(Boolean).join(" ");
        issues.push({ path, message: `${show(value)} is not ${range}` });
      }
    },
    jsonSchema: () => ({
      type: integer ? "integer" : "number",
      description: options.description,
      ...(minimum !== undefined ? { minimum } : {}),
      ...(exclusiveMinimum !== undefined ? { exclusiveMinimum } : {}),
      ...(maximum !== undefined ? { maximum } : {}),
    }),
  };
}

/** `null` or a value of the inner schema. */
export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    check(value, path, issues) {
      if (value !== null) inner.check(value, path, issues);
    },
    jsonSchema: () => {
      const { description, ...rest } = inner.jsonSchema();
      return { description, anyOf: [rest, { type: "null" }] };
    },
  };
}

/** A string-keyed map whose values share one schema. */
export function record<T>(
  keys: Schema<string>,
  values: Schema<T>,
  options: Common,
): Schema<Record<string, T>> {
  return {
    check(value, path, issues) {
      if (!isPlainObject(value)) {
        issues.push({ path, message: `${show(value)} is not an object` });
        return;
      }
      for (const [key, item] of Object.entries(value)) {
        const keyIssues: Issue[] = [];
        keys.check(key, at(path, key), keyIssues);
        if (keyIssues.length > 0) {
          issues.push({ path: at(path, key), message: `key ${keyIssues[0].message}` });
        }
        values.check(item, at(path, key), issues);
      }
    },
    jsonSchema: () => ({
      type: "object",
      description: options.description,
      propertyNames: keys.jsonSchema(),
      additionalProperties: values.jsonSchema(),
    }),
  };
}

/** Marks a field optional; `fallback` is the value the loader fills in. */
export interface Optional<T> extends Schema<T> {
  readonly optional: true;
  readonly fallback: T;
}

/** An optional field with a default value that the loader fills in. */
export function optional<T>(inner: Schema<T>, fallback: T): Optional<T> {
  return {
    optional: true,
    fallback,
    shape: inner.shape,
    check: inner.check,
    jsonSchema: () => ({ ...inner.jsonSchema(), default: fallback }),
  };
}

function isOptional(schema: Schema<unknown>): schema is Optional<unknown> {
  return (schema as Optional<unknown>).optional === true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An object with exactly the given fields; unknown keys are errors. */
export function object<S extends Shape>(
  shape: S,
  options: Common & { allow?: string[] },
): Schema<{ [K in keyof S]: Infer<S[K]> }> {
  const allowed = new Set([...Object.keys(shape), ...(options.allow ?? [])]);
  return {
    shape,
    check(value, path, issues) {
      if (!isPlainObject(value)) {
        issues.push({ path, message: `${show(value)} is not an object` });
        return;
      }
      for (const key of Object.keys(value)) {
        if (!allowed.has(key)) {
          issues.push({
            path: at(path, key),
            message: `unknown field; expected one of ${[...allowed].join(", ")}`,
          });
        }
      }
      for (const [key, field] of Object.entries(shape)) {
        if (!(key in value)) {
          if (!isOptional(field)) {
            issues.push({ path: at(path, key), message: `is missing (${field.jsonSchema().description})` });
          }
          continue;
        }
        field.check(value[key], at(path, key), issues);
      }
    },
    jsonSchema: () => ({
      type: "object",
      description: options.description,
      properties: Object.fromEntries(
        [
          ...(options.allow ?? []).map((key) => [key, { type: "string" }]),
          ...Object.entries(shape).map(([key, field]) => [key, field.jsonSchema()]),
        ],
      ),
      required: Object.entries(shape).filter(([, f]) => !isOptional(f)).map(([k]) => k),
      additionalProperties: false,
    }),
  };
}

/** Fills the defaults of optional fields in place, recursively along `shape`. */
export function withDefaults<T>(schema: Schema<T>, value: unknown): T {
  const shape = schema.shape;
  if (!shape || !isPlainObject(value)) return value as T;
  const out: Record<string, unknown> = { ...value };
  for (const [key, field] of Object.entries(shape)) {
    if (!(key in out) && isOptional(field)) out[key] = structuredClone(field.fallback);
    out[key] = withDefaults(field, out[key]);
  }
  return out as T;
}

/** Validates `value`, returning every issue found (empty when valid). */
export function validate(schema: Schema<unknown>, value: unknown): Issue[] {
  const issues: Issue[] = [];
  schema.check(value, "", issues);
  return issues;
}
