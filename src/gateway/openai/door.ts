/**
 * The OpenAI door (SPEC §6): `/gateway/openai/v1/*` → `OPENAI_BASE_URL/*` with `OPENAI_API_KEY` as a bearer
 * token. The customer's key comes as `Authorization: Bearer`; OpenAI's organisation and project headers
 * belong to an account (the client's on the way in, the gateway's on the way out) and are dropped, as are
 * OpenAI's `x-ratelimit-*` quota headers of the gateway's own key.
 */
import type { Door } from "../core/door";
import { bearerToken, headerFilter } from "../core/headers";
import { type MeteredEndpoint, OPENAI_ENDPOINTS } from "./endpoints";
import { errorResponse, type OpenAiError, openAiError, refusalFor } from "./errors";
import { promptChars } from "./prompt-chars";
import { shapeRequest } from "./request-shaping";
import { StreamMeter } from "./stream-meter";
import { bodyUsage } from "./usage";

const DEFAULT_BASE_URL = "https://api.openai.com/v1";

/** `/gateway/openai/v1/*`: OpenAI's endpoints, refused as OpenAI does. */
export const OPENAI_DOOR: Door<MeteredEndpoint, OpenAiError> = {
  name: "openai",
  prefix: "/gateway/openai/v1",
  endpoints: OPENAI_ENDPOINTS,
  upstream: (env) => ({
    baseUrl: (env.OPENAI_BASE_URL || DEFAULT_BASE_URL).replace(/\/+$/, ""),
    apiKey: env.OPENAI_API_KEY ?? "",
    keyName: "OPENAI_API_KEY",
  }),
  customerKey: (headers) => bearerToken(headers.get("authorization")),
  headers: headerFilter({
    droppedRequest: ["openai-organization", "openai-project"],
    droppedResponse: ["openai-organization", "openai-project"],
    droppedResponsePrefixes: ["x-ratelimit-"],
    auth: (apiKey) => ["authorization", `Bearer ${apiKey}`],
  }),
  promptChars,
  shapeRequest(endpoint, text, defaultMaxTokens) {
    return shapeRequest(endpoint, text, defaultMaxTokens, this.promptChars);
  },
  bodyUsage,
  streamUsage: (endpoint) => new StreamMeter(endpoint),
  notFoundMessage: (method, pathname) => `Invalid URL (${method} ${pathname})`,
  error: openAiError,
  refusal: refusalFor,
  respond: errorResponse,
};
