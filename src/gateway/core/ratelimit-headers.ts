/**
 * IETF `RateLimit-Policy` and `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers-08 and later, the
 * structured-field form): one quota policy per limit and per rate, named after the entitlement.
 *
 *   RateLimit-Policy: "gpt4o_tokens";q=50000;w=2592000, "gpt4o_tokens.rate";q=10000;w=60
 *   RateLimit: "gpt4o_tokens";r=48766;t=600
 *
 * `q` is the limit (a rate's `limit` per `window`), `w` the period in seconds (omitted for a gauge, which
 * never resets), `r` what remains after this call (limit − used − held), `t` seconds until the period
 * resets. A rate's remaining tokens are known only when it refused the call (`r=0`, `t` = Retry-After).
 */
import { calendarPeriod } from "../../domain/calendar";
import type { CompiledEntitlement, CompiledLimit, Decision } from "../../domain/types";

export interface RateLimitItem {
  policy: string;
  quota: number;
  windowSeconds: number | null;
  remaining: number | null;
  resetSeconds: number | null;
}

/** A structured-field String: printable ASCII only, `"` and `\` escaped; anything else becomes `_`. */
function sfString(value: string): string {
  let out = "";
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || code > 0x7e) out += "_";
    else if (char === '"' || char === "\\") out += `\\${char}`;
    else out += char;
  }
  return `"${out}"`;
}

/** A structured-field Integer: whole, non-negative, at most 15 digits. */
function sfInteger(value: number): number {
  return Math.min(999_999_999_999_999, Math.max(0, Math.floor(value)));
}

function windowSeconds(limit: CompiledLimit, nowMs: number): number | null {
  const rule = limit.reset;
  if (rule.kind === "none") return null;
  if (rule.kind === "rolling") return Math.max(1, Math.round(rule.periodMs / 1000));
  try {
    const period = calendarPeriod(rule.schedule, rule.tz, nowMs);
    return Math.max(1, Math.round((period.end - period.start) / 1000));
  } catch {
    return null;
  }
}

/**
 * The items for one decision on an entitlement with a limit and/or a rate. `ent` is the definition in the
 * plan the decision names; a feature flag or a refusal without meter values yields nothing.
 */
export function rateLimitItems(
  decision: Decision,
  ent: CompiledEntitlement | undefined,
  nowMs: number,
): RateLimitItem[] {
  if (ent === undefined) return [];
  const items: RateLimitItem[] = [];
  if (ent.limit !== null && decision.limit !== null) {
    const resetsAtMs = decision.resetsAt === null ? null : Date.parse(decision.resetsAt);
    items.push({
      policy: ent.name,
      quota: ent.limit.value,
      windowSeconds: windowSeconds(ent.limit, nowMs),
      remaining: decision.remaining,
      resetSeconds:
        resetsAtMs === null || Number.isNaN(resetsAtMs)
          ? null
          : Math.max(0, Math.ceil((resetsAtMs - nowMs) / 1000)),
    });
  }
  if (ent.rate !== null) {
    const refused = decision.reason === "rate_limited";
    items.push({
      policy: `${ent.name}.rate`,
      quota: ent.rate.limit,
      windowSeconds: Math.max(1, Math.round(ent.rate.windowMs / 1000)),
      remaining: refused ? 0 : null,
      resetSeconds: refused ? decision.retryAfterSeconds : null,
    });
  }
  return items;
}

/** The two header values for a list of items; absent when there is nothing to say. */
export function rateLimitHeaders(items: RateLimitItem[]): Record<string, string> {
  if (items.length === 0) return {};
  const headers: Record<string, string> = {
    "RateLimit-Policy": items
      .map(
        (item) =>
          `${sfString(item.policy)};q=${sfInteger(item.quota)}${item.windowSeconds === null ? "" : `;w=${sfInteger(item.windowSeconds)}`}`,
      )
      .join(", "),
  };
  const limits = items
    .filter((item) => item.remaining !== null)
    .map(
      (item) =>
        `${sfString(item.policy)};r=${sfInteger(item.remaining ?? 0)}${item.resetSeconds === null ? "" : `;t=${sfInteger(item.resetSeconds)}`}`,
    );
  if (limits.length > 0) headers.RateLimit = limits.join(", ");
  return headers;
}
