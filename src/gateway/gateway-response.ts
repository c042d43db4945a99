/** Building the gateway's responses: OpenAI-shaped errors and the RateLimit headers of the decisions made. */
import type { CompiledPolicy, Decision } from "../domain/types";
import { errorBody, type OpenAiError } from "./openai-errors";
import { rateLimitHeaders, rateLimitItems } from "./ratelimit-headers";

/** RateLimit headers for the decisions of one call (the model's entitlement first, then `requests`). */
export function decisionHeaders(
  policy: CompiledPolicy,
  decisions: (Decision | null)[],
  nowMs: number,
): Record<string, string> {
  const items = decisions.flatMap((decision) =>
    decision === null
      ? []
      : rateLimitItems(
          decision,
          policy.plans.get(decision.plan ?? "")?.entitlements.get(decision.entitlement),
          nowMs,
        ),
  );
  return rateLimitHeaders(items);
}

/** An OpenAI-shaped error response. */
export function errorResponse(error: OpenAiError, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(errorBody(error)), {
    status: error.status,
    headers: { "content-type": "application/json", ...headers, ...error.headers },
  });
}

/** Add headers to a mutable Headers object. */
export function withHeaders(target: Headers, headers: Record<string, string>): Headers {
  for (const [name, value] of Object.entries(headers)) target.set(name, value);
  return target;
}
