/**
 * Grant lifecycle (SPEC §12.3), applied lazily at `nowMs`: expiry, rolling and calendar resets in a zone with
 * the three reset modes and their clamps, `max_balance`, the catch-up cap, and drained grants removed.
 */
import { calendarPeriod } from "../calendar";
import type { ResetRule } from "../types";
import { EPSILON } from "./numbers";
import type { CompiledTopup, Grant, GrantTerms } from "./types";

/** An event the lifecycle emits; the object adds id, seq, at, customer and meteredOn. */
export interface GrantEvent {
  type: "grant.reset" | "grant.expired";
  data: Record<string, unknown>;
}

// Missed periods beyond this are folded: `hard` needs one, `add` is closed-form, a rollover has converged.
const MAX_STEPS = 10_000;

/** The first reset after `fromMs`, or null for a grant that does not reset. */
function nextBoundary(rule: ResetRule, fromMs: number): number | null {
  if (rule.kind === "none") return null;
  if (rule.kind === "rolling") return fromMs + rule.periodMs;
  return calendarPeriod(rule.schedule, rule.tz, fromMs).end;
}

/** A new grant from a top-up, bought (or included) at `nowMs`. */
export function createGrant(topup: CompiledTopup, id: string, nowMs: number, included = false): Grant {
  const { terms } = topup;
  return {
    id,
    topup: topup.name,
    credit: topup.credit,
    balance: terms.value,
    startingValue: terms.value,
    createdAt: nowMs,
    expiresAt: topup.expiresAfterMs === null ? null : nowMs + topup.expiresAfterMs,
    resets: terms.reset.kind !== "none",
    resetMode: terms.resetMode,
    nextResetAt: nextBoundary(terms.reset, nowMs),
    included,
    terms,
  };
}

/** One reset of `balance` by the grant's terms. */
export function resetBalance(balance: number, terms: GrantTerms): number {
  let next: number;
  if (terms.resetMode === "hard") next = terms.value;
  else if (terms.resetMode === "add") next = balance + terms.value;
  else {
    let carry = balance * terms.rolloverPct;
    if (terms.rolloverMin !== null) carry = Math.max(carry, terms.rolloverMin);
    if (terms.rolloverMax !== null) carry = Math.min(carry, terms.rolloverMax);
    next = terms.value + carry;
  }
  return terms.maxBalance === null ? next : Math.min(next, terms.maxBalance);
}

/** `count` resets in a row, without looping a million times for a long-idle grant. */
function applyResets(balance: number, terms: GrantTerms, count: number): number {
  if (count <= 0) return balance;
  if (terms.resetMode === "hard") return resetBalance(balance, terms);
  if (terms.resetMode === "add") {
    const grown = balance + count * terms.value;
    return terms.maxBalance === null ? grown : Math.min(grown, terms.maxBalance);
  }
  let previous = balance;
  let current = balance;
  for (let i = 0; i < count; i++) {
    if (i === MAX_STEPS) return current + (current - previous) * (count - i); // linear regime (pct 1, no clamp)
    previous = current;
    current = resetBalance(current, terms);
    if (Math.abs(current - previous) <= EPSILON * Math.max(1, Math.abs(current))) return current;
  }
  return current;
}

/** Missed boundaries from `nextResetAt` up to `nowMs` and the boundary after them. */
function missedResets(rule: ResetRule, nextResetAt: number, nowMs: number): { missed: number; next: number } {
  if (rule.kind === "rolling") {
    const missed = Math.floor((nowMs - nextResetAt) / rule.periodMs) + 1;
    return { missed, next: nextResetAt + missed * rule.periodMs };
  }
  if (rule.kind === "none") return { missed: 0, next: nextResetAt };
  let missed = 0;
  let boundary = nextResetAt;
  while (boundary <= nowMs) {
    missed++;
    if (missed > MAX_STEPS) return { missed, next: calendarPeriod(rule.schedule, rule.tz, nowMs).end };
    boundary = calendarPeriod(rule.schedule, rule.tz, boundary).end;
  }
  return { missed, next: boundary };
}

/**
 * The grant as of `nowMs`: null when it expired or is drained and does not reset, else the same object when
 * nothing was due, or a copy after its due resets. Events say what happened.
 */
export function advanceGrant(grant: Grant, nowMs: number): { grant: Grant | null; events: GrantEvent[] } {
  if (grant.expiresAt !== null && nowMs >= grant.expiresAt) {
    return {
      grant: null,
      events: [{ type: "grant.expired", data: grantData(grant, { expiresAt: grant.expiresAt }) }],
    };
  }
  if (!grant.resets || grant.nextResetAt === null || nowMs < grant.nextResetAt) {
    return { grant: isDrained(grant) ? null : grant, events: [] };
  }
  const { missed, next } = missedResets(grant.terms.reset, grant.nextResetAt, nowMs);
  const applied = grant.terms.catchupCap === null ? missed : Math.min(missed, grant.terms.catchupCap);
  const balance = applyResets(grant.balance, grant.terms, applied);
  const reset: Grant = { ...grant, balance, nextResetAt: next };
  const data = grantData(reset, {
    previousBalance: grant.balance,
    resets: applied,
    skipped: missed - applied,
  });
  return { grant: reset, events: [{ type: "grant.reset", data }] };
}

/** Every grant as of `nowMs`, in the same order, with the lifecycle's events. */
export function advanceGrants(
  grants: readonly Grant[],
  nowMs: number,
): { grants: Grant[]; events: GrantEvent[] } {
  const kept: Grant[] = [];
  const events: GrantEvent[] = [];
  for (const grant of grants) {
    const advanced = advanceGrant(grant, nowMs);
    events.push(...advanced.events);
    if (advanced.grant !== null) kept.push(advanced.grant);
  }
  return { grants: kept, events };
}

/** A drained grant that does not reset is removed; one that resets stays at 0. */
export function isDrained(grant: Grant): boolean {
  return !grant.resets && grant.balance <= EPSILON;
}

function grantData(grant: Grant, extra: Record<string, unknown>): Record<string, unknown> {
  return { grantId: grant.id, topup: grant.topup, credit: grant.credit, balance: grant.balance, ...extra };
}

/** `balances` of the customer view: the sum of balances per grant credit. */
export function balancesOf(grants: readonly Grant[]): Record<string, number> {
  const sums: Record<string, number> = Object.create(null);
  for (const grant of grants) sums[grant.credit] = (sums[grant.credit] ?? 0) + grant.balance;
  return sums;
}
