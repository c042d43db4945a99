/**
 * The metering pipeline of a customer's object (SPEC §3, §5.3, §8): normalise the call once, answer a used
 * idempotency key from its stored decision, route it (metered here, on the org's object, or refused), run the
 * engine (src/domain/meter.ts), and commit once. Check, consume, release and reserve enter here; a settle
 * enters at src/objects/metering/settle.ts and the gateway's combined step at gateway-reserve.ts, which run
 * through the same steps; a member's org-scoped call is decided on its org by member-calls.ts.
 */
import type { DecisionContext } from "../../domain/decision";
import { refusalDecision } from "../../domain/decision";
import { applyMeter, type MeterMoney, type MeterRequest } from "../../domain/meter";
import { advanceGrants } from "../../domain/money/grants";
import type { EntitlementRoute } from "../../domain/plans";
import type { SettleUsage } from "../../domain/token-usage";
import type { CompiledEntitlement, CompiledPolicy, CustomerRecord, Decision, Hold } from "../../domain/types";
import { fail } from "../../errors/catalogue";
import type { ActivePolicy } from "../../policy/store";
import { isUnknown, type MeterCall, ok, type Result, unknownCustomer } from "../contract";
import { assumedOrgPlan, type CustomerContext, confirmRecord, inheritedPlan } from "../customer-context";
import { MAX_LIVE_HOLDS } from "../customer-store";
import type { AssumingMemberCall } from "../ports";
import { commit } from "./commit";
import { newHoldId } from "./hold-ids";
import { type KeyedCall, replay } from "./idempotency";
import { checkCall, normaliseCall } from "./normalise";

/** A call whose policy is loaded and whose record is confirmed. */
export interface Admitted {
  active: ActivePolicy;
  record: CustomerRecord;
  /** The org's own plan when the customer inherits it (see `inheritedPlan`). */
  orgPlan: string | null;
  /** `orgPlan` is the one this object last heard of, not asked now: the org must confirm it (`assumedOrgPlan`). */
  assumed: boolean;
}

/**
 * Load the policy the Worker named, check the call against it (`check`: calls from the admin API), and
 * confirm the record once, after the last await: from there to the commit nothing is awaited. `orgPlan`:
 * false, none; "fresh", asked of the org now; "assumed", the plan last heard of when there is one (else asked).
 */
export async function admit(
  context: CustomerContext,
  call: MeterCall,
  options: { check: boolean; orgPlan: false | "fresh" | "assumed" },
): Promise<Result<Admitted>> {
  const active = await context.ports.policies.load(call.policyVersion);
  if (active === null) return fail("policy_unavailable");
  if (options.check) {
    const checked = checkCall(active.policy, call);
    if (!checked.ok) return checked;
  }
  const current = context.store.record;
  const assumed =
    options.orgPlan === "assumed" && current !== null ? assumedOrgPlan(context, current) : undefined;
  const orgPlan =
    assumed !== undefined ? assumed.plan : options.orgPlan ? await inheritedPlan(context, current) : null;
  const record = confirmRecord(context, call.presentedAlternateId);
  // With an assumed plan nothing is awaited after `current` was read: `record` is `current`.
  if (record === null) return unknownCustomer();
  return ok({ active, record, orgPlan, assumed: assumed !== undefined });
}

/**
 * A check, consume, release or reserve on this customer, from the Worker (`check`: from the admin API).
 * A member that inherits its org's plan routes on the plan it last heard of only when that sends the call to
 * the org, which confirms the plan (else answers as gone, and the call is routed again on a plan asked now):
 * every decision stays the one a fresh answer gives, and the common member call costs one hop.
 */
export async function meterCustomer(
  context: CustomerContext,
  call: MeterCall,
  check = true,
  orgPlan: "fresh" | "assumed" = "assumed",
): Promise<Result<Decision>> {
  const admitted = await admit(context, call, { check, orgPlan });
  if (!admitted.ok) return admitted;
  const { active, record, assumed } = admitted.value;
  const again = () => meterCustomer(context, call, check, "fresh");
  const normalised = normaliseCall(active.policy, record, admitted.value.orgPlan, call);
  if (!normalised.ok) return assumed ? again() : normalised;
  const { route, entitlement, amount, effectiveAmount, fingerprint } = normalised.value;
  if (assumed && route.kind !== "org") return again();
  const keyed = { customer: record.id, op: call.op, key: call.idempotencyKey, fingerprint };
  const nowMs = context.ports.clock.nowMs();
  const replayed = replay(context.store, keyed, nowMs);
  if (replayed !== null) return assumed ? again() : replayed;
  switch (route.kind) {
    case "refused":
      return refuse(
        context,
        keyed,
        {
          ...route,
          customer: record.id,
          entitlement,
          amount: effectiveAmount,
          policyVersion: active.version,
        },
        nowMs,
      );
    case "local": {
      const local = { plan: route.plan.name, entitlement: route.entitlement, meteredOn: record.id };
      const result = decideLocally(
        context,
        active.policy,
        keyed,
        { ...local, amount, hold: null, ttlMs: call.ttlMs },
        nowMs,
        newHoldId,
      );
      if (call.op === "reserve") await context.ports.alarm.schedule();
      return result;
    }
    case "org": {
      const memberCall: AssumingMemberCall = {
        op: call.op,
        member: record.id,
        entitlement,
        amount,
        holdId: call.holdId,
        ttlMs: call.ttlMs,
        idempotencyKey: call.idempotencyKey,
        fingerprint,
        requestedAmount: effectiveAmount,
        policyVersion: active.version,
      };
      if (!assumed) return forwardToOrg(context, route, keyed, memberCall);
      memberCall.assumedOrgPlan = admitted.value.orgPlan;
      const result = await context.ports.org.meterForMember(route.org, memberCall);
      if (isUnknown(result)) {
        // Gone, or its plan is another now: forget what we heard and route the call on the org's answer now.
        context.orgPlan = null;
        return again();
      }
      return remembered(context, keyed, result);
    }
  }
}

/** An org-scoped call: decided by the org `route` names; its answer is remembered under the member's key. */
async function forwardToOrg(
  context: CustomerContext,
  route: Extract<EntitlementRoute, { kind: "org" }>,
  keyed: KeyedCall,
  call: AssumingMemberCall,
): Promise<Result<Decision>> {
  const result = await context.ports.org.meterForMember(route.org, call);
  const nowMs = context.ports.clock.nowMs();
  if (isUnknown(result)) {
    // The org was deleted: its members have no org now, and decide under their own or the default plan.
    const message = `${call.entitlement} is metered per org and org ${route.org} no longer exists`;
    const refusal = { reason: "no_org" as const, message, plan: route.plan.name, meteredOn: null };
    return refuse(
      context,
      keyed,
      {
        ...refusal,
        customer: call.member,
        entitlement: call.entitlement,
        amount: call.requestedAmount,
        policyVersion: call.policyVersion,
      },
      nowMs,
    );
  }
  return remembered(context, keyed, result, nowMs);
}

/** The org's answer to a member's call, remembered under the member's key. */
function remembered(
  context: CustomerContext,
  keyed: KeyedCall,
  result: Result<Decision>,
  nowMs = context.ports.clock.nowMs(),
): Result<Decision> {
  if (result.ok && !result.value.replayed) commit(context.store, null, keyed, result.value, nowMs);
  return result;
}

/** A call resolved to a plan and a definition on the object that meters it. */
export interface LocalCall {
  plan: string;
  entitlement: CompiledEntitlement;
  meteredOn: string;
  amount: number | null;
  /** The hold a settle finishes. */
  hold: Hold | null;
  ttlMs: number | null;
  /** A gateway settle's usage in token classes, for its `meter.changed` event. */
  usage?: SettleUsage | null;
  /** What the call cost you in runes when the caller knows it (SPEC §12.4); else amount × overhead_cost. */
  cost?: number | null;
}

/** Run the engine on this object's meter and commit what it changed with the decision's key. */
export function decideLocally(
  context: CustomerContext,
  policy: CompiledPolicy,
  keyed: KeyedCall,
  call: LocalCall,
  nowMs: number,
  holdId: () => string,
): Result<Decision> {
  const { store } = context;
  const name = call.entitlement.name;
  const ctx: DecisionContext = {
    customer: keyed.customer,
    meteredOn: call.meteredOn,
    plan: call.plan,
    entitlement: call.entitlement,
    policyVersion: policy.version,
    nowMs,
  };
  // The meter owner's grants as of now (SPEC §12.3): a read computes them, a write stores them with its events.
  const lifecycle = advanceGrants(store.grants, nowMs);
  const money: MeterMoney = { money: policy.money, grants: lifecycle.grants, cost: call.cost ?? null };
  if (keyed.op === "reserve" && call.entitlement.limit !== null && store.liveHoldCount() >= MAX_LIVE_HOLDS) {
    // A denial (SPEC §11 "Bounds") showing the meter as it stands, stored under its key like any denial.
    const current = applyMeter(
      store.meters.get(name),
      ctx,
      { op: "check", amount: call.amount },
      money,
    ).decision;
    const message = `${name}: ${MAX_LIVE_HOLDS} holds are already live; settle some or let them expire`;
    const denial: Decision = {
      ...current,
      allowed: false,
      outcome: "denied",
      reason: "too_many_holds",
      message,
      retryAfterSeconds: null,
      holdId: null,
    };
    commit(store, null, keyed, denial, nowMs);
    return ok(denial);
  }
  const result = applyMeter(store.meters.get(name), ctx, toRequest(keyed.op, call, holdId), money);
  const lifecycleChanged = lifecycle.events.length > 0 || lifecycle.grants.length !== store.grants.length;
  const writes = keyed.op !== "check";
  commit(
    store,
    {
      entitlement: name,
      result,
      customer: keyed.customer,
      meteredOn: call.meteredOn,
      grants: writes ? (result.grants ?? (lifecycleChanged ? lifecycle.grants : null)) : null,
      grantEvents: writes ? lifecycle.events : [],
    },
    keyed,
    result.decision,
    nowMs,
  );
  return ok(result.decision);
}

function toRequest(op: string, call: LocalCall, holdId: () => string): MeterRequest {
  switch (op) {
    case "reserve":
      return { op: "reserve", amount: call.amount, holdId: holdId(), ttlMs: call.ttlMs ?? 0 };
    case "settle":
      if (call.hold === null) throw new Error("settle without a hold");
      return { op: "settle", hold: call.hold, amount: call.amount, usage: call.usage ?? null };
    case "check":
    case "consume":
    case "release":
      return { op, amount: call.amount };
    default:
      throw new Error(`unknown metering operation ${op}`);
  }
}

/** A refusal (not entitled, no org, no plan) as a decision, remembered under its key. */
export function refuse(
  context: CustomerContext,
  keyed: KeyedCall,
  args: Parameters<typeof refusalDecision>[0],
  nowMs: number,
): Result<Decision> {
  const decision = refusalDecision(args);
  commit(context.store, null, keyed, decision, nowMs);
  return ok(decision);
}
