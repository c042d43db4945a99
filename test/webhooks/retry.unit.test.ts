import { describe, expect, it } from "vitest";
import { attemptOutcome, classifyStatus, RETRY_HORIZON_MS } from "../../src/webhooks/retry";

describe("what a receiver's answer means (SPEC §7)", () => {
  it.each([200, 201, 202, 204, 299])("%i delivers", (status) => {
    expect(classifyStatus(status)).toEqual({ kind: "delivered" });
  });

  it.each([408, 409, 425, 429, 500, 502, 503, 504, 599, 301, 302, 307])("%i is retried", (status) => {
    expect(classifyStatus(status)).toEqual({ kind: "retryable", error: `receiver answered ${status}` });
  });

  it.each([400, 401, 403, 404, 405, 410, 413, 415, 422, 451])("%i is a permanent refusal", (status) => {
    expect(classifyStatus(status)).toEqual({ kind: "permanent", error: `receiver answered ${status}` });
  });
});

describe("the retry horizon", () => {
  const retryable = { kind: "retryable", error: "receiver answered 503" } as const;
  const t0 = 1_700_000_000_000;

  it("retries after the backoff while the next attempt falls within 3 days of the first", () => {
    const outcome = attemptOutcome(retryable, 0, t0, t0, 1);
    expect(outcome).toEqual({ kind: "retry", atMs: t0, nextAttemptAt: t0 + 1000, error: retryable.error });
    // Capped at 5 minutes, however many attempts came before.
    const late = attemptOutcome(retryable, 40, t0, t0 + RETRY_HORIZON_MS - 300_000, 1);
    expect(late).toMatchObject({ kind: "retry", nextAttemptAt: t0 + RETRY_HORIZON_MS });
  });

  it("fails when the next attempt would fall past 3 days from the first", () => {
    const outcome = attemptOutcome(retryable, 40, t0, t0 + RETRY_HORIZON_MS - 299_999, 1);
    expect(outcome).toEqual({
      kind: "failed",
      atMs: t0 + RETRY_HORIZON_MS - 299_999,
      error: "receiver answered 503; gave up after 3 days of retries",
    });
  });

  it("fails a permanent refusal at once, and delivers a 2xx, whatever the horizon", () => {
    const refusal = { kind: "permanent", error: "receiver answered 400" } as const;
    expect(attemptOutcome(refusal, 0, t0, t0, 0.5)).toEqual({
      kind: "failed",
      atMs: t0,
      error: "receiver answered 400 (a permanent refusal)",
    });
    expect(attemptOutcome({ kind: "delivered" }, 99, t0 - RETRY_HORIZON_MS * 2, t0, 0.5)).toEqual({
      kind: "delivered",
      atMs: t0,
    });
  });
});
