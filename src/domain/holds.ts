/** Hold lifecycle outside settle: expiry by alarm (SPEC §3.5). */
import { holdExpiredEvent } from "./meter";
import type { DomainEvent, Hold, MeterState } from "./types";

/** How long an expired hold stays settleable (SPEC §11). */
export const EXPIRED_HOLD_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Default and maximum hold ttl (SPEC §3.5, §11). */
export const DEFAULT_HOLD_TTL_MS = 10 * 60 * 1000;
export const MAX_HOLD_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Expire a live hold whose ttl has passed: its amount leaves `held`, it stays settleable for 24 h.
 * Returns null when the hold is not due (or already expired).
 */
export function expireHold(
  meter: MeterState | undefined,
  hold: Hold,
  plan: string | null,
  nowMs: number,
): { meter: MeterState | null; hold: Hold; event: DomainEvent } | null {
  if (hold.expired || hold.expiresAt > nowMs) return null;
  const next = meter === undefined ? null : { ...meter, held: Math.max(0, meter.held - hold.amount) };
  return { meter: next, hold: { ...hold, expired: true }, event: holdExpiredEvent({ plan }, hold) };
}

/** True when an expired hold is past its settle window and can be forgotten. */
export function isHoldForgotten(hold: Hold, nowMs: number): boolean {
  return hold.expired && hold.expiresAt + EXPIRED_HOLD_RETENTION_MS <= nowMs;
}
