/**
 * Settling a hold (SPEC §5.3, §11): on the object that keeps it (the customer's own, or a member's org-scoped
 * hold on its org), else forwarded to that org; a key already used answers from its stored decision first.
 * The same steps as every metering call: normalise by the hold's definition, replay, engine, one commit.
 */
import { routeEntitlement, routeOrgEntitlement } from "../../domain/plans";
import type { CompiledEntitlement, CompiledPolicy, CustomerRecord, Decision, Hold } from "../../domain/types";
import { fail } from "../../errors/catalogue";
import {
  isUnknown,
  type MemberSettle,
  type MemberSettleCall,
  type MeterCall,
  type Result,
  unknownCustomer,
} from "../contract";
import type { CustomerContext } from "../customer-context";
import { commit } from "./commit";
import { newHoldId, orgKeeping } from "./hold-ids";
import { replay, replaySettle } from "./idempotency";
import { entitlementDefinition, normaliseSettle } from "./normalise";
import { admit, decideLocally } from "./pipeline";
import { readSettleUsage } from "./settle-usage";

/** A settle on this customer: its own hold here, else a replay of its key, else its org's hold. */
export async function settleCustomer(
  context: CustomerContext,
  call: MeterCall,
  check = true,
): Promise<Result<Decision>> {
  const usage = readSettleUsage(call.usage);
  if (!usage.ok) return usage;
  const admitted = await admit(context, call, { check, orgPlan: false });
  if (!admitted.ok) return admitted;
  const { active, record } = admitted.value;
  const { store } = context;
  const holdId = call.holdId ?? "";
  const key = call.idempotencyKey;
  const hold = store.holds.get(holdId);
  const nowMs = context.ports.clock.nowMs();
  const settle = {
    member: record.id,
    holdId,
    amount: call.amount,
    idempotencyKey: key,
    policyVersion: active.version,
    usage: usage.value,
    cost: knownCost(call.cost),
  };
  if (hold !== undefined && hold.customer === record.id)
    return settleHere(context, settle, active.policy, false).result;
  // Not a hold of this object's own: keys are this customer's (SPEC §11), so a key it already used answers
  // here first, whether the hold it settled lived on this object or on the org.
  const replayed = replaySettle(store, active.policy, record.id, holdId, call.amount, key, nowMs);
  if (replayed !== null) return replayed;
  const org = orgKeeping(holdId, record.org, context.objectId);
  if (org === null) return holdNotFound(holdId);
  const { result, fingerprint } = await context.ports.org.settleForMember(org, settle);
  if (isUnknown(result)) return holdNotFound(holdId);
  if (result.ok && !result.value.replayed && fingerprint !== null) {
    const keyed = { customer: record.id, op: "settle" as const, key, fingerprint };
    commit(store, null, keyed, result.value, context.ports.clock.nowMs());
  }
  return result;
}

/** On the org: settle a member's hold kept here; answers the fingerprint the member keeps its key under. */
export async function settleMember(
  context: CustomerContext,
  settle: MemberSettleCall,
): Promise<MemberSettle> {
  const usage = readSettleUsage(settle.usage);
  if (!usage.ok) return { result: usage, fingerprint: null };
  const active = await context.ports.policies.load(settle.policyVersion);
  if (active === null) return { result: fail("policy_unavailable"), fingerprint: null };
  return settleHere(context, { ...settle, usage: usage.value }, active.policy, true);
}

/** Settle a hold kept on this object (`asOrg`: a member's hold on its org). */
function settleHere(
  context: CustomerContext,
  settle: MemberSettleCall,
  policy: CompiledPolicy,
  asOrg: boolean,
): MemberSettle {
  const { store } = context;
  const { member: customer, holdId, idempotencyKey: key } = settle;
  const nowMs = context.ports.clock.nowMs();
  const record = store.record;
  if (record === null) return { result: unknownCustomer(), fingerprint: null };
  const hold = store.holds.get(holdId);
  if (hold === undefined || hold.customer !== customer) {
    // A replayed settle finds its hold gone: answer from the key before calling it unknown.
    const replayed = replaySettle(store, policy, customer, holdId, settle.amount, key, nowMs);
    return { result: replayed ?? holdNotFound(holdId), fingerprint: null };
  }
  const { plan, ent } = holdEntitlement(policy, record, hold, asOrg);
  const normalised = normaliseSettle(hold, ent, settle.amount);
  if (!normalised.ok) return { result: normalised, fingerprint: null };
  const { amount, fingerprint } = normalised.value;
  const keyed = { customer, op: "settle" as const, key, fingerprint };
  const usage = settle.usage ?? null;
  const cost = knownCost(settle.cost);
  const local = { plan, entitlement: ent, meteredOn: record.id, amount, hold, ttlMs: null, usage, cost };
  const result =
    replay(store, keyed, nowMs) ?? decideLocally(context, policy, keyed, local, nowMs, newHoldId);
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

function holdNotFound(holdId: string) {
  return fail("hold_not_found", `hold ${holdId} not found`);
}

/** A caller's cost of a settle (SPEC §12.4), when it is a usable number of runes; else null (overhead_cost). */
function knownCost(cost: unknown): number | null {
  return typeof cost === "number" && Number.isFinite(cost) && cost >= 0 ? cost : null;
}
