/**
 * Metering inside a customer's object: idempotency, the pure engine, and persistence of the change with its
 * events in one transaction. Everything between the idempotency check and the write is synchronous, so
 * concurrent calls on one object are serialised exactly (SPEC §8).
 */
import type { DecisionContext } from "../domain/decision";
import { refusalDecision } from "../domain/decision";
import { applyMeter, type MeterRequest } from "../domain/meter";
import type { CompiledEntitlement, CompiledPolicy, Decision, Hold } from "../domain/types";
import { entitlementDefinition, normaliseAmount } from "./amounts";
import type { RpcError, RpcResult } from "./contract";
import { type CustomerStore, MAX_LIVE_HOLDS } from "./customer-store";

/** One metering request, resolved to an entitlement definition and a plan, ready for the engine. */
export interface LocalCall {
  op: "check" | "consume" | "release" | "reserve" | "settle";
  customer: string;
  meteredOn: string;
  plan: string;
  entitlement: CompiledEntitlement;
  amount: number | null;
  hold: Hold | null;
  ttlMs: number | null;
  idempotencyKey: string | null;
  fingerprint: string;
}

export function idempotencyConflict(): RpcError {
  return {
    kind: "error",
    status: 409,
    code: "idempotency_key_reused",
    message: "this idempotency key was used with a different request",
  };
}

/** A stored answer for this key, replayed; an error when the key came with another body; null when new. */
export function replayIdempotent(
  store: CustomerStore,
  customer: string,
  key: string | null,
  fingerprint: string,
  op: string,
  nowMs: number,
): RpcResult<Decision> | null {
  if (!keyApplies(key, op)) return null;
  const entry = store.getIdempotency(customer, key, nowMs);
  if (entry === null) return null;
  if (entry.fingerprint !== fingerprint) return idempotencyConflict();
  return { kind: "ok", value: { ...(JSON.parse(entry.response) as Decision), replayed: true } };
}

/** Remember a decision under its idempotency key (inside the caller's transaction). */
export function rememberIdempotent(
  store: CustomerStore,
  customer: string,
  key: string | null,
  fingerprint: string,
  op: string,
  decision: Decision,
  nowMs: number,
): void {
  if (keyApplies(key, op)) store.putIdempotency(customer, key, fingerprint, JSON.stringify(decision), nowMs);
}

/** Run one call against this object's meter: check the key, decide, store the change and its events. */
export function meterLocally(
  store: CustomerStore,
  policy: CompiledPolicy,
  call: LocalCall,
  nowMs: number,
  newHoldId: () => string,
): RpcResult<Decision> {
  const replay = replayIdempotent(
    store,
    call.customer,
    call.idempotencyKey,
    call.fingerprint,
    call.op,
    nowMs,
  );
  if (replay !== null) return replay;
  const ctx: DecisionContext = {
    customer: call.customer,
    meteredOn: call.meteredOn,
    plan: call.plan,
    entitlement: call.entitlement,
    policyVersion: policy.version,
    nowMs,
  };
  if (call.op === "reserve" && call.entitlement.limit !== null && store.liveHoldCount() >= MAX_LIVE_HOLDS) {
    return refuseTooManyHolds(store, call, ctx);
  }
  const request = toRequest(call, newHoldId);
  const result = applyMeter(store.meters.get(call.entitlement.name), ctx, request);
  const needsWrite =
    result.meter !== null ||
    result.hold !== null ||
    result.events.length > 0 ||
    keyApplies(call.idempotencyKey, call.op);
  if (needsWrite) {
    store.transaction(() => {
      if (result.meter !== null) store.putMeter(call.entitlement.name, result.meter);
      if (result.hold !== null) {
        if (call.op === "reserve") store.putHold(result.hold);
        else store.deleteHold(result.hold.id);
      }
      store.appendEvents(result.events, call.customer, call.meteredOn, nowMs);
      rememberIdempotent(
        store,
        call.customer,
        call.idempotencyKey,
        call.fingerprint,
        call.op,
        result.decision,
        nowMs,
      );
    });
  }
  return { kind: "ok", value: result.decision };
}

/**
 * A reserve on an object that already keeps `MAX_LIVE_HOLDS` live holds: a denial (SPEC §11 "Bounds") showing
 * the meter as it stands, stored under its key like any denial. Nothing else is written.
 */
function refuseTooManyHolds(
  store: CustomerStore,
  call: LocalCall,
  ctx: DecisionContext,
): RpcResult<Decision> {
  const name = call.entitlement.name;
  const current = applyMeter(store.meters.get(name), ctx, { op: "check", amount: call.amount }).decision;
  const decision: Decision = {
    ...current,
    allowed: false,
    outcome: "denied",
    reason: "too_many_holds",
    message: `${name}: ${MAX_LIVE_HOLDS} holds are already live; settle some or let them expire`,
    retryAfterSeconds: null,
    holdId: null,
  };
  if (keyApplies(call.idempotencyKey, call.op)) {
    const key = call.idempotencyKey;
    store.transaction(() =>
      rememberIdempotent(store, call.customer, key, call.fingerprint, call.op, decision, ctx.nowMs),
    );
  }
  return { kind: "ok", value: decision };
}

/** Idempotency keys apply to every mutating call; `check` ignores them (SPEC §11). */
function keyApplies(key: string | null, op: string): key is string {
  return key !== null && op !== "check";
}

function toRequest(call: LocalCall, newHoldId: () => string): MeterRequest {
  switch (call.op) {
    case "reserve":
      return { op: "reserve", amount: call.amount, holdId: newHoldId(), ttlMs: call.ttlMs ?? 0 };
    case "settle":
      if (call.hold === null) throw new Error("settle without a hold");
      return { op: "settle", hold: call.hold, amount: call.amount };
    default:
      return { op: call.op, amount: call.amount };
  }
}

/** A refusal (not entitled, no org, no plan) as a decision, remembered under its idempotency key. */
export function refuseLocally(
  store: CustomerStore,
  args: Parameters<typeof refusalDecision>[0],
  op: string,
  key: string | null,
  fingerprint: string,
  nowMs: number,
): RpcResult<Decision> {
  const replay = replayIdempotent(store, args.customer, key, fingerprint, op, nowMs);
  if (replay !== null) return replay;
  const decision = refusalDecision(args);
  if (keyApplies(key, op)) {
    store.transaction(() => rememberIdempotent(store, args.customer, key, fingerprint, op, decision, nowMs));
  }
  return { kind: "ok", value: decision };
}

/**
 * The normalised request compared on replays (SPEC §11): `"1GB"` and `1000` in an MB credit are one body.
 * A settle also carries its hold's amount, so a replay can be compared once the hold is gone (an omitted
 * amount means the held amount).
 */
export function fingerprintOf(parts: {
  op: string;
  entitlement: string | null;
  amount: number | null;
  ttlMs: number | null;
  holdId: string | null;
  heldAmount?: number | null;
}): string {
  return JSON.stringify([
    parts.op,
    parts.entitlement,
    parts.amount,
    parts.ttlMs,
    parts.holdId,
    parts.heldAmount ?? null,
  ]);
}

/** A fresh hold id. */
export function newHoldId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `hold_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * A settle whose hold is not here: the stored answer when this key settled this very hold with the same
 * normalised amount, `409` when the key came with another body, `400 invalid_amount` for a bad amount, null
 * when the key is new (or absent).
 */
export function replaySettle(
  store: CustomerStore,
  policy: CompiledPolicy,
  customer: string,
  holdId: string,
  rawAmount: number | string | null,
  key: string | null,
  nowMs: number,
): RpcResult<Decision> | null {
  if (key === null) return null;
  const entry = store.getIdempotency(customer, key, nowMs);
  if (entry === null) return null;
  const stored = JSON.parse(entry.fingerprint) as unknown[];
  if (stored[0] !== "settle" || stored[4] !== holdId || typeof stored[1] !== "string") {
    return idempotencyConflict();
  }
  const heldAmount = typeof stored[5] === "number" ? stored[5] : null;
  const amount = normaliseAmount(rawAmount, entitlementDefinition(policy, stored[1]));
  if (!amount.ok) return { kind: "error", status: 400, code: "invalid_amount", message: amount.message };
  const fingerprint = fingerprintOf({
    op: "settle",
    entitlement: stored[1],
    amount: amount.amount ?? heldAmount,
    ttlMs: null,
    holdId,
    heldAmount,
  });
  if (fingerprint !== entry.fingerprint) return idempotencyConflict();
  return { kind: "ok", value: { ...(JSON.parse(entry.response) as Decision), replayed: true } };
}
