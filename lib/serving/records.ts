/**
 * Serving records, kept beside the promotion records in the operations account:
 * `promotions/<env>/serving/current.json` (what serves now),
 * `…/serving/latest.json` (the last attempt), `…/serving/commits/<commit>.json`
 * (the last success of that commit: prod's gate reads staging's) and
 * `…/serving/approvals/<version>.json` (who approved a version, and why).
 *
 * @example
 * ```ts
 * import { servingSummary } from "./records.ts";
 * console.log(servingSummary(null)); // "-"
 * ```
 * @module
 */
import type { Environment, EnvironmentSettings } from "../config.ts";
import type { PromotionRecords } from "../promote.ts";

/** Serving settings of an environment (from the config). */
export type ServingSettings = EnvironmentSettings["serving"];

/** What is kept about one serving attempt. */
export interface ServingRecord {
  environment: Environment;
  version: number;
  modelPackageArn: string;
  endpoint: string;
  /** The SageMaker model and endpoint config of this version. */
  model: string;
  endpointConfig: string;
  variant: ServingSettings["variant"];
  /** The image digest the model package names, and the commit promoted with it (null: unknown). */
  digest: string | null;
  commit: string | null;
  status: "succeeded" | "failed" | "deleted";
  error: string | null;
  /** The version serving before this attempt (what a failed attempt left serving). */
  previousVersion: number | null;
  approval: Approval | null;
  time: string;
  actor: string;
}

/** Who approved a version, when and why. */
export interface Approval {
  version: number;
  by: string;
  reason: string | null;
  time: string;
}

/** Serving records in the operations account (beside the promotion records). */
export class ServingRecords {
  constructor(private readonly store: PromotionRecords) {}

  /** What serves in `env` now. */
  current(env: Environment): Promise<ServingRecord | null> {
    return this.store.readJson(`promotions/${env}/serving/current.json`);
  }
  /** The last attempt in `env`. */
  latest(env: Environment): Promise<ServingRecord | null> {
    return this.store.readJson(`promotions/${env}/serving/latest.json`);
  }
  /** The last successful serving of a model of `commit` in `env`. */
  forCommit(env: Environment, commit: string): Promise<ServingRecord | null> {
    return this.store.readJson(`promotions/${env}/serving/commits/${commit}.json`);
  }
  /** Records an approval. */
  approve(env: Environment, approval: Approval): Promise<void> {
    return this.store.writeJson([`promotions/${env}/serving/approvals/${approval.version}.json`], approval);
  }
  /** Stores a record; `current.json` moves on success (and on delete), `commits/` only on success. */
  write(record: ServingRecord): Promise<void> {
    const base = `promotions/${record.environment}/serving`;
    const keys = [`${base}/latest.json`];
    if (record.status !== "failed") keys.push(`${base}/current.json`);
    if (record.status === "succeeded" && record.commit) keys.push(`${base}/commits/${record.commit}.json`);
    return this.store.writeJson(keys, record);
  }
}

/** One line per environment: which version serves where. */
export function servingSummary(record: ServingRecord | null): string {
  if (!record || record.status === "deleted") return "-";
  return `v${record.version} at ${record.endpoint} (${record.variant})`;
}
