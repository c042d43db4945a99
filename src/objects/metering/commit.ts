/**
 * The one write of a metering call: the meter, the hold, the events and the idempotency key in one
 * transaction, so no change exists without its event and no key without its change (SPEC §4, §8). Nothing
 * is awaited between the replay check and this write.
 */
import type { MeterResult } from "../../domain/meter";
import type { Grant } from "../../domain/money/types";
import type { Decision, DomainEvent } from "../../domain/types";
import type { CustomerStore } from "../customer-store";
import { type KeyedCall, keyApplies, remember } from "./idempotency";

/** What the engine changed: a meter, a hold to keep (`reserve`) or to drop (`settle`), events. */
export interface MeterChange {
  entitlement: string;
  result: MeterResult;
  /** Whose call it was and whose object meters it (the org, for a member's call). */
  customer: string;
  meteredOn: string;
  /** The meter owner's grants to store (drawn, reset, expired), or null when they stay as stored. */
  grants?: readonly Grant[] | null;
  /** `grant.reset` / `grant.expired` of the lifecycle applied on this write; written before the meter's. */
  grantEvents?: readonly DomainEvent[];
}

/** Store `change` (null: a refusal, nothing metered) and remember `decision` under the call's key. */
export function commit(
  store: CustomerStore,
  change: MeterChange | null,
  call: KeyedCall,
  decision: Decision,
  nowMs: number,
): void {
  const result = change?.result;
  const grants = change?.grants ?? null;
  const grantEvents = change?.grantEvents ?? [];
  const changes =
    result !== undefined &&
    (result.meter !== null ||
      result.hold !== null ||
      result.events.length > 0 ||
      grants !== null ||
      grantEvents.length > 0);
  if (!changes && !keyApplies(call)) return;
  store.transaction(() => {
    if (change !== null && result !== undefined) {
      if (result.meter !== null) store.putMeter(change.entitlement, result.meter);
      if (result.hold !== null) {
        if (call.op === "reserve") store.putHold(result.hold);
        else store.deleteHold(result.hold.id);
      }
      if (grants !== null) store.putGrants(grants);
      const events = grantEvents.length === 0 ? result.events : [...grantEvents, ...result.events];
      store.appendEvents(events, change.customer, change.meteredOn, nowMs);
    }
    remember(store, call, decision, nowMs);
  });
}
