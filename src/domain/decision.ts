/** Builders for the decision object of SPEC §3.3. */
import { shown } from "./money/numbers";
import type { CompiledEntitlement, Decision, MeterState, Outcome, Reason } from "./types";

/** Who asked, where it is metered, under which plan and policy, and when. */
export interface DecisionContext {
  customer: string;
  meteredOn: string;
  plan: string;
  entitlement: CompiledEntitlement;
  policyVersion: string;
  nowMs: number;
}

// Period boundaries repeat on every call of a period: a small cache spares the Date work. Two ways per set,
// the most recent first, so two hot times that share a set do not evict each other. The set mixes all the
// bits of the time: boundaries are whole days (multiples of 2^10 ms), so low bits alone would put every
// midnight in one set.
const ISO_SET_BITS = 7;
const ISO_ENTRIES = 2 << ISO_SET_BITS;
const isoKeys = new Float64Array(ISO_ENTRIES).fill(Number.NaN);
const isoValues: string[] = new Array(ISO_ENTRIES).fill("");

/** First entry of the set of `ms` (NaN and infinities land anywhere: they are never stored). */
function isoEntry(ms: number): number {
  const lo = ms >>> 0; // low 32 bits of the integer part
  const hi = (ms / 4294967296) | 0;
  return (Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1) >>> (32 - ISO_SET_BITS)) << 1;
}

/** ISO-8601 UTC, or null. */
export function isoOrNull(ms: number | null): string | null {
  if (ms === null) return null;
  const first = isoEntry(ms);
  if (isoKeys[first] === ms) return isoValues[first] as string;
  const second = first + 1;
  const iso = isoKeys[second] === ms ? (isoValues[second] as string) : new Date(ms).toISOString();
  isoKeys[second] = isoKeys[first] as number;
  isoValues[second] = isoValues[first] as string;
  isoKeys[first] = ms;
  isoValues[first] = iso;
  return iso;
}

/** A decision about a limited entitlement, from the meter as it is after the call. */
export function meterDecision(
  ctx: DecisionContext,
  outcome: Outcome,
  reason: Reason,
  message: string,
  amount: number,
  meter: MeterState,
  resetsAtMs: number | null,
  extra: { retryAfterSeconds?: number | null; holdId?: string | null } = {},
): Decision {
  const ent = ctx.entitlement;
  const limit = ent.limit?.value ?? 0;
  return {
    allowed: outcome !== "denied",
    outcome,
    reason,
    message,
    customer: ctx.customer,
    meteredOn: ctx.meteredOn,
    entitlement: ent.name,
    plan: ctx.plan,
    credit: ent.credit?.name ?? null,
    unit: ent.credit?.unit ?? null,
    amount,
    // Storage never rounds; answers show fractions (money) to 1e-9 (SPEC §12), so a sum of holds settled
    // back to zero shows 0, not a float residue.
    used: shown(meter.used),
    held: shown(meter.held),
    limit,
    remaining: shown(Math.max(0, limit - meter.used - meter.held)),
    overage: shown(meter.overage),
    resetsAt: isoOrNull(resetsAtMs),
    retryAfterSeconds: extra.retryAfterSeconds ?? null,
    holdId: extra.holdId ?? null,
    replayed: false,
    policyVersion: ctx.policyVersion,
  };
}

/** A decision about a feature flag (an entitlement without a limit). */
export function flagDecision(
  ctx: DecisionContext,
  outcome: Outcome,
  reason: Reason,
  message: string,
  amount: number,
  retryAfterSeconds: number | null = null,
): Decision {
  return {
    allowed: outcome !== "denied",
    outcome,
    reason,
    message,
    customer: ctx.customer,
    meteredOn: ctx.meteredOn,
    entitlement: ctx.entitlement.name,
    plan: ctx.plan,
    credit: null,
    unit: null,
    amount,
    used: 0,
    held: 0,
    limit: null,
    remaining: null,
    overage: 0,
    resetsAt: null,
    retryAfterSeconds,
    holdId: null,
    replayed: false,
    policyVersion: ctx.policyVersion,
  };
}

/** A decision reached before any meter: unknown customer, no org, no plan, not entitled. */
export function refusalDecision(args: {
  customer: string;
  entitlement: string;
  reason: "unknown_customer" | "no_org" | "plan_not_found" | "not_entitled";
  message: string;
  plan: string | null;
  meteredOn: string | null;
  amount: number;
  policyVersion: string;
}): Decision {
  return {
    allowed: false,
    outcome: "denied",
    reason: args.reason,
    message: args.message,
    customer: args.customer,
    meteredOn: args.reason === "unknown_customer" || args.reason === "no_org" ? null : args.meteredOn,
    entitlement: args.entitlement,
    plan: args.plan,
    credit: null,
    unit: null,
    amount: args.amount,
    used: null,
    held: null,
    limit: null,
    remaining: null,
    overage: null,
    resetsAt: null,
    retryAfterSeconds: null,
    holdId: null,
    replayed: false,
    policyVersion: args.policyVersion,
  };
}
