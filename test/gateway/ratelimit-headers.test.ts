/** RateLimit / RateLimit-Policy headers (pure): the structured-field form of the IETF draft. */
import { describe, expect, it } from "vitest";
import type { CompiledEntitlement, Decision } from "../../src/domain/types";
import { rateLimitHeaders, rateLimitItems } from "../../src/gateway/core/ratelimit-headers";

const NOW = Date.parse("2026-11-10T12:00:00Z");

const ent = (over: Partial<CompiledEntitlement>): CompiledEntitlement => ({
  name: "gpt4o_tokens",
  label: null,
  scope: "customer",
  credit: { name: "token", label: null, unit: "token", dimension: "word", factor: 1 },
  limit: {
    value: 50000,
    mode: "hard",
    increment: 1,
    minimum: 0,
    reset: { kind: "calendar", schedule: { kind: "monthly", day: 1 }, tz: "UTC", source: "monthly:1" },
    alerts: [],
  },
  rate: null,
  ...over,
});

const decision = (over: Partial<Decision>): Decision => ({
  allowed: true,
  outcome: "allowed",
  reason: "within_limit",
  message: "",
  customer: "c",
  meteredOn: "c",
  entitlement: "gpt4o_tokens",
  plan: "free",
  credit: "token",
  unit: "token",
  amount: 10,
  used: 1000,
  held: 234,
  limit: 50000,
  remaining: 48766,
  overage: 0,
  resetsAt: "2026-12-01T00:00:00.000Z",
  retryAfterSeconds: null,
  holdId: "hold_1",
  replayed: false,
  policyVersion: "v",
  ...over,
});

describe("RateLimit headers", () => {
  it("a monthly limit: q, w (this month's length), r and t", () => {
    const headers = rateLimitHeaders(rateLimitItems(decision({}), ent({}), NOW));
    expect(headers).toEqual({
      "RateLimit-Policy": '"gpt4o_tokens";q=50000;w=2592000',
      RateLimit: `"gpt4o_tokens";r=48766;t=${(Date.parse("2026-12-01T00:00:00Z") - NOW) / 1000}`,
    });
  });

  it("a gauge has no window or reset; a rate is a second policy, known remaining only when it refused", () => {
    const gauge = ent({
      limit: { value: 3, mode: "hard", increment: 1, minimum: 0, reset: { kind: "none" }, alerts: [] },
      rate: { limit: 100, windowMs: 60_000, burst: 100 },
    });
    expect(
      rateLimitHeaders(rateLimitItems(decision({ resetsAt: null, remaining: 2.5 }), gauge, NOW)),
    ).toEqual({
      "RateLimit-Policy": '"gpt4o_tokens";q=3, "gpt4o_tokens.rate";q=100;w=60',
      RateLimit: '"gpt4o_tokens";r=2',
    });
    const refused = decision({
      allowed: false,
      outcome: "denied",
      reason: "rate_limited",
      retryAfterSeconds: 7,
      resetsAt: null,
    });
    expect(rateLimitHeaders(rateLimitItems(refused, gauge, NOW)).RateLimit).toBe(
      '"gpt4o_tokens";r=48766, "gpt4o_tokens.rate";r=0;t=7',
    );
  });

  it("names are structured-field strings; refusals without meter values and flags say nothing", () => {
    // A quote and a backslash are escaped; a non-ASCII character cannot appear in an sf-string.
    const odd = ent({ name: 'say "hi"\\é' });
    expect(rateLimitHeaders(rateLimitItems(decision({}), odd, NOW))["RateLimit-Policy"]).toBe(
      '"say \\"hi\\"\\\\_";q=50000;w=2592000',
    );
    const notEntitled = decision({
      allowed: false,
      reason: "not_entitled",
      limit: null,
      remaining: null,
      used: null,
    });
    expect(rateLimitHeaders(rateLimitItems(notEntitled, ent({}), NOW))).toEqual({});
    expect(rateLimitHeaders(rateLimitItems(decision({ limit: null }), ent({ limit: null }), NOW))).toEqual(
      {},
    );
    expect(rateLimitHeaders(rateLimitItems(decision({}), undefined, NOW))).toEqual({});
  });
});
