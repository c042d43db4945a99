/**
 * The Anthropic door (SPEC §6): `/gateway/anthropic/v1/*` → `ANTHROPIC_BASE_URL/*` with `ANTHROPIC_API_KEY`
 * as `x-api-key`. The customer's key comes as `x-api-key` (what `@anthropic-ai/sdk` sends) or
 * `Authorization: Bearer`; neither goes upstream. The client's `anthropic-version` and `anthropic-beta` pass
 * through; Anthropic's `anthropic-ratelimit-*` quota headers and organisation id describe the gateway's own
 * account and are dropped.
 */
import type { Door } from "../core/door";
import { bearerToken, headerFilter } from "../core/headers";
import { ANTHROPIC_ENDPOINTS, type MeteredEndpoint } from "./endpoints";
import { type AnthropicError, anthropicError, errorResponse, refusalFor } from "./errors";
import { promptChars } from "./prompt-chars";
import { shapeRequest } from "./request-shaping";
import { StreamMeter } from "./stream-meter";
import { bodyUsage } from "./usage";

const DEFAULT_BASE_URL = "https://api.anthropic.com/v1";

/** The customer's key: `x-api-key` first, else a bearer token. */
function customerKey(headers: Headers): string | null {
  const apiKey = headers.get("x-api-key")?.trim();
  return apiKey === undefined || apiKey === "" ? bearerToken(headers.get("authorization")) : apiKey;
}

/** `/gateway/anthropic/v1/*`: Anthropic's endpoints, refused as Anthropic does. */
export const ANTHROPIC_DOOR: Door<MeteredEndpoint, AnthropicError> = {
  name: "anthropic",
  prefix: "/gateway/anthropic/v1",
  endpoints: ANTHROPIC_ENDPOINTS,
  upstream: (env) => ({
    baseUrl: (env.ANTHROPIC_BASE_URL || DEFAULT_BASE_URL).replace(/\/+$/, ""),
    apiKey: env.ANTHROPIC_API_KEY ?? "",
    keyName: "ANTHROPIC_API_KEY",
  }),
  customerKey,
  headers: headerFilter({
    droppedRequest: [],
    droppedResponse: ["anthropic-organization-id"],
    droppedResponsePrefixes: ["anthropic-ratelimit-"],
    auth: (apiKey) => ["x-api-key", apiKey],
  }),
  promptChars,
  // The Anthropic API requires `max_tokens`, so the policy's default output budget is never used here.
  shapeRequest(endpoint, text) {
    return shapeRequest(endpoint, text, this.promptChars);
  },
  bodyUsage,
  streamUsage: () => new StreamMeter(),
  notFoundMessage: (method, pathname) => `Not Found: ${method} ${pathname}`,
  error: anthropicError,
  refusal: refusalFor,
  respond: errorResponse,
};
