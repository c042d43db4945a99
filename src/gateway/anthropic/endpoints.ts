/** The Anthropic door's endpoints (SPEC §6): `messages` is token-metered; the rest count 1 request each. */
import type { EndpointRule } from "../core/endpoints";

export type MeteredEndpoint = "messages";

/** The Anthropic door's endpoint table. */
export const ANTHROPIC_ENDPOINTS: readonly EndpointRule<MeteredEndpoint>[] = [
  { method: "POST", path: "messages", metered: "messages" },
  { method: "POST", path: "messages/count_tokens", metered: null },
  { method: "GET", path: "models", metered: null },
  { method: "GET", path: "models/{id}", metered: null },
];
