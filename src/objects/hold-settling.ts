/**
 * Settling a hold: on the object that keeps it (the customer's own, or a member's org-scoped hold on its org),
 * else forwarded to the org; a key already used answers from its stored decision first (SPEC §11).
 */
import { routeEntitlement, routeOrgEntitlement } from "../domain/plans";
import type { CompiledEntitlement, CompiledPolicy, CustomerRecord, Decision, Hold } from "../domain/types";
import { loadDecisionPolicy } from "../policy/store";
import { entitlementDefinition, normaliseAmount } from "./amounts";
import {
  type MemberSettle,
  type MeterCall,
  policyUnavailable,
  type RpcError,
  type RpcResult,
  UNKNOWN,
} from "./contract";
import type { CustomerContext } from "./customer-context";
import type { CustomerObject } from "./customer-object";
import { customerStub } from "./directory";
import { fingerprintOf, meterLocally, newHoldId, rememberIdempotent, replaySettle } from "./object-metering";

/** Which hold to settle, for whom, by how much (as sent) and under which key. */
export interface HoldSettle {
  customer: string;
  holdId: string;
  amount: number | string | null;
  idempotencyKey: string | null;
}

/** A settle on this customer: its own hold here, else a replay of its key, else its org's hold. */
export async function settleCustomer(
  context: CustomerContext,
  record: CustomerRecord,
  call: MeterCall,
  policy: CompiledPolicy,
): Promise<RpcResult<Decision>> {
  const { store } = context;
  const holdId = call.holdId ?? "";
  const key = call.idempotencyKey;
  const hold = store.holds.get(holdId);
  if (hold !== undefined && hold.customer === record.id) {
    const settle = { customer: record.id, holdId, amount: call.amount, idempotencyKey: key };
    return settleHere(context, settle, policy, Date.now(), false).result;
  }
  // Not a hold of this object's own: keys are this customer's (SPEC §11), so a key it already used answers
  // here first, whether the hold it settled lived on this object or on the org.
  const replay = replaySettle(store, policy, record.id, holdId, call.amount, key, Date.now());
  if (replay !== null) return replay;
  const org = orgKeeping(context, record, holdId);
  if (org === null) return holdNotFound(holdId);
  const { result, fingerprint } = await org.settleForMember(
    record.id,
    holdId,
    call.amount,
    key,
    policy.version,
  );
  if (result.kind === "unknown") return holdNotFound(holdId);
  if (result.kind === "ok" && !result.value.replayed && key !== null && fingerprint !== null) {
    const decision = result.value;
    store.transaction(() =>
      rememberIdempotent(store, record.id, key, fingerprint, "settle", decision, Date.now()),
    );
  }
  return result;
}

// A member's hold on its org names the org's object: `hold_<24 hex>_<64 hex object id>`.
const MEMBER_HOLD_ID = /^hold_[0-9a-f]{24}_([0-9a-f]{64})$/;

/**
 * A fresh id for a member's hold kept on this org. It carries the org's object id, so the member can settle
 * it after it moved to another org or left this one (SPEC §11 "Policy store"); the org still checks that the
 * hold is that member's.
 */
export function memberHoldId(context: CustomerContext): string {
  return `${newHoldId()}_${context.objectId}`;
}

/** The org object that keeps a member's hold: the one its id names, else (older ids) the current org. */
function orgKeeping(
  context: CustomerContext,
  record: CustomerRecord,
  holdId: string,
): DurableObjectStub<CustomerObject> | null {
  const named = MEMBER_HOLD_ID.exec(holdId)?.[1];
  if (named === undefined) return record.org === null ? null : customerStub(context.env, record.org);
  if (named === context.objectId) return null;
  const namespace = context.env.CUSTOMERS;
  try {
    return namespace.get(namespace.idFromString(named));
  } catch {
    // Hex that is no object id of this namespace: a made-up hold id.
    return null;
  }
}

/** Settle a member's hold kept on this org; answers the fingerprint the member keeps its key under. */
export async function settleMember(
  context: CustomerContext,
  settle: HoldSettle,
  policyVersion: string,
): Promise<MemberSettle> {
  if (context.store.record === null) return { result: UNKNOWN, fingerprint: null };
  const active = await loadDecisionPolicy(context.env, policyVersion);
  if (active === null) return { result: policyUnavailable(), fingerprint: null };
  return settleHere(context, settle, active.policy, Date.now(), true);
}

/** Settle a hold kept on this object (`asOrg`: a member's hold on its org). */
export function settleHere(
  context: CustomerContext,
  settle: HoldSettle,
  policy: CompiledPolicy,
  nowMs: number,
  asOrg: boolean,
): MemberSettle {
  const { store } = context;
  const { customer, holdId, amount: rawAmount, idempotencyKey: key } = settle;
  const record = store.record;
  if (record === null) return { result: UNKNOWN, fingerprint: null };
  const hold = store.holds.get(holdId);
  if (hold === undefined || hold.customer !== customer) {
    // A replayed settle finds its hold gone: answer from the key before calling it unknown.
    const replay = replaySettle(store, policy, customer, holdId, rawAmount, key, nowMs);
    return { result: replay ?? holdNotFound(holdId), fingerprint: null };
  }
  const { plan, ent } = holdEntitlement(policy, record, hold, asOrg);
  const amount = normaliseAmount(rawAmount, ent);
  if (!amount.ok) {
    return {
      result: { kind: "error", status: 400, code: "invalid_amount", message: amount.message },
      fingerprint: null,
    };
  }
  const fingerprint = fingerprintOf({
    op: "settle",
    entitlement: hold.entitlement,
    amount: amount.amount ?? hold.amount,
    ttlMs: null,
    holdId,
    heldAmount: hold.amount,
  });
  const result = meterLocally(
    store,
    policy,
    {
      op: "settle",
      customer,
      meteredOn: record.id,
      plan,
      entitlement: ent,
      amount: amount.amount,
      hold,
      ttlMs: null,
      idempotencyKey: key,
      fingerprint,
    },
    nowMs,
    newHoldId,
  );
  return { result, fingerprint };
}

/** The definition a hold settles under: the current plan's, else any plan's (usage is never dropped). */
function holdEntitlement(
  policy: CompiledPolicy,
  record: CustomerRecord,
  hold: Hold,
  asOrg: boolean,
): { plan: string; ent: CompiledEntitlement } {
  const route = asOrg
    ? routeOrgEntitlement(policy, record, hold.entitlement)
    : routeEntitlement(policy, record, null, hold.entitlement);
  if (route.kind === "local") return { plan: route.plan.name, ent: route.entitlement };
  const ent = entitlementDefinition(policy, hold.entitlement) ?? {
    name: hold.entitlement,
    label: null,
    scope: "customer",
    credit: null,
    limit: { value: 0, mode: "observe", increment: 1, minimum: 0, reset: { kind: "none" }, alerts: [] },
    rate: null,
  };
  return { plan: route.kind === "refused" ? (route.plan ?? "") : route.plan.name, ent };
}

function holdNotFound(holdId: string): RpcError {
  return { kind: "error", status: 404, code: "hold_not_found", message: `hold ${holdId} not found` };
}
