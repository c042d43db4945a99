/**
 * What one delivery attempt comes to (SPEC §7): pure rules, so they are tested on Node. A 2xx delivers; 408,
 * 409, 425, 429, 5xx, no answer in 10 s or a network error are retried with backoff for up to 3 days from
 * the first attempt; any other 4xx is a permanent refusal. Both ends of the road are `failed`.
 */
import { backoffMs } from "./signature";

/** Retries stop this long after an event's first attempt (SPEC §7). */
export const RETRY_HORIZON_MS = 3 * 24 * 60 * 60 * 1000;

/** How one attempt went, before the horizon is looked at. */
export type AttemptVerdict =
  | { kind: "delivered" }
  | { kind: "retryable"; error: string }
  | { kind: "permanent"; error: string };

/** What one attempt does to the event: delivered, due again at `nextAttemptAt`, or failed. */
export type AttemptOutcome =
  | { kind: "delivered"; atMs: number }
  | { kind: "retry"; atMs: number; nextAttemptAt: number; error: string }
  | { kind: "failed"; atMs: number; error: string };

/** The verdict of a receiver's status code. A 3xx is not followed, and is retried like a 5xx. */
export function classifyStatus(status: number): AttemptVerdict {
  if (status >= 200 && status < 300) return { kind: "delivered" };
  const error = `receiver answered ${status}`;
  const retryable = [408, 409, 425, 429].includes(status) || status < 400 || status >= 500;
  return retryable ? { kind: "retryable", error } : { kind: "permanent", error };
}

/**
 * The outcome of an attempt that ended at `nowMs`: a retry is due after the backoff for attempt
 * `attemptsBefore + 1`, unless that falls past the horizon counted from `firstAttemptAt`; then it fails.
 */
export function attemptOutcome(
  verdict: AttemptVerdict,
  attemptsBefore: number,
  firstAttemptAt: number,
  nowMs: number,
  random: number,
): AttemptOutcome {
  if (verdict.kind === "delivered") return { kind: "delivered", atMs: nowMs };
  if (verdict.kind === "permanent") {
    return { kind: "failed", atMs: nowMs, error: `${verdict.error} (a permanent refusal)` };
  }
  const nextAttemptAt = nowMs + backoffMs(attemptsBefore + 1, random);
  if (nextAttemptAt > firstAttemptAt + RETRY_HORIZON_MS) {
    return { kind: "failed", atMs: nowMs, error: `${verdict.error}; gave up after 3 days of retries` };
  }
  return { kind: "retry", atMs: nowMs, nextAttemptAt, error: verdict.error };
}
