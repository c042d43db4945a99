/**
 * A customer object's one alarm serves three schedules: hold expiry (and forgetting expired holds after 24 h),
 * webhook delivery from the outbox, and event retention (SPEC §7). It is set for whichever is due first; each
 * run does all three and re-arms it, so once an alarm exists every schedule is kept.
 */
import { EXPIRED_HOLD_RETENTION_MS, expireHold, isHoldForgotten } from "../domain/holds";
import type { CustomerContext } from "./customer-context";
import { EVENTS_KEPT, IDEMPOTENCY_TTL_MS } from "./customer-store";
import { deliverDue } from "./outbox";

/** Retention runs at most this often: under steady traffic some event always turns 30 days old. */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
/** With no alarm known, appends look for a retention need at most once per this many events. */
const RETENTION_CHECK_EVERY = 100;

/** Per instance: the seq at which appends last made sure retention has an alarm. */
const retentionCheckedAt = new WeakMap<CustomerContext, number>();

/** After events were appended: wake the outbox when webhooks are on, else make sure retention will run. */
export function onEventsAppended(context: CustomerContext): void {
  if (context.webhooks.state === "on") wakeOutbox(context);
  else armRetention(context);
}

/** New events wait in the outbox: make the alarm run now (it re-arms itself for whatever comes next). */
export function wakeOutbox(context: CustomerContext): void {
  if (context.webhooks.state !== "on") return;
  const nowMs = Date.now();
  if (context.alarmAtMs !== null && context.alarmAtMs <= nowMs) return;
  context.alarmAtMs = nowMs;
  // Storage writes need no await in a Durable Object: the output gate holds the response until it is durable.
  context.storage.setAlarm(nowMs).catch((error: unknown) => {
    context.alarmAtMs = null;
    logAlarmError("could not set the outbox alarm", error);
  });
}

/**
 * With webhooks off nothing else may ever set the alarm, yet settled events must be pruned. When this
 * instance knows of no alarm and the log has passed 1,000 events, set one for the first prune, unless an
 * alarm is set already (its run re-arms retention). Cheap on every append: a number comparison, and at most
 * one look at the stored alarm per 100 events while none is known; never a new alarm per consume.
 */
function armRetention(context: CustomerContext): void {
  const seq = context.store.lastEventSeq;
  if (context.alarmAtMs !== null || seq <= EVENTS_KEPT) return;
  if (seq < (retentionCheckedAt.get(context) ?? Number.NEGATIVE_INFINITY) + RETENTION_CHECK_EVERY) return;
  retentionCheckedAt.set(context, seq);
  scheduleAlarm(context, null, { retention: true }).catch((error: unknown) =>
    logAlarmError("could not set the retention alarm", error),
  );
}

/**
 * Set the alarm for the next hold to expire or to forget, the next webhook delivery due, and with
 * `retention` the next prune. The alarm only ever moves earlier here, so a caller that leaves retention out
 * (a reserve) never delays a prune another caller scheduled: the run re-arms it.
 */
export async function scheduleAlarm(
  context: CustomerContext,
  nextDeliveryMs: number | null = null,
  options: { retention?: boolean } = {},
): Promise<void> {
  let next = nextDeliveryMs ?? Number.POSITIVE_INFINITY;
  for (const hold of context.store.holds.values()) {
    next = Math.min(next, hold.expired ? hold.expiresAt + EXPIRED_HOLD_RETENTION_MS : hold.expiresAt);
  }
  const pruneAt = options.retention === true ? context.store.nextPruneAtMs() : null;
  if (pruneAt !== null) next = Math.min(next, Math.max(pruneAt, Date.now() + PRUNE_INTERVAL_MS));
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

/**
 * Expire due holds (`hold.expired`), forget expired ones after 24 h, prune idempotency keys and settled
 * events past retention, deliver events.
 */
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
    store.pruneEvents(nowMs);
  });
  // This run consumed the alarm: whatever is due next is scheduled afresh below.
  context.alarmAtMs = null;
  const nextDelivery = await deliverDue(store, context.webhooks);
  await scheduleAlarm(context, nextDelivery, { retention: true });
}

/** After a delete: holds are gone; the alarm stays for events still to send and for retention. */
export async function clearAlarm(context: CustomerContext): Promise<void> {
  await context.storage.deleteAlarm();
  context.alarmAtMs = null;
  if (context.webhooks.state === "on" && context.store.nextPending() !== null) wakeOutbox(context);
  else await scheduleAlarm(context, null, { retention: true });
}

function logAlarmError(msg: string, error: unknown): void {
  console.error(JSON.stringify({ level: "error", msg, error: String(error) }));
}
