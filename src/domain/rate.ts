/** Token-bucket rates (SPEC §2 entitlement `rate`, §3.2, §11). */
import type { BucketState, CompiledRate } from "./types";

/** The bucket refilled up to `nowMs`; a bucket never drained is full. */
export function refillBucket(bucket: BucketState | null, rate: CompiledRate, nowMs: number): BucketState {
  if (bucket === null) return { tokens: rate.burst, updatedAt: nowMs };
  const elapsedMs = Math.max(0, nowMs - bucket.updatedAt);
  const tokens = Math.min(rate.burst, bucket.tokens + (elapsedMs * rate.limit) / rate.windowMs);
  return { tokens, updatedAt: Math.max(nowMs, bucket.updatedAt) };
}

/** Whether the bucket holds `amount`, and if not, when it will (null: never, the amount exceeds `burst`). */
export function rateVerdict(
  bucket: BucketState,
  rate: CompiledRate,
  amount: number,
): { ok: true } | { ok: false; retryAfterSeconds: number | null } {
  if (amount <= bucket.tokens) return { ok: true };
  if (amount > rate.burst) return { ok: false, retryAfterSeconds: null };
  const waitMs = ((amount - bucket.tokens) * rate.windowMs) / rate.limit;
  return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
}

/** The bucket after drawing `amount`; it never goes below empty (observe mode drains without denying). */
export function drainBucket(bucket: BucketState, amount: number): BucketState {
  return { tokens: Math.max(0, bucket.tokens - amount), updatedAt: bucket.updatedAt };
}
