/**
 * Feeding the D1 read model from one customer's event log (SPEC §13.1), driven by the object's alarm beside
 * webhook delivery and independent of it: the oldest unprojected events first, in seq order, in slices of one
 * `db.batch` each; an event is marked projected only after the read model committed it, so delivery is
 * at-least-once and the read model's idempotence (event ids, customer seqs) makes it exact. A failure (D1
 * unavailable, a throw anywhere in a slice) leaves the slice unprojected and retries with backoff; nothing
 * is lost. Never on the decision path: appends only make sure the alarm will run.
 */
import { needsRecord, writesCustomerRow } from "../analytics/projection-writer";
import type { ProjectionItem } from "../analytics/types";
import type { StoredEvent } from "../domain/types";
import type { CustomerStore } from "./customer-store";
import type { AnalyticsPort } from "./ports";

/**
 * Events per `db.batch`: all of a batch's usage is one statement whatever its size (a JSON array of rows), so
 * one batch of 500 costs one D1 round trip and one watermark write where five of 100 cost five (a hot customer
 * appends thousands per 5 s window). A customer event is three statements of its own: a batch stops after
 * `SLICE_CUSTOMER_EVENTS` of them, so no batch carries more than about 300 statements.
 */
const SLICE_EVENTS = 500;
const SLICE_CUSTOMER_EVENTS = 100;
/** Retry backoff after a failure: 1 s doubling, capped at 5 min. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 5 * 60 * 1000;

/** The projection state of one object instance. */
export class Projector {
  private failures = 0;
  private retryAtMs: number | null = null;
  private running = false;

  /**
   * Project what is due. Answers when the projection next needs the alarm (now when more wait, the retry
   * time after a failure), or null when every event is projected.
   */
  async run(store: CustomerStore, port: AnalyticsPort, nowMs: () => number): Promise<number | null> {
    // Another run of this instance is projecting (alarms may overlap a slow D1): it schedules what it saw.
    if (this.running) return nowMs() + FIRST_RETRY_MS;
    // A run tries whenever the alarm comes, also before a backoff ends (the alarm had other work due): the
    // backoff only keeps appends from bringing the alarm forward (`retryAfterMs`).
    this.running = true;
    try {
      // One slice per run: when more wait, the alarm re-arms at once.
      const items = sliceOf(store, store.unprojectedEvents(SLICE_EVENTS));
      const last = items.at(-1);
      if (last !== undefined) {
        await port.project(items);
        store.transaction(() => store.markProjected(last.event.seq));
      }
      this.succeeded();
      return store.hasUnprojected() ? nowMs() : null;
    } catch (error) {
      this.failures += 1;
      const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(this.failures - 1, 20));
      this.retryAtMs = nowMs() + delay;
      console.error(
        JSON.stringify({
          level: "error",
          msg: "read model projection failed; retrying",
          failures: this.failures,
          retryInMs: delay,
          error: String(error).slice(0, 300),
        }),
      );
      return this.retryAtMs;
    } finally {
      this.running = false;
    }
  }

  /** While backing off after a failure: when the next attempt is due; else null. */
  get retryAfterMs(): number | null {
    return this.retryAtMs;
  }

  private succeeded(): void {
    this.failures = 0;
    this.retryAtMs = null;
  }
}

/** The rows as projection items, up to (not past) the `SLICE_CUSTOMER_EVENTS`th customer event. */
function sliceOf(store: CustomerStore, rows: readonly { body: string }[]): ProjectionItem[] {
  const items: ProjectionItem[] = [];
  let customerEvents = 0;
  for (const row of rows) {
    const item = itemOf(store, JSON.parse(row.body) as StoredEvent);
    if (writesCustomerRow(item.event)) customerEvents += 1;
    items.push(item);
    if (customerEvents >= SLICE_CUSTOMER_EVENTS) break;
  }
  return items;
}

/** A customer event carries the record as it is now (see `ProjectionItem`). */
function itemOf(store: CustomerStore, event: StoredEvent): ProjectionItem {
  return { event, record: needsRecord(event) ? store.record : null };
}
