/**
 * Changing a customer's record through its object: upsert, one alternate ID added or removed, plan change,
 * delete, state import. Whatever may change the alternate-ID list runs under the object's lock (`exclusive`).
 */

import type { CompiledPolicy, CustomerRecord } from "../domain/types";
import { fail } from "../errors/catalogue";
import { changeAlternateIds, exclusive, releaseCanonicalId } from "./alternate-ids";
import {
  type CustomerPatch,
  type CustomerState,
  type CustomerView,
  ok,
  type Result,
  unknownCustomer,
} from "./contract";
import type { CustomerContext } from "./customer-context";
import { effectivePlanOf, syncIncluded, writeGrants } from "./grant-records";
import { clearAllUsage, decodeState, mergeRecord } from "./object-records";
import { changeMembership, leave } from "./org-members";
import { viewCustomer } from "./record-reads";

/** What included top-ups are synced against: the policy and the org plans before and after a change. */
interface PlanSight {
  policy: CompiledPolicy;
  orgPlanBefore: string | null;
  orgPlanAfter: string | null;
}

/** The org's own plan, for a record that would inherit it; null when there is none. */
async function orgPlanOf(context: CustomerContext, org: string | null | undefined): Promise<string | null> {
  if (org === null || org === undefined) return null;
  const info = await context.ports.org.info(org);
  return info.exists ? info.plan : null;
}

/**
 * Included top-ups follow the effective plan (SPEC §12.3): granted on create, re-synced when the effective
 * plan changes (call inside the record's transaction).
 */
function syncIncludedGrants(
  context: CustomerContext,
  before: CustomerRecord | null,
  after: CustomerRecord,
  sight: PlanSight | null,
  nowMs: number,
): void {
  if (sight === null) return;
  const planAfter = effectivePlanOf(sight.policy, after, sight.orgPlanAfter);
  const planBefore = before === null ? null : effectivePlanOf(sight.policy, before, sight.orgPlanBefore);
  if (before !== null && planBefore === planAfter) return;
  writeGrants(context.store, after.id, nowMs, (grants) =>
    syncIncluded(grants, sight.policy, planAfter, after.type, nowMs),
  );
}

/** Store the record merged with `patch`, with its events (and included grants when its plan changed). */
function writeRecord(
  context: CustomerContext,
  id: string,
  patch: CustomerPatch,
  sight: PlanSight | null = null,
): void {
  const { store } = context;
  const nowMs = context.ports.clock.nowMs();
  // Merged with the record as it is now: a plan change may have landed while claims were awaited.
  const before = store.record;
  const { record, events } = mergeRecord(before, id, patch, nowMs);
  store.transaction(() => {
    store.putRecord(record);
    store.appendEvents(events, id, id, nowMs);
    syncIncludedGrants(context, before, record, sight, nowMs);
  });
}

/** The policy and org plans a record change syncs included top-ups against (null: no policy). */
async function planSight(
  context: CustomerContext,
  policyVersion: string | null,
  orgBefore: string | null,
  orgAfter: string | null,
): Promise<PlanSight | null> {
  const active = policyVersion === null ? null : await context.ports.policies.load(policyVersion);
  if (active === null) return null;
  const orgPlanBefore = await orgPlanOf(context, orgBefore);
  const orgPlanAfter = orgAfter === orgBefore ? orgPlanBefore : await orgPlanOf(context, orgAfter);
  return { policy: active.policy, orgPlanBefore, orgPlanAfter };
}

/** Create or merge the record (the Worker has checked plan and org); claims and frees alternate IDs. */
export function upsertCustomer(
  context: CustomerContext,
  id: string,
  patch: CustomerPatch,
  policyVersion: string | null,
): Promise<Result<CustomerView>> {
  return exclusive(context, async (current) => {
    if (current !== null && current.id !== id) {
      return fail("conflict", "object holds another customer");
    }
    const next =
      patch.alternateIds === undefined ? (current?.alternateIds ?? []) : [...new Set(patch.alternateIds)];
    const change = {
      fromOrg: current?.org ?? null,
      toOrg: patch.org === undefined ? (current?.org ?? null) : patch.org,
      type: patch.type ?? current?.type ?? "user",
    };
    const sight = await planSight(context, policyVersion, change.fromOrg, change.toOrg);
    const refused = await changeMembership(context, id, change, () =>
      changeAlternateIds(context, id, next, () => writeRecord(context, id, patch, sight)),
    );
    return refused ?? viewCustomer(context, null, policyVersion);
  });
}

/**
 * Add (`listed`) or remove one alternate ID; a no-op when the list is so already. A removal claims nothing, so
 * it is never refused.
 */
export function setAlternateIdListed(
  context: CustomerContext,
  alternateId: string,
  listed: boolean,
  policyVersion: string | null,
): Promise<Result<CustomerView>> {
  return exclusive(context, async (current) => {
    if (current === null) return unknownCustomer();
    if (current.alternateIds.includes(alternateId) === listed)
      return viewCustomer(context, null, policyVersion);
    const next = listed
      ? [...current.alternateIds, alternateId]
      : current.alternateIds.filter((a) => a !== alternateId);
    const refused = await changeAlternateIds(context, current.id, next, () =>
      writeRecord(context, current.id, { alternateIds: next }),
    );
    return refused ?? viewCustomer(context, null, policyVersion);
  });
}

/** `PUT /v1/customers/:id/plan`. */
export async function changeCustomerPlan(
  context: CustomerContext,
  plan: string | null,
  keepUsage: boolean,
  policyVersion: string | null,
): Promise<Result<CustomerView>> {
  const { store } = context;
  const known = store.record;
  if (known === null) return unknownCustomer();
  const sight = await planSight(context, policyVersion, known.org, known.org);
  const current = store.record;
  if (current === null) return unknownCustomer();
  const nowMs = context.ports.clock.nowMs();
  const record = { ...current, plan, updatedAt: nowMs };
  store.transaction(() => {
    store.putRecord(record);
    const events = [
      { type: "customer.plan_changed" as const, data: { from: current.plan, to: plan, keepUsage } },
      ...(keepUsage ? [] : clearAllUsage(store, plan)),
    ];
    store.appendEvents(events, current.id, current.id, nowMs);
    syncIncludedGrants(context, current, record, sight, nowMs);
  });
  return viewCustomer(context, null, policyVersion);
}

/**
 * Delete the customer: record, meters, holds and keys go, its alternate IDs are freed; `customer.deleted`
 * stays in the log. Answers the IDs it held.
 */
export function deleteCustomer(context: CustomerContext): Promise<Result<string[]>> {
  const { store } = context;
  return exclusive(context, async (current) => {
    if (current === null) return unknownCustomer();
    await changeAlternateIds(context, current.id, [], () => {
      const nowMs = context.ports.clock.nowMs();
      store.transaction(() => {
        store.clearCustomer();
        store.appendEvents(
          [{ type: "customer.deleted", data: { id: current.id } }],
          current.id,
          current.id,
          nowMs,
        );
      });
    });
    await releaseCanonicalId(context, current.id);
    if (current.org !== null) await leave(context, current.id, current.org);
    // Holds are gone; the alarm stays only while the outbox (customer.deleted included) has events to send.
    await context.ports.alarm.afterDelete();
    return ok(current.alternateIds);
  });
}

/** Overwrite this object's record, meters and holds with a state document. */
export function importCustomerState(
  context: CustomerContext,
  state: CustomerState,
  policyVersion: string | null,
): Promise<Result<CustomerView>> {
  const { store } = context;
  return exclusive(context, async (current) => {
    const decoded = decodeState(state);
    const id = decoded.record.id;
    if (current !== null && current.id !== id) {
      return fail("conflict", "object holds another customer");
    }
    decoded.record.alternateIds = [...new Set(decoded.record.alternateIds)];
    const change = { fromOrg: current?.org ?? null, toOrg: decoded.record.org, type: decoded.record.type };
    const apply = () =>
      changeAlternateIds(context, id, decoded.record.alternateIds, () => {
        const nowMs = context.ports.clock.nowMs();
        const type = store.record !== null ? "customer.updated" : "customer.created";
        store.transaction(() => {
          store.clearCustomer();
          store.putRecord(decoded.record);
          for (const [name, meter] of decoded.meters) store.putMeter(name, meter);
          for (const hold of decoded.holds) store.putHold(hold);
          store.putGrants(decoded.grants);
          store.appendEvents([{ type, data: { restored: true, id } }], id, id, nowMs);
        });
      });
    const refused = await changeMembership(context, id, change, apply);
    if (refused !== null) return refused;
    await context.ports.alarm.schedule();
    return viewCustomer(context, null, policyVersion);
  });
}
