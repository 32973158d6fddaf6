/**
 * Reading Terraform's JSON plan (`terraform show -json`): what would change,
 * and what changed outside Terraform in a way that matters. Pure functions,
 * shared by `deploy <env> --plan`, `deploy --all --plan`, bootstrap and
 * destroy, so every task gives the same verdict for the same plan.
 *
 * Drift semantics (as Terraform's own renderer decides what to show):
 * - **pending changes**: `resource_changes` whose actions are anything but
 *   `no-op` or `read`, and changed outputs;
 * - **drift**: `resource_drift` entries whose changed attributes touch an
 *   attribute listed in `relevant_attributes` (those the configuration
 *   reads). A refresh filling computed attributes (`tags` null → {},
 *   `aws_s3_bucket.policy` mirroring its own resource) is not drift.
 *
 * @example
 * ```ts
 * import { isPending, summarizePlan } from "./plan.ts";
 * const summary = summarizePlan({ format_version: "1.2", resource_changes: [] });
 * console.log(isPending(summary)); // false
 * ```
 * @module
 */

/** An attribute path as Terraform writes it: names and list indexes. */
export type AttributePath = (string | number)[];

/** The parts of Terraform's JSON plan format the tasks read. */
export interface PlanJson {
  format_version: string;
  resource_changes?: { address: string; change: { actions: string[] } }[];
  output_changes?: Record<string, { actions: string[] }>;
  /** Resources changed outside Terraform since the last apply (found by the plan's refresh). */
  resource_drift?: { address: string; change: { actions: string[]; before?: unknown; after?: unknown } }[];
  /** Attributes the configuration reads, which make drift in them matter. */
  relevant_attributes?: { resource: string; attribute: AttributePath }[];
}

/** A resource changed outside Terraform, with the relevant attributes that changed. */
export interface Drift {
  address: string;
  attributes: string[];
}

/** Counts of a plan, with replacements, deletions and drift called out. */
export interface PlanSummary {
  add: number;
  change: number;
  destroy: number;
  replace: string[];
  delete: string[];
  /** Addresses of every resource that would change. */
  changed: string[];
  /** Outputs whose value would change. */
  outputs: string[];
  /** Resources changed outside Terraform in attributes the configuration relies on. */
  drifted: Drift[];
}

const INERT = new Set(["no-op", "read"]);

/** Paths of the leaves that differ between two JSON values (a whole value when types differ). */
export function changedPaths(before: unknown, after: unknown, path: AttributePath = []): AttributePath[] {
  if (before === after) return [];
  const isObject = (v: unknown) => typeof v === "object" && v !== null;
  if (!isObject(before) || !isObject(after) || Array.isArray(before) !== Array.isArray(after)) return [path];
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((key) => changedPaths(a[key], b[key], [...path, Array.isArray(before) ? Number(key) : key]));
}

/** Whether one path is a prefix of the other (a change inside or around a relevant attribute). */
function overlaps(a: AttributePath, b: AttributePath): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The drift that matters: changed attributes the configuration reads. */
export function relevantDrift(plan: PlanJson): Drift[] {
  const relevant = plan.relevant_attributes ?? [];
  return (plan.resource_drift ?? []).flatMap(({ address, change }) => {
    const wanted = relevant.filter((r) => r.resource === address).map((r) => r.attribute);
    if (wanted.length === 0) return [];
    const changed = changedPaths(change.before ?? null, change.after ?? null)
      .filter((path) => wanted.some((w) => overlaps(path, w)));
    if (changed.length === 0) return [];
    const attributes = [...new Set(changed.map((p) => String(p[0] ?? "(whole resource)")))];
    return [{ address, attributes }];
  });
}

/** Summarises a JSON plan the way `terraform plan` counts, plus the drift that matters. */
export function summarizePlan(plan: PlanJson): PlanSummary {
  const summary: PlanSummary = {
    add: 0,
    change: 0,
    destroy: 0,
    replace: [],
    delete: [],
    changed: [],
    outputs: Object.entries(plan.output_changes ?? {})
      .filter(([, c]) => c.actions.some((a) => !INERT.has(a)))
      .map(([name]) => name),
    drifted: relevantDrift(plan),
  };
  for (const { address, change } of plan.resource_changes ?? []) {
    const actions = change.actions;
    if (actions.some((a) => !INERT.has(a))) summary.changed.push(address);
    if (actions.includes("create")) summary.add++;
    if (actions.includes("update")) summary.change++;
    if (actions.includes("delete")) summary.destroy++;
    if (actions.includes("create") && actions.includes("delete")) summary.replace.push(address);
    else if (actions.includes("delete")) summary.delete.push(address);
  }
  return summary;
}

/** Whether applying the plan would change anything, or something changed outside Terraform. */
export function isPending(summary: PlanSummary): boolean {
  return summary.add + summary.change + summary.destroy > 0 || summary.outputs.length > 0 ||
    summary.drifted.length > 0;
}

/**
 * The verdict for the table: up to date, code changes pending, drift (changed
 * outside Terraform; applying restores it), or both. A change that only
 * restores a drifted resource counts as drift, not as a code change.
 */
export function planVerdict(summary: PlanSummary): "up to date" | "changes pending" | "drifted" | "drifted + changes" {
  const driftedAddresses = new Set(summary.drifted.map((d) => d.address));
  const changes = summary.changed.some((a) => !driftedAddresses.has(a)) || summary.outputs.length > 0;
  const drifted = summary.drifted.length > 0;
  if (drifted) return changes ? "drifted + changes" : "drifted";
  return changes ? "changes pending" : "up to date";
}
