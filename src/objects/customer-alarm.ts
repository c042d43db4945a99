/**
 * A customer object's one alarm serves two schedules: hold expiry (and forgetting expired holds after 24 h)
 * and webhook delivery from the outbox. It is set for whichever is due first; each run re-arms it.
 */
import { EXPIRED_HOLD_RETENTION_MS, expireHold, isHoldForgotten } from "../domain/holds";
import type { CustomerContext } from "./customer-context";
import { IDEMPOTENCY_TTL_MS } from "./customer-store";
import { deliverDue } from "./outbox";

/** New events wait in the outbox: make the alarm run now (it re-arms itself for whatever comes next). */
export function wakeOutbox(context: CustomerContext): void {
  if (context.webhooks.state !== "on") return;
  const nowMs = Date.now();
  if (context.alarmAtMs !== null && context.alarmAtMs <= nowMs) return;
  context.alarmAtMs = nowMs;
  // Storage writes need no await in a Durable Object: the output gate holds the response until it is durable.
  context.storage.setAlarm(nowMs).catch((error: unknown) => {
    context.alarmAtMs = null;
    console.error(
      JSON.stringify({ level: "error", msg: "could not set the outbox alarm", error: String(error) }),
    );
  });
}

/** Set the alarm for the next hold to expire or to forget, or the next webhook delivery due. */
export async function scheduleAlarm(
  context: CustomerContext,
  nextDeliveryMs: number | null = null,
): Promise<void> {
  let next = nextDeliveryMs ?? Number.POSITIVE_INFINITY;
  for (const hold of context.store.holds.values()) {
    next = Math.min(next, hold.expired ? hold.expiresAt + EXPIRED_HOLD_RETENTION_MS : hold.expiresAt);
  }
  next = Math.min(next, context.store.nextKeyExpiryMs() ?? Number.POSITIVE_INFINITY);
  if (next === Number.POSITIVE_INFINITY) return;
  const current = await context.storage.getAlarm();
  if (current === null || current > next) {
    await context.storage.setAlarm(next);
    context.alarmAtMs = next;
  } else {
    context.alarmAtMs = current;
  }
}

/**
 * Answer `work`'s result once the alarm is armed for the idempotency keys it stored: the alarm prunes them
 * after 24 h (SPEC §11 "Bounds"), also on an object that has no holds.
 */
export async function armForStoredKeys<T>(context: CustomerContext, work: Promise<T>): Promise<T> {
  const result = await work;
  if (context.store.takeStoredKeys()) {
    // A key stored now is due after every key already stored: an alarm set no later than that serves it.
    const due = Date.now() + IDEMPOTENCY_TTL_MS;
    if (context.alarmAtMs === null || context.alarmAtMs > due) await scheduleAlarm(context);
  }
  return result;
}

/** Expire due holds (`hold.expired`), forget expired ones after 24 h, prune idempotency keys, deliver events. */
export async function runAlarm(context: CustomerContext): Promise<void> {
  const { store } = context;
  const nowMs = Date.now();
  const record = store.record;
  store.transaction(() => {
    for (const hold of [...store.holds.values()]) {
      if (isHoldForgotten(hold, nowMs)) {
        store.deleteHold(hold.id);
        continue;
      }
      const expired = expireHold(store.meters.get(hold.entitlement), hold, null, nowMs);
      if (expired === null) continue;
      if (expired.meter !== null) store.putMeter(hold.entitlement, expired.meter);
      store.putHold(expired.hold);
      store.appendEvents([expired.event], hold.customer, record?.id ?? hold.customer, nowMs);
    }
    store.pruneIdempotency(nowMs);
  });
  // This run consumed the alarm: whatever is due next is scheduled afresh below.
  context.alarmAtMs = null;
  const nextDelivery = await deliverDue(store, context.webhooks);
  await scheduleAlarm(context, nextDelivery);
}

/** After a delete: holds are gone, so the alarm stays only while the outbox has events to send. */
export async function clearAlarm(context: CustomerContext): Promise<void> {
  await context.storage.deleteAlarm();
  context.alarmAtMs = null;
  if (context.store.nextPending() !== null) wakeOutbox(context);
}
