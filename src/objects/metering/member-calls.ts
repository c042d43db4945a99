/**
 * The org's side of a member's org-scoped call (SPEC §3.3): the limit, mode and plan are the org's, the key and
 * fingerprint the member's; the org's object is the serialisation point of its members' meters.
 */
import { routeOrgEntitlement } from "../../domain/plans";
import type { Decision } from "../../domain/types";
import { fail } from "../../errors/catalogue";
import { type Result, unknownCustomer } from "../contract";
import type { CustomerContext } from "../customer-context";
import type { AssumingMemberCall } from "../ports";
import { memberHoldId } from "./hold-ids";
import { replay } from "./idempotency";
import { decideLocally, refuse } from "./pipeline";

/** An org-scoped call from a member, on the org's object: the limit, mode and plan are this org's. */
export async function meterMember(
  context: CustomerContext,
  call: AssumingMemberCall,
): Promise<Result<Decision>> {
  const active = await context.ports.policies.load(call.policyVersion);
  if (active === null) return fail("policy_unavailable");
  const record = context.store.record;
  if (record === null) return unknownCustomer();
  // The member routed this call on a plan of ours that is no longer ours: it asks afresh (src/objects/ports.ts).
  if (call.assumedOrgPlan !== undefined && call.assumedOrgPlan !== record.plan) return unknownCustomer();
  const nowMs = context.ports.clock.nowMs();
  const keyed = {
    customer: call.member,
    op: call.op,
    key: call.idempotencyKey,
    fingerprint: call.fingerprint,
  };
  const replayed = replay(context.store, keyed, nowMs);
  if (replayed !== null) return replayed;
  const route = routeOrgEntitlement(active.policy, record, call.entitlement);
  if (route.kind !== "local") {
    const refused = route.kind === "refused";
    return refuse(
      context,
      keyed,
      {
        customer: call.member,
        entitlement: call.entitlement,
        reason: refused ? route.reason : "not_entitled",
        message: refused ? route.message : "",
        plan: refused ? route.plan : null,
        meteredOn: record.id,
        amount: call.amount ?? call.requestedAmount,
        policyVersion: active.version,
      },
      nowMs,
    );
  }
  const local = { plan: route.plan.name, entitlement: route.entitlement, meteredOn: record.id };
  const call_ = { ...local, amount: call.amount, hold: null, ttlMs: call.ttlMs };
  const result = decideLocally(context, active.policy, keyed, call_, nowMs, () =>
    memberHoldId(context.objectId),
  );
  if (call.op === "reserve") await context.ports.alarm.schedule();
  return result;
}
