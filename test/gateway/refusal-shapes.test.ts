/**
 * Which OpenAI-shaped answer each denial reason becomes (SPEC §6, §11 "Bounds"): quota and rate refusals
 * are 429s the SDK retries or raises as `RateLimitError`; entitlement problems are 403s named by reason.
 */
import { describe, expect, it } from "vitest";
import type { Decision, Reason } from "../../src/domain/types";
import { refusalFor } from "../../src/gateway/openai/errors";

function denial(reason: Reason, retryAfterSeconds: number | null = null): Decision {
  return {
    allowed: false,
    outcome: "denied",
    reason,
    message: `denied: ${reason}`,
    customer: "c",
    meteredOn: "c",
    entitlement: "tokens",
    plan: "free",
    credit: "token",
    unit: "token",
    amount: 1,
    used: 0,
    held: 0,
    limit: 1,
    remaining: 0,
    overage: 0,
    resetsAt: null,
    retryAfterSeconds,
    holdId: null,
    replayed: false,
    policyVersion: "v",
  };
}

describe("refusalFor", () => {
  it("an allowed decision is no refusal", () => {
    expect(refusalFor({ ...denial("within_limit"), allowed: true, outcome: "allowed" })).toBeNull();
  });

  it.each([
    ["limit_exceeded", 429, "insufficient_quota"],
    ["rate_limited", 429, "rate_limit_exceeded"],
    ["too_many_holds", 429, "rate_limit_exceeded"],
    ["not_entitled", 403, "not_entitled"],
    ["no_org", 403, "no_org"],
    ["plan_not_found", 403, "plan_not_found"],
    ["unknown_customer", 401, "invalid_api_key"],
  ] as const)("%s → %i %s", (reason, status, code) => {
    const refusal = refusalFor(denial(reason, 3));
    expect(refusal?.status).toBe(status);
    expect(refusal?.code).toBe(code);
  });

  it("too_many_holds is retryable: Retry-After is set, since holds in flight settle", () => {
    expect(refusalFor(denial("too_many_holds"))?.headers["Retry-After"]).toBe("1");
  });
});
