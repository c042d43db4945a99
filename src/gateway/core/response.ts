/** The RateLimit headers of the decisions a gateway call made, and adding headers to an answer. */
import type { CompiledPolicy, Decision } from "../../domain/types";
import { rateLimitHeaders, rateLimitItems } from "./ratelimit-headers";

/**
 * RateLimit headers for the decisions of one call (the model's entitlement first, then `requests`).
 * `spendTokens`: the model's tokens the `gateway.spend` meter still buys (SPEC §12.4), when it meters the
 * call; the model's remaining is then the tighter of its tokens and its money.
 */
export function decisionHeaders(
  policy: CompiledPolicy,
  decisions: (Decision | null)[],
  nowMs: number,
  spendTokens: number | null = null,
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
  const model = decisions[0];
  const first = items[0];
  if (
    spendTokens !== null &&
    model != null &&
    first?.policy === model.entitlement &&
    first.remaining !== null
  )
    first.remaining = Math.min(first.remaining, Math.max(0, spendTokens));
  return rateLimitHeaders(items);
}

/** Add headers to a mutable Headers object. */
export function withHeaders(target: Headers, headers: Record<string, string>): Headers {
  for (const [name, value] of Object.entries(headers)) target.set(name, value);
  return target;
}
