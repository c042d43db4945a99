/**
 * Changing a customer's record through its object: upsert, one alternate ID added or removed, plan change,
 * delete, state import. Whatever may change the alternate-ID list runs under the object's lock (`exclusive`).
 */

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
import { clearAllUsage, decodeState, mergeRecord } from "./object-records";
import { changeMembership, leave } from "./org-members";
import { viewCustomer } from "./record-reads";

/** Store the record merged with `patch`, with its events. */
function writeRecord(context: CustomerContext, id: string, patch: CustomerPatch): void {
  const { store } = context;
  const nowMs = context.ports.clock.nowMs();
  // Merged with the record as it is now: a plan change may have landed while claims were awaited.
  const { record, events } = mergeRecord(store.record, id, patch, nowMs);
  store.transaction(() => {
    store.putRecord(record);
    store.appendEvents(events, id, id, nowMs);
  });
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
    const refused = await changeMembership(context, id, change, () =>
      changeAlternateIds(context, id, next, () => writeRecord(context, id, patch)),
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
          store.appendEvents([{ type, data: { restored: true, id } }], id, id, nowMs);
        });
      });
    const refused = await changeMembership(context, id, change, apply);
    if (refused !== null) return refused;
    await context.ports.alarm.schedule();
    return viewCustomer(context, null, policyVersion);
  });
}
