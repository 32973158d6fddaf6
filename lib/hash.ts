/**
 * SHA-256 as lowercase hex, the one digest the project uses for content
 * hashes, fingerprints and idempotency tokens.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./hash.ts";
 * console.log(await sha256Hex("abc"));
 * ```
 * @module
 */

/** SHA-256 of text (UTF-8) or bytes, as 64 lowercase hex characters. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
