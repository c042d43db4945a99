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

// Period boundaries repeat on every call of a period: a small direct-mapped cache spares the Date work.
const ISO_SLOTS = 64;
const isoKeys = new Float64Array(ISO_SLOTS).fill(Number.NaN);
const isoValues: string[] = new Array(ISO_SLOTS).fill("");

/** ISO-8601 UTC, or null. */
export function isoOrNull(ms: number | null): string | null {
  if (ms === null) return null;
  const slot = Math.abs(ms % ISO_SLOTS) | 0;
  if (isoKeys[slot] === ms) return isoValues[slot] as string;
  const iso = new Date(ms).toISOString();
  isoKeys[slot] = ms;
  isoValues[slot] = iso;
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
