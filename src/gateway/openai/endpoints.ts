/** The OpenAI door's endpoints (SPEC §6): which are token-metered, by which body shape, and which stream. */
import type { EndpointRule } from "../core/endpoints";

export type MeteredEndpoint = "chat/completions" | "completions" | "responses" | "embeddings";

/** The OpenAI door's endpoint table. */
export const OPENAI_ENDPOINTS: readonly EndpointRule<MeteredEndpoint>[] = [
  { method: "POST", path: "chat/completions", metered: "chat/completions" },
  { method: "POST", path: "completions", metered: "completions" },
  { method: "POST", path: "responses", metered: "responses" },
  { method: "POST", path: "embeddings", metered: "embeddings" },
  { method: "GET", path: "models", metered: null },
  { method: "GET", path: "models/{id}", metered: null },
];

/** Whether the endpoint streams SSE when asked to (`stream: true`). */
export function canStream(endpoint: MeteredEndpoint): boolean {
  return endpoint !== "embeddings";
}
