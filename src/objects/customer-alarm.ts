/**
 * A customer object's one alarm serves four schedules: hold expiry (and forgetting expired holds after 24 h),
 * webhook delivery from the outbox, the read model's projection (SPEC §13.1) and event retention (SPEC §7).
 * It is set for whichever is due first; each run does all of them and re-arms it, so once an alarm exists
 * every schedule is kept. Delivery and projection run side by side: neither waits for the other.
 */
import { EXPIRED_HOLD_RETENTION_MS, expireHold, isHoldForgotten } from "../domain/holds";
import type { WebhookConfig } from "../webhooks/config";
import { type CustomerStore, EVENTS_KEPT, IDEMPOTENCY_TTL_MS } from "./customer-store";
import { deliverDue } from "./outbox";
import type { AlarmPort, AnalyticsPort, Clock } from "./ports";
import { Projector } from "./projection";

/** Retention runs at most this often: under steady traffic some event always turns 30 days old. */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
/** With no alarm known, appends look for a retention need at most once per this many events. */
const RETENTION_CHECK_EVERY = 100;
/**
 * New events reach the read model this long after the first of them at most (plus the run), when the last
 * projection was a while ago: an append never sets the alarm while one is due by then.
 */
export const PROJECTION_DELAY_MS = 1000;
/**
 * Within this long of the last projection run, new events wait this long instead: a busy customer's events
 * then share one alarm and one D1 batch per 5 s rather than per second (under load spread over many
 * customers, a run per second each cost about one alarm and one batch per two consumes). Still seconds.
 */
export const BUSY_PROJECTION_DELAY_MS = 5000;

/** The alarm of one object instance; the constructor of `CustomerObject` wires it as the modules' `AlarmPort`. */
export class CustomerAlarm implements AlarmPort {
  /** The alarm time this instance last set, so appending events does not set it again and again. */
  private alarmAtMs: number | null = null;
  /** The seq at which appends last made sure retention has an alarm. */
  private retentionCheckedAt = Number.NEGATIVE_INFINITY;
  private readonly projector = new Projector();
  /** When this instance last ran the projection (busy customers batch longer). */
  private projectedAtMs = Number.NEGATIVE_INFINITY;

  /**
   * @param analytics the read model the events are projected to, read at each use (a test may swap it);
   *   null when the Worker has no `ANALYTICS` binding: then nothing is projected and retention ignores it
   */
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly store: CustomerStore,
    private readonly webhooks: WebhookConfig,
    private readonly clock: Clock,
    private readonly analytics: () => AnalyticsPort | null = () => null,
  ) {
    // Events written before this version (or whose alarm was lost) still reach the read model.
    if (this.analytics() !== null && store.hasUnprojected()) this.wakeProjection();
  }

  /**
   * After events were appended: wake the outbox when webhooks are on, else make sure retention will run; and
   * make sure the projection runs within `PROJECTION_DELAY_MS` (`BUSY_PROJECTION_DELAY_MS` when it ran lately).
   */
  onEventsAppended(): void {
    if (this.webhooks.state === "on") this.wakeOutbox();
    else this.armRetention();
    this.wakeProjection();
  }

  /**
   * Make sure the alarm runs within the projection delay: a number comparison when one is due by then, so a
   * hot customer sets the alarm once per run, never once per consume.
   */
  private wakeProjection(): void {
    if (this.analytics() === null) return;
    // After a failure, appends wait for the backoff: a down D1 is not retried once per second per customer.
    const nowMs = this.clock.nowMs();
    const delay =
      nowMs - this.projectedAtMs < BUSY_PROJECTION_DELAY_MS ? BUSY_PROJECTION_DELAY_MS : PROJECTION_DELAY_MS;
    const due = Math.max(nowMs + delay, this.projector.retryAfterMs ?? 0);
    if (this.alarmAtMs !== null && this.alarmAtMs <= due) return;
    const known = this.alarmAtMs;
    this.alarmAtMs = due;
    // Unknown to this instance (new, or just after a run): an earlier stored alarm must not be postponed.
    const set = async () => {
      if (known === null) {
        const current = await this.storage.getAlarm();
        if (current !== null && current <= due) {
          if (this.alarmAtMs === due) this.alarmAtMs = current;
          return;
        }
      }
      await this.storage.setAlarm(due);
    };
    set().catch((error: unknown) => {
      this.alarmAtMs = null;
      logAlarmError("could not set the projection alarm", error);
    });
  }

  /** New events wait in the outbox: make the alarm run now (it re-arms itself for whatever comes next). */
  wakeOutbox(): void {
    if (this.webhooks.state !== "on") return;
    const nowMs = this.clock.nowMs();
    if (this.alarmAtMs !== null && this.alarmAtMs <= nowMs) return;
    this.alarmAtMs = nowMs;
    // Storage writes need no await in a Durable Object: the output gate holds the response until it is durable.
    this.storage.setAlarm(nowMs).catch((error: unknown) => {
      this.alarmAtMs = null;
      logAlarmError("could not set the outbox alarm", error);
    });
  }

  /**
   * With webhooks off nothing else may ever set the alarm, yet settled events must be pruned. When this
   * instance knows of no alarm and the log has passed 1,000 events, set one for the first prune, unless an
   * alarm is set already (its run re-arms retention). Cheap on every append: a number comparison, and at most
   * one look at the stored alarm per 100 events while none is known; never a new alarm per consume.
   */
  private armRetention(): void {
    const seq = this.store.lastEventSeq;
    if (this.alarmAtMs !== null || seq <= EVENTS_KEPT) return;
    if (seq < this.retentionCheckedAt + RETENTION_CHECK_EVERY) return;
    this.retentionCheckedAt = seq;
    this.arm(null, true).catch((error: unknown) => logAlarmError("could not set the retention alarm", error));
  }

  /** Arm the alarm for the next hold to expire or to forget and the next key to prune. */
  schedule(): Promise<void> {
    return this.arm(null, false);
  }

  /**
   * Set the alarm for the next hold to expire or to forget, the next webhook delivery due, and with
   * `retention` the next prune. The alarm only ever moves earlier here, so a caller that leaves retention out
   * (a reserve) never delays a prune another caller scheduled: the run re-arms it.
   */
  private async arm(nextWorkMs: number | null, retention: boolean): Promise<void> {
    const { store } = this;
    let next = nextWorkMs ?? Number.POSITIVE_INFINITY;
    for (const hold of store.holds.values()) {
      next = Math.min(next, hold.expired ? hold.expiresAt + EXPIRED_HOLD_RETENTION_MS : hold.expiresAt);
    }
    const pruneAt = retention ? store.nextPruneAtMs() : null;
    if (pruneAt !== null) next = Math.min(next, Math.max(pruneAt, this.clock.nowMs() + PRUNE_INTERVAL_MS));
    next = Math.min(next, store.nextKeyExpiryMs() ?? Number.POSITIVE_INFINITY);
    if (next === Number.POSITIVE_INFINITY) return;
    const current = await this.storage.getAlarm();
    if (current === null || current > next) {
      await this.storage.setAlarm(next);
      this.alarmAtMs = next;
    } else {
      this.alarmAtMs = current;
    }
  }

  /**
   * Answer `work`'s result once the alarm is armed for the idempotency keys it stored: the alarm prunes them
   * after 24 h (SPEC §11 "Bounds"), also on an object that has no holds.
   */
  async armForStoredKeys<T>(work: Promise<T>): Promise<T> {
    const result = await work;
    if (this.store.takeStoredKeys()) {
      // A key stored now is due after every key already stored: an alarm set no later than that serves it.
      const due = this.clock.nowMs() + IDEMPOTENCY_TTL_MS;
      if (this.alarmAtMs === null || this.alarmAtMs > due) await this.schedule();
    }
    return result;
  }

  /**
   * Expire due holds (`hold.expired`), forget expired ones after 24 h, prune idempotency keys and settled
   * (and projected) events past retention; deliver events and project them, side by side.
   */
  async run(): Promise<void> {
    const { store } = this;
    const nowMs = this.clock.nowMs();
    const analytics = this.analytics();
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
    this.alarmAtMs = null;
    const projectedBefore = store.projectedThroughSeq;
    // A dead receiver (10 s per attempt) does not hold up the read model, nor a dead D1 the webhooks.
    const [nextDelivery, nextProjection] = await Promise.all([
      deliverDue(store, this.webhooks),
      analytics === null ? null : this.project(analytics),
    ]);
    // After both: what this run settled or projected may go now (one statement, atomic on its own).
    store.pruneEvents(nowMs, analytics !== null);
    await this.arm(earliest(earliest(nextDelivery, nextProjection), this.nextBatchMs(projectedBefore)), true);
  }

  /**
   * A customer whose events this run projected is likely to append more: the alarm stays set for its next
   * batch (`BUSY_PROJECTION_DELAY_MS` on), so its appends find it due and set nothing. Without this, a busy
   * customer wrote its alarm twice per batch: the retention alarm here, then the batch's alarm at its next
   * append. When no event comes, that run projects nothing and arms retention alone. Null when this run
   * projected nothing.
   */
  private nextBatchMs(projectedBefore: number): number | null {
    if (this.store.projectedThroughSeq <= projectedBefore) return null;
    return this.clock.nowMs() + BUSY_PROJECTION_DELAY_MS;
  }

  private project(analytics: AnalyticsPort): Promise<number | null> {
    this.projectedAtMs = this.clock.nowMs();
    return this.projector.run(this.store, analytics, () => this.clock.nowMs());
  }

  /** After a delete: holds are gone; the alarm stays for events still to send and for retention. */
  async afterDelete(): Promise<void> {
    await this.storage.deleteAlarm();
    this.alarmAtMs = null;
    if (this.webhooks.state === "on" && this.store.nextPending() !== null) this.wakeOutbox();
    else await this.arm(null, true);
    // customer.deleted (and whatever preceded it) must still reach the read model.
    if (this.store.hasUnprojected()) this.wakeProjection();
  }
}

/** The earlier of two optional times. */
function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

function logAlarmError(msg: string, error: unknown): void {
  console.error(JSON.stringify({ level: "error", msg, error: String(error) }));
}
