/** The RateLimit headers of the decisions a gateway call made, and adding headers to an answer. */
import type { CompiledPolicy, Decision } from "../../domain/types";
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

/** Add headers to a mutable Headers object. */
export function withHeaders(target: Headers, headers: Record<string, string>): Headers {
  for (const [name, value] of Object.entries(headers)) target.set(name, value);
  return target;
}
