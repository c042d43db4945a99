/**
 * The metering core: check, consume, release, reserve and settle against one meter (SPEC §3.1–§3.5, §11).
 * Pure: state in, state and events out; the caller stores what it returns.
 */
import { evaluateAlerts } from "./alerts";
import { type DecisionContext, flagDecision, isoOrNull, meterDecision } from "./decision";
import { decideMoney, type MoneyDecision, type MoneyOp } from "./money/decide";
import { round9 } from "./money/numbers";
import type { CompiledMoney, Grant } from "./money/types";
import { advancePeriod, emptyMeter, type ResetInfo, resetsAtMs } from "./periods";
import { drainBucket, rateVerdict, refillBucket } from "./rate";
import { type SettleUsage, usageEventData } from "./token-usage";
import type {
  BucketState,
  CompiledLimit,
  Decision,
  DomainEvent,
  Hold,
  MeterState,
  Outcome,
  Reason,
} from "./types";

export type MeterRequest =
  | { op: "check"; amount: number | null }
  | { op: "consume"; amount: number | null }
  | { op: "release"; amount: number | null }
  | { op: "reserve"; amount: number | null; holdId: string; ttlMs: number }
  | { op: "settle"; hold: Hold; amount: number | null; usage?: SettleUsage | null };

/**
 * The money side of a call (SPEC §12): the policy's money, the meter owner's grants (already advanced to now),
 * and what the call cost you when the caller knows it (the gateway's model cost; else amount × overhead_cost).
 */
export interface MeterMoney {
  money: CompiledMoney;
  grants: readonly Grant[];
  cost?: number | null;
}

export interface MeterResult {
  decision: Decision;
  /** The owner's grants to store after the call, or null when no grant changed. */
  grants: Grant[] | null;
  /** The meter to store, or null when nothing changed (a check, a denial). */
  meter: MeterState | null;
  /** Reserve: the hold created. Settle: the hold, now finished (the caller deletes it). */
  hold: Hold | null;
  events: DomainEvent[];
}

/** Apply one request to a meter. A denial changes nothing; reads compute due resets without storing them. */
export function applyMeter(
  stored: MeterState | undefined,
  ctx: DecisionContext,
  req: MeterRequest,
  money?: MeterMoney,
): MeterResult {
  const limit = ctx.entitlement.limit;
  if (limit === null) return applyFlag(stored, ctx, req);
  const amount = req.op === "settle" ? (req.amount ?? req.hold.amount) : (req.amount ?? limit.increment);
  const records = req.op !== "check";
  const advanced = advancePeriod(stored ?? emptyMeter(), limit, ctx.nowMs, records);
  const events: DomainEvent[] = [];
  if (advanced.reset !== null) events.push(resetEvent(ctx, advanced.reset));
  const meter = advanced.meter;
  const priced = money === undefined ? null : moneyOf(meter, limit, ctx, req, amount, money);

  switch (req.op) {
    case "check":
    case "consume":
    case "reserve":
      return admit(meter, limit, ctx, req, amount, events, priced);
    case "release":
      return release(meter, limit, ctx, amount, events, priced);
    case "settle":
      return settle(
        meter,
        limit,
        ctx,
        req.hold,
        amount,
        events,
        req.usage ?? null,
        priced,
        money?.cost ?? null,
      );
  }
}

/** A call's money decision and how to ask again about the grants as they stand (for a denial). */
interface Priced {
  decision: MoneyDecision;
  /** Runes this call cost you, unrounded (storage never rounds). */
  cost: number;
  /** `grantRemaining` with nothing changed (a denial, a rate refusal). */
  standing: () => number;
}

function moneyOf(
  meter: MeterState,
  limit: CompiledLimit,
  ctx: DecisionContext,
  req: MeterRequest,
  amount: number,
  money: MeterMoney,
): Priced {
  // A settle's own hold no longer counts in `held` (an expired one already stopped counting).
  const held =
    req.op === "settle" && !req.hold.expired ? Math.max(0, meter.held - req.hold.amount) : meter.held;
  const call = {
    used: meter.used,
    held,
    limit: {
      value: limit.value,
      mode: limit.mode,
      grantsApply: limit.grantsApply ?? true,
      hardTrailing: limit.hardTrailing ?? false,
    },
    credit: ctx.entitlement.credit?.name ?? "",
    grants: money.grants,
    money: money.money,
    cost: money.cost ?? null,
  };
  const op: MoneyOp = req.op;
  const overheadCost = money.money.credits.get(call.credit)?.overheadCost ?? 0;
  return {
    decision: decideMoney({ ...call, op, amount }),
    cost: money.cost ?? amount * overheadCost,
    standing: () => decideMoney({ ...call, held: meter.held, op: "check", amount: 0 }).grantRemaining,
  };
}

/** The decision with its grant fields (SPEC §12.3); `remaining` counts what grants still cover. */
function withGrants(decision: Decision, grantApplied: number, grantRemaining: number): Decision {
  decision.grantApplied = grantApplied;
  decision.grantRemaining = grantRemaining;
  if (decision.remaining !== null) decision.remaining = round9(decision.remaining + grantRemaining);
  return decision;
}

/** The money fields of a recorded change's `meter.changed` / `meter.overage` event (SPEC §12.1). */
function moneyData(priced: Priced, meter: MeterState): Record<string, unknown> {
  const m = priced.decision;
  return {
    priceDiff: m.priceDiff,
    overheadDiff: m.overheadDiff,
    overagePrice: m.overagePrice,
    grantApplied: m.grantApplied,
    overhead: round9(meter.overhead ?? 0),
  };
}

/** Record the call's cost in the period's overhead. */
function addOverhead(meter: MeterState, priced: Priced | null): void {
  if (priced === null) return;
  const diff = priced.cost;
  if (diff !== 0 || meter.overhead !== undefined) meter.overhead = (meter.overhead ?? 0) + diff;
}

function admit(
  meter: MeterState,
  limit: CompiledLimit,
  ctx: DecisionContext,
  req: Extract<MeterRequest, { op: "check" | "consume" | "reserve" }>,
  amount: number,
  events: DomainEvent[],
  priced: Priced | null,
): MeterResult {
  const ent = ctx.entitlement;
  const overLimit = meter.used + meter.held + amount > limit.value;
  let bucket: BucketState | null = null;
  let retryAfterSeconds: number | null = null;
  let rateOk = true;
  if (ent.rate !== null) {
    bucket = refillBucket(meter.bucket, ent.rate, ctx.nowMs);
    const verdict = rateVerdict(bucket, ent.rate, amount);
    if (!verdict.ok) {
      rateOk = false;
      retryAfterSeconds = verdict.retryAfterSeconds;
    }
  }
  const resetsAt = resetsAtMs(meter, limit, ctx.nowMs);
  // Grants (SPEC §12.3) may admit a hard call past the limit, or `hard_trailing` the call that crosses it.
  const denied = priced === null ? overLimit : !priced.decision.allowed;
  // When a limit and a rate would both deny, the reason is the limit (§11).
  if (limit.mode === "hard" && denied) {
    const held = meter.held > 0 ? `, ${meter.held} held` : "";
    const message = `${ent.name}: ${meter.used} of ${limit.value} ${unitOf(ctx)} used${held}, ${amount} requested`;
    const decision = meterDecision(ctx, "denied", "limit_exceeded", message, amount, meter, resetsAt);
    if (priced !== null) withGrants(decision, 0, priced.standing());
    // A denial stores nothing, so it emits no due reset either (the next recorded change stores and emits it).
    const refused = req.op === "check" ? [] : [limitReachedEvent(ctx, req.op, amount, meter, limit)];
    return { decision, meter: null, hold: null, grants: null, events: refused };
  }
  if (!rateOk && limit.mode !== "observe") {
    const rate = ent.rate;
    const retry =
      retryAfterSeconds === null ? "the amount exceeds the burst" : `retry in ${retryAfterSeconds}s`;
    const message = `${ent.name}: rate of ${rate?.limit} ${unitOf(ctx)} per ${rate?.windowMs}ms exceeded, ${retry}`;
    const decision = meterDecision(ctx, "denied", "rate_limited", message, amount, meter, resetsAt, {
      retryAfterSeconds,
    });
    if (priced !== null) withGrants(decision, 0, priced.standing());
    return { decision, meter: null, hold: null, grants: null, events: [] };
  }

  const [outcome, reason] =
    priced?.decision.reason === "grant_applied"
      ? (["allowed", "grant_applied"] as const)
      : overLimit
        ? overOutcome(limit)
        : (["allowed", "within_limit"] as const);
  if (req.op === "check") {
    const message = `${ent.name}: ${meter.used} of ${limit.value} ${unitOf(ctx)} used, ${amount} would be ${outcome === "overage" || outcome === "observed" ? "recorded over the limit" : "allowed"}`;
    const decision = meterDecision(ctx, outcome, reason, message, amount, meter, resetsAt);
    if (priced !== null) withGrants(decision, priced.decision.grantApplied, priced.decision.grantRemaining);
    return { decision, meter: null, hold: null, grants: null, events: [] };
  }

  const next: MeterState = { ...meter, bucket: bucket === null ? meter.bucket : drainBucket(bucket, amount) };
  let hold: Hold | null = null;
  if (req.op === "consume") {
    addOverhead(next, priced);
    recordUsage(next, limit, amount, ctx, events, priced);
  } else {
    next.held = meter.held + amount;
    hold = {
      id: req.holdId,
      entitlement: ent.name,
      customer: ctx.customer,
      amount,
      createdAt: ctx.nowMs,
      expiresAt: ctx.nowMs + req.ttlMs,
      expired: false,
    };
  }
  events.push(changedEvent(ctx, req.op, amount, next, limit, hold?.id ?? null, priced));
  evaluateAlerts(next, limit, ctx, events);
  const message = `${ent.name}: ${next.used} of ${limit.value} ${unitOf(ctx)} used${next.held > 0 ? `, ${next.held} held` : ""}`;
  const decision = meterDecision(
    ctx,
    outcome,
    reason,
    message,
    amount,
    next,
    resetsAtMs(next, limit, ctx.nowMs),
    {
      holdId: hold?.id ?? null,
    },
  );
  if (priced !== null) withGrants(decision, priced.decision.grantApplied, priced.decision.grantRemaining);
  return { decision, meter: next, hold, grants: drawn(priced), events };
}

/** The grants to store when the call drew on them. */
function drawn(priced: Priced | null): Grant[] | null {
  return priced === null || priced.decision.draws.length === 0 ? null : priced.decision.grants;
}

function release(
  meter: MeterState,
  limit: CompiledLimit,
  ctx: DecisionContext,
  amount: number,
  events: DomainEvent[],
  priced: Priced | null,
): MeterResult {
  // Never below the floor, and never raised to it by a release.
  const used = Math.max(Math.min(meter.used, limit.minimum), meter.used - amount);
  const next: MeterState = { ...meter, used };
  // A gauge's overage follows it down; never above what grants left uncovered (a release credits no grant).
  if (limit.reset.kind === "none") next.overage = Math.min(meter.overage, gaugeOverage(used, limit));
  const changed = changedEvent(ctx, "release", amount, next, limit, null, priced);
  // What the release took off `used`: the amount, unless the floor stopped it (the read model subtracts this).
  changed.data.released = used === meter.used - amount ? amount : meter.used - used;
  events.push(changed);
  evaluateAlerts(next, limit, ctx, events);
  const message = `${ctx.entitlement.name}: released ${amount} ${unitOf(ctx)}, ${used} of ${limit.value} used`;
  const decision = meterDecision(
    ctx,
    "allowed",
    "released",
    message,
    amount,
    next,
    resetsAtMs(next, limit, ctx.nowMs),
  );
  if (priced !== null) withGrants(decision, 0, priced.decision.grantRemaining);
  return { decision, meter: next, hold: null, grants: null, events };
}

function settle(
  meter: MeterState,
  limit: CompiledLimit,
  ctx: DecisionContext,
  hold: Hold,
  amount: number,
  events: DomainEvent[],
  usage: SettleUsage | null,
  priced: Priced | null,
  callerCost: number | null,
): MeterResult {
  const expired = hold.expired || hold.expiresAt <= ctx.nowMs;
  // An expired hold no longer counts in `held` (the alarm may not have run yet).
  const next: MeterState = {
    ...meter,
    held: hold.expired ? meter.held : Math.max(0, meter.held - hold.amount),
  };
  if (!hold.expired && expired) events.push(holdExpiredEvent(ctx, hold));
  let outcome: Outcome = "allowed";
  let reason: Reason = amount === 0 ? "released" : "within_limit";
  if (amount > 0) {
    addOverhead(next, priced);
    recordUsage(next, limit, amount, ctx, events, priced);
    if (priced !== null && limit.mode !== "observe") {
      // Grants drew for the settle's own overage; only what they left is overage (SPEC §12.3).
      const m = priced.decision;
      if (m.overage > 0) [outcome, reason] = overOutcome(limit);
      else if (m.reason === "grant_applied") reason = "grant_applied";
    } else if (next.used > limit.value) [outcome, reason] = overOutcome(limit);
  }
  if (expired) reason = "hold_expired";
  const changed = changedEvent(ctx, "settle", amount, next, limit, hold.id, priced);
  // A gateway settle says what the amount was made of (SPEC §6): the token classes, the model, the door.
  if (usage !== null) changed.data.usage = usageEventData(usage);
  // ...and, when the model is priced, what the call cost in runes (SPEC §12.4).
  if (usage !== null && callerCost !== null) changed.data.cost = round9(callerCost);
  events.push(changed);
  evaluateAlerts(next, limit, ctx, events);
  const message = expired
    ? `${ctx.entitlement.name}: hold ${hold.id} had expired; ${amount} ${unitOf(ctx)} recorded, ${next.used} of ${limit.value} used`
    : `${ctx.entitlement.name}: settled ${amount} of ${hold.amount} held ${unitOf(ctx)}, ${next.used} of ${limit.value} used`;
  const decision = meterDecision(
    ctx,
    outcome,
    reason,
    message,
    amount,
    next,
    resetsAtMs(next, limit, ctx.nowMs),
    {
      holdId: hold.id,
    },
  );
  if (priced !== null) withGrants(decision, priced.decision.grantApplied, priced.decision.grantRemaining);
  return { decision, meter: next, hold: { ...hold, expired }, grants: drawn(priced), events };
}

/** Add recorded usage, with overage and its event, to the caller's own copy of the meter. */
function recordUsage(
  meter: MeterState,
  limit: CompiledLimit,
  amount: number,
  ctx: DecisionContext,
  events: DomainEvent[],
  priced: Priced | null,
): void {
  const wasUsed = meter.used;
  const wasOverage = meter.overage;
  meter.used = wasUsed + amount;
  if (limit.mode !== "observe") {
    // Counters accumulate what went past the limit this period; a gauge's overage is where it stands. Only
    // what grants did not cover counts (SPEC §12.3).
    const added =
      priced === null ? Math.max(0, meter.used - Math.max(limit.value, wasUsed)) : priced.decision.overage;
    meter.overage =
      limit.reset.kind === "none"
        ? Math.min(gaugeOverage(meter.used, limit), wasOverage + added)
        : wasOverage + added;
  }
  if (meter.overage > wasOverage)
    events.push(overageEvent(ctx, amount, meter.overage - wasOverage, meter, limit, priced));
}

function gaugeOverage(used: number, limit: CompiledLimit): number {
  return limit.mode === "observe" ? 0 : Math.max(0, used - limit.value);
}

function overOutcome(limit: CompiledLimit): readonly [Outcome, Reason] {
  return limit.mode === "observe"
    ? (["observed", "observed"] as const)
    : (["overage", "overage_recorded"] as const);
}

function applyFlag(stored: MeterState | undefined, ctx: DecisionContext, req: MeterRequest): MeterResult {
  const amount = req.op === "settle" ? (req.amount ?? req.hold.amount) : (req.amount ?? 1);
  const name = ctx.entitlement.name;
  if (req.op === "release" || req.op === "settle") {
    const decision = flagDecision(
      ctx,
      "allowed",
      "released",
      `${name} is a feature flag: nothing to release`,
      amount,
    );
    return { decision, meter: null, hold: null, grants: null, events: [] };
  }
  const rate = ctx.entitlement.rate;
  let meter: MeterState | null = null;
  if (rate !== null) {
    const bucket = refillBucket(stored?.bucket ?? null, rate, ctx.nowMs);
    const verdict = rateVerdict(bucket, rate, amount);
    if (!verdict.ok) {
      const message = `${name}: rate of ${rate.limit} per ${rate.windowMs}ms exceeded`;
      const decision = flagDecision(
        ctx,
        "denied",
        "rate_limited",
        message,
        amount,
        verdict.retryAfterSeconds,
      );
      return { decision, meter: null, hold: null, grants: null, events: [] };
    }
    if (req.op !== "check") meter = { ...(stored ?? emptyMeter()), bucket: drainBucket(bucket, amount) };
  }
  const decision = flagDecision(
    ctx,
    "allowed",
    "feature_enabled",
    `${name} is enabled on plan ${ctx.plan}`,
    amount,
  );
  return { decision, meter, hold: null, grants: null, events: [] };
}

function unitOf(ctx: DecisionContext): string {
  return ctx.entitlement.credit?.unit ?? "";
}

function changedEvent(
  ctx: DecisionContext,
  operation: string,
  amount: number,
  meter: MeterState,
  limit: CompiledLimit,
  holdId: string | null,
  priced: Priced | null,
): DomainEvent {
  const data: Record<string, unknown> = {
    operation,
    amount,
    unit: unitOf(ctx),
    used: meter.used,
    held: meter.held,
    overage: meter.overage,
    limit: limit.value,
    mode: limit.mode,
    plan: ctx.plan,
    holdId,
    periodStart: isoOrNull(meter.periodStart),
    periodEnd: isoOrNull(meter.periodEnd),
  };
  // The money fields come first (a literal without them, unless priced, spares a copy on the hot path).
  return {
    type: "meter.changed",
    entitlement: ctx.entitlement.name,
    data: priced === null ? data : { ...moneyData(priced, meter), ...data },
  };
}

function limitReachedEvent(
  ctx: DecisionContext,
  operation: string,
  amount: number,
  meter: MeterState,
  limit: CompiledLimit,
): DomainEvent {
  return {
    type: "meter.limit_reached",
    entitlement: ctx.entitlement.name,
    data: {
      operation,
      requested: amount,
      unit: unitOf(ctx),
      used: meter.used,
      held: meter.held,
      limit: limit.value,
      plan: ctx.plan,
      periodStart: isoOrNull(meter.periodStart),
      periodEnd: isoOrNull(meter.periodEnd),
    },
  };
}

function overageEvent(
  ctx: DecisionContext,
  amount: number,
  added: number,
  meter: MeterState,
  limit: CompiledLimit,
  priced: Priced | null,
): DomainEvent {
  const data: Record<string, unknown> = {
    amount,
    overageAdded: added,
    overage: meter.overage,
    unit: unitOf(ctx),
    used: meter.used,
    limit: limit.value,
    mode: limit.mode,
    plan: ctx.plan,
    periodStart: isoOrNull(meter.periodStart),
    periodEnd: isoOrNull(meter.periodEnd),
  };
  return {
    type: "meter.overage",
    entitlement: ctx.entitlement.name,
    data: priced === null ? data : { ...moneyData(priced, meter), ...data },
  };
}

function resetEvent(ctx: DecisionContext, reset: ResetInfo): DomainEvent {
  return {
    type: "meter.reset",
    entitlement: ctx.entitlement.name,
    data: {
      reason: "period",
      previousUsed: reset.previousUsed,
      previousOverage: reset.previousOverage,
      previousPeriodStart: isoOrNull(reset.previousPeriodStart),
      periodStart: isoOrNull(reset.periodStart),
      periodEnd: isoOrNull(reset.periodEnd),
      plan: ctx.plan,
    },
  };
}

/** The `hold.expired` event for a hold whose ttl passed. */
export function holdExpiredEvent(ctx: { plan: string | null }, hold: Hold): DomainEvent {
  return {
    type: "hold.expired",
    entitlement: hold.entitlement,
    data: {
      holdId: hold.id,
      amount: hold.amount,
      customer: hold.customer,
      expiresAt: isoOrNull(hold.expiresAt),
      plan: ctx.plan,
    },
  };
}
