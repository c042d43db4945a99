/**
 * The money rules of one metering call (SPEC §12.3), pure: meter state, limit, grants and the exchange in;
 * whether it is allowed, what grants cover, what is billed and the grants after it out. The meter itself
 * (used, held, periods, alerts) stays with ../meter.ts; the objects layer merges the two.
 *
 * - hard: all or nothing. Allowed when grants cover everything past the limit (holds included), and then
 *   drawn for the units this call records; else denied and no grant is touched. `hard_trailing` lets the
 *   call that crosses the limit through while `used` is below it, drawing nothing.
 * - soft: grants cover what they can; the rest is overage. observe: never draws.
 * - reserve counts usable grants but draws nothing; settle draws for its own overage and records the rest,
 *   even on a hard limit. release never credits grants.
 */
import type { Outcome } from "../types";
import { applyDraws, coverable, type Draw, planDraws, usableGrants } from "./draw";
import { runesFor } from "./exchange";
import { EPSILON, round9 } from "./numbers";
import type { CompiledMoney, Grant, MoneyLimit } from "./types";

export type MoneyOp = "check" | "consume" | "reserve" | "settle" | "release";

export type MoneyReason =
  | "within_limit"
  | "grant_applied"
  | "limit_exceeded"
  | "overage_recorded"
  | "observed"
  | "released";

export interface MoneyCall {
  op: MoneyOp;
  /** In the metered credit's unit. For a settle: the actual amount. */
  amount: number;
  /** The meter before the call, after its due period reset. For a settle, `held` no longer counts this hold. */
  used: number;
  held: number;
  limit: MoneyLimit;
  /** The metered credit. */
  credit: string;
  /** The meter owner's grants, already advanced to now (./grants.ts advanceGrants). */
  grants: readonly Grant[];
  money: CompiledMoney;
  /** What the call cost you in runes when known (the gateway's model cost), else amount × overhead_cost. */
  cost?: number | null;
}

export interface MoneyDecision {
  allowed: boolean;
  outcome: Outcome;
  reason: MoneyReason;
  /** Metered units covered by grants in this call (a check: would be covered). */
  grantApplied: number;
  /** Metered units the usable grants still cover after the call, net of holds already past the limit. */
  grantRemaining: number;
  /** Units this call adds to the meter's overage: past the limit and not covered by grants. */
  overage: number;
  /** Runes of that overage, at the curve from where it starts. */
  overagePrice: number;
  /** Runes for the billable units this call added, before grants (negative for a release). */
  priceDiff: number;
  /** Runes this call cost you. */
  overheadDiff: number;
  /** The owner's grants after the call (the input's grants when nothing was drawn). */
  grants: Grant[];
  /** What each grant gave up (empty unless a consume or settle drew). */
  draws: Draw[];
}

interface Parts {
  allowed: boolean;
  outcome: Outcome;
  reason: MoneyReason;
  grantApplied?: number;
  overage?: number;
  overagePrice?: number;
  priceDiff?: number;
  overheadDiff?: number;
  draws?: Draw[];
  usedAfter: number;
  heldAfter: number;
}

/** Apply the money rules of SPEC §12.3 to one call. */
export function decideMoney(call: MoneyCall): MoneyDecision {
  const { amount, used, held, limit, money } = call;
  const L = limit.value;
  const route = money.routes.get(call.credit);
  const position = Math.max(0, used - L);
  const overheadDiff = call.cost ?? amount * (money.credits.get(call.credit)?.overheadCost ?? 0);
  const grantsOn = limit.grantsApply && limit.mode !== "observe";
  const usable = grantsOn ? usableGrants(call.grants, call.credit, money.routes, money.exchange) : [];

  if (call.op === "release") {
    const usedAfter = Math.max(0, used - amount);
    const after = Math.max(0, usedAfter - L);
    const priceDiff = -runesFor(route, after, position - after);
    return finish(call, {
      allowed: true,
      outcome: "allowed",
      reason: "released",
      priceDiff,
      usedAfter,
      heldAfter: held,
    });
  }

  // Billable units the meter records for this call (holds are not usage), and all that must fit past the limit.
  const callOver = Math.max(0, used + amount - Math.max(L, used));
  const needTotal = Math.max(0, used + held + amount - Math.max(L, used));
  const priceDiff = runesFor(route, position, callOver);
  const records = call.op === "consume" || call.op === "settle";
  const usedAfter = records ? used + amount : used;
  const heldAfter = call.op === "reserve" ? held + amount : held;
  const common = {
    usedAfter,
    heldAfter,
    priceDiff: records ? priceDiff : 0,
    overheadDiff: records ? overheadDiff : 0,
  };

  if (limit.mode === "observe") {
    const over = used + held + amount > L + EPSILON;
    return finish(call, {
      allowed: true,
      outcome: over ? "observed" : "allowed",
      reason: over ? "observed" : "within_limit",
      ...common,
    });
  }

  if (call.op === "settle" || limit.mode === "soft") {
    if (call.op === "reserve") {
      // A soft reserve is always allowed; grants are only counted, never drawn.
      if (needTotal <= EPSILON)
        return finish(call, { allowed: true, outcome: "allowed", reason: "within_limit", ...common });
      const { covered } = planDraws(usable, position, needTotal);
      const full = covered >= needTotal - EPSILON;
      return finish(call, {
        allowed: true,
        outcome: full ? "allowed" : "overage",
        reason: full ? "grant_applied" : "overage_recorded",
        ...common,
      });
    }
    return partial(call, usable, position, callOver, common);
  }

  // Hard.
  if (needTotal <= EPSILON)
    return finish(call, { allowed: true, outcome: "allowed", reason: "within_limit", ...common });
  if (limit.hardTrailing && used < L) {
    const overagePrice = runesFor(route, position, callOver);
    return finish(call, {
      allowed: true,
      outcome: callOver > EPSILON && records ? "overage" : "allowed",
      reason: callOver > EPSILON && records ? "overage_recorded" : "within_limit",
      ...common,
      overage: records ? callOver : 0,
      overagePrice: records ? overagePrice : 0,
    });
  }
  const plan = planDraws(usable, position, needTotal);
  if (plan.covered < needTotal - EPSILON) {
    return finish(call, {
      allowed: false,
      outcome: "denied",
      reason: "limit_exceeded",
      usedAfter: used,
      heldAfter: held,
    });
  }
  const own = call.op === "reserve" ? null : planDraws(usable, position, callOver);
  return finish(call, {
    allowed: true,
    outcome: "allowed",
    reason: "grant_applied",
    ...common,
    grantApplied: own?.covered ?? 0,
    draws: call.op === "consume" ? own?.draws : [],
  });
}

/** Soft consume, check and any settle: grants cover what they can, the rest is overage. */
function partial(
  call: MoneyCall,
  usable: ReturnType<typeof usableGrants>,
  position: number,
  callOver: number,
  common: Pick<Parts, "usedAfter" | "heldAfter" | "priceDiff" | "overheadDiff">,
): MoneyDecision {
  const route = call.money.routes.get(call.credit);
  const { covered, draws } = planDraws(usable, position, callOver);
  const remainder = Math.max(0, callOver - covered);
  const outcome: Outcome = remainder > EPSILON ? "overage" : "allowed";
  const reason: MoneyReason =
    remainder > EPSILON ? "overage_recorded" : covered > EPSILON ? "grant_applied" : "within_limit";
  const records = call.op !== "check";
  return finish(call, {
    allowed: true,
    outcome,
    reason,
    ...common,
    grantApplied: covered,
    overage: records ? remainder : 0,
    overagePrice: records ? runesFor(route, position + covered, remainder) : 0,
    draws: records ? draws : [],
  });
}

function finish(call: MoneyCall, parts: Parts): MoneyDecision {
  const draws = parts.draws ?? [];
  const grants = draws.length === 0 ? [...call.grants] : applyDraws(call.grants, draws);
  const { limit, money } = call;
  let grantRemaining = 0;
  if (limit.grantsApply && limit.mode !== "observe") {
    const usable = usableGrants(grants, call.credit, money.routes, money.exchange);
    const positionAfter = Math.max(0, parts.usedAfter - limit.value);
    const heldPast = Math.max(0, parts.usedAfter + parts.heldAfter - Math.max(limit.value, parts.usedAfter));
    grantRemaining = Math.max(0, coverable(usable, positionAfter) - heldPast);
  }
  return {
    allowed: parts.allowed,
    outcome: parts.outcome,
    reason: parts.reason,
    grantApplied: round9(parts.grantApplied ?? 0),
    grantRemaining: round9(grantRemaining),
    overage: round9(parts.overage ?? 0),
    overagePrice: round9(parts.overagePrice ?? 0),
    priceDiff: round9(parts.priceDiff ?? 0),
    overheadDiff: round9(parts.overheadDiff ?? 0),
    grants,
    draws,
  };
}
