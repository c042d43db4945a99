/**
 * Which gateway calls are token-metered (SPEC §11 "Gateway"): POST to chat/completions, completions, responses
 * and embeddings. Every other method and path is a pass-through that counts only `gateway.requests`.
 */

export type MeteredEndpoint = "chat/completions" | "completions" | "responses" | "embeddings";

const METERED: ReadonlySet<string> = new Set<MeteredEndpoint>([
  "chat/completions",
  "completions",
  "responses",
  "embeddings",
]);

/** The metered endpoint a request names (`path` is relative to `/v1`, e.g. `/chat/completions`), or null. */
export function meteredEndpoint(method: string, path: string): MeteredEndpoint | null {
  if (method !== "POST") return null;
  const name = path.startsWith("/") ? path.slice(1) : path;
  return METERED.has(name) ? (name as MeteredEndpoint) : null;
}

/** Whether the endpoint streams SSE when asked to (`stream: true`). */
export function canStream(endpoint: MeteredEndpoint): boolean {
  return endpoint !== "embeddings";
}
