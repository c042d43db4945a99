/**
 * A policy's version: a content hash, stamped on every decision (SPEC §2, §11).
 *
 * The hash covers the normalised, unwrapped document that validatePolicy returns: parsed (so YAML and
 * JSON forms of one policy, comments and key order do not matter), without a `policy:` wrapper, and
 * WITHOUT the ignored Limitr keys, which the schema drops. Those keys change nothing the gate does, so a
 * policy that differs only in `price` or `tiers` is the same policy and keeps its version.
 */

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units) at every depth, arrays in order, no
 * whitespace; `undefined` members are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    // Built as a string, never as an object: an own `__proto__` key must not turn into a prototype.
    const members = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** First 16 hex digits of SHA-256 over the canonical JSON of a normalised policy document. */
export async function policyVersion(document: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(document));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let hex = "";
  for (const byte of digest.subarray(0, 8)) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
