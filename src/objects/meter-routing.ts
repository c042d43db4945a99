/**
 * The metering call path of a customer's object: a call is decided here, refused here, or (org-scoped
 * entitlements) forwarded to the org's object, which is the serialisation point for its members' meters.
 */
import { type EntitlementRoute, routeEntitlement, routeOrgEntitlement } from "../domain/plans";
import type { Decision } from "../domain/types";
import { loadDecisionPolicy } from "../policy/store";
import { entitlementDefinition, normaliseAmount } from "./amounts";
import { type MemberCall, type MeterCall, policyUnavailable, type RpcResult, UNKNOWN } from "./contract";
import { scheduleAlarm } from "./customer-alarm";
import { type CustomerContext, confirmRecord, inheritedPlan } from "./customer-context";
import { customerStub } from "./directory";
import { memberHoldId, settleCustomer, settleHere } from "./hold-settling";
import {
  fingerprintOf,
  meterLocally,
  newHoldId,
  refuseLocally,
  rememberIdempotent,
  replayIdempotent,
} from "./object-metering";

/** A metering call on this customer (check, consume, release, reserve, settle). */
export async function meterCustomer(context: CustomerContext, call: MeterCall): Promise<RpcResult<Decision>> {
  if (confirmRecord(context, call.presentedAlternateId) === null) return UNKNOWN;
  const active = await loadDecisionPolicy(context.env, call.policyVersion);
  if (active === null) return policyUnavailable();
  // Confirm again after every await: a delete or an alternate-ID removal may have run meanwhile.
  const current = confirmRecord(context, call.presentedAlternateId);
  if (current === null) return UNKNOWN;
  if (call.op === "settle") return settleCustomer(context, current, call, active.policy);
  const entName = call.entitlement ?? "";
  const orgPlan = await inheritedPlan(context, current);
  // Re-read after the await: the record may have changed or gone meanwhile.
  const record = confirmRecord(context, call.presentedAlternateId);
  if (record === null) return UNKNOWN;
  const nowMs = Date.now();
  const route = routeEntitlement(active.policy, record, orgPlan, entName);
  const def =
    route.kind === "local"
      ? route.entitlement
      : ((route.kind === "org" ? route.plan.entitlements.get(entName) : undefined) ??
        entitlementDefinition(active.policy, entName));
  const amount = normaliseAmount(call.amount, def);
  if (!amount.ok) return { kind: "error", status: 400, code: "invalid_amount", message: amount.message };
  const effectiveAmount = amount.amount ?? def?.limit?.increment ?? 1;
  const fingerprint = fingerprintOf({
    op: call.op,
    entitlement: entName,
    amount: effectiveAmount,
    ttlMs: call.ttlMs,
    holdId: null,
  });
  if (route.kind === "refused") {
    return refuseLocally(
      context.store,
      {
        ...route,
        customer: record.id,
        entitlement: entName,
        amount: effectiveAmount,
        policyVersion: active.version,
      },
      call.op,
      call.idempotencyKey,
      fingerprint,
      nowMs,
    );
  }
  if (route.kind === "local") {
    const result = meterLocally(
      context.store,
      active.policy,
      {
        op: call.op,
        customer: record.id,
        meteredOn: record.id,
        plan: route.plan.name,
        entitlement: route.entitlement,
        amount: amount.amount,
        hold: null,
        ttlMs: call.ttlMs,
        idempotencyKey: call.idempotencyKey,
        fingerprint,
      },
      nowMs,
      newHoldId,
    );
    if (call.op === "reserve") await scheduleAlarm(context);
    return result;
  }
  return forwardToOrg(context, route, {
    op: call.op,
    member: record.id,
    entitlement: entName,
    amount: amount.amount,
    holdId: call.holdId,
    ttlMs: call.ttlMs,
    idempotencyKey: call.idempotencyKey,
    fingerprint,
    requestedAmount: effectiveAmount,
    policyVersion: active.version,
  });
}

/** An org-scoped call: replayed from this member's key, else decided by the org `route` names. */
async function forwardToOrg(
  context: CustomerContext,
  route: Extract<EntitlementRoute, { kind: "org" }>,
  call: MemberCall,
): Promise<RpcResult<Decision>> {
  const { store } = context;
  const { org } = route;
  const replay = replayIdempotent(
    store,
    call.member,
    call.idempotencyKey,
    call.fingerprint,
    call.op,
    Date.now(),
  );
  if (replay !== null) return replay;
  const result = await customerStub(context.env, org).meterForMember(call);
  if (result.kind === "unknown") {
    // The org was deleted: its members have no org now, and decide under their own or the default plan.
    return refuseLocally(
      store,
      {
        customer: call.member,
        entitlement: call.entitlement,
        reason: "no_org",
        message: `${call.entitlement} is metered per org and org ${org} no longer exists`,
        plan: route.plan.name,
        meteredOn: null,
        amount: call.requestedAmount,
        policyVersion: call.policyVersion,
      },
      call.op,
      call.idempotencyKey,
      call.fingerprint,
      Date.now(),
    );
  }
  if (result.kind === "ok" && call.idempotencyKey !== null && !result.value.replayed) {
    const decision = result.value;
    store.transaction(() =>
      rememberIdempotent(
        store,
        call.member,
        call.idempotencyKey,
        call.fingerprint,
        call.op,
        decision,
        Date.now(),
      ),
    );
  }
  return result;
}

/** An org-scoped call from a member, on the org's object: the limit, mode and plan are this org's. */
export async function meterMember(context: CustomerContext, call: MemberCall): Promise<RpcResult<Decision>> {
  if (context.store.record === null) return UNKNOWN;
  const active = await loadDecisionPolicy(context.env, call.policyVersion);
  if (active === null) return policyUnavailable();
  // Read after the await: the org may have been deleted meanwhile.
  const record = context.store.record;
  if (record === null) return UNKNOWN;
  const nowMs = Date.now();
  if (call.op === "settle") {
    const settle = {
      customer: call.member,
      holdId: call.holdId ?? "",
      amount: call.amount,
      idempotencyKey: call.idempotencyKey,
    };
    return settleHere(context, settle, active.policy, nowMs, true).result;
  }
  const route = routeOrgEntitlement(active.policy, record, call.entitlement);
  if (route.kind !== "local") {
    const reason = route.kind === "refused" ? route.reason : "not_entitled";
    return refuseLocally(
      context.store,
      {
        customer: call.member,
        entitlement: call.entitlement,
        reason,
        message: route.kind === "refused" ? route.message : "",
        plan: route.kind === "refused" ? route.plan : null,
        meteredOn: record.id,
        amount: call.amount ?? call.requestedAmount,
        policyVersion: active.version,
      },
      call.op,
      call.idempotencyKey,
      call.fingerprint,
      nowMs,
    );
  }
  const result = meterLocally(
    context.store,
    active.policy,
    {
      op: call.op,
      customer: call.member,
      meteredOn: record.id,
      plan: route.plan.name,
      entitlement: route.entitlement,
      amount: call.amount,
      hold: null,
      ttlMs: call.ttlMs,
      idempotencyKey: call.idempotencyKey,
      fingerprint: call.fingerprint,
    },
    nowMs,
    () => memberHoldId(context),
  );
  if (call.op === "reserve") await scheduleAlarm(context);
  return result;
}
