/**
 * With webhooks off (this project sets no WEBHOOK_URL), events are `skipped`, never `pending`, and the alarm
 * prunes them by retention (SPEC §7; issue 9 finding 5: 1,201 pending events after 2,300 consumes, never
 * pruned). Pending events left by an earlier version stay pending and are never pruned; nor is an event not
 * yet in the read model (issue 13: appending events now arms the alarm for the projection, SPEC §13.1).
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { BUSY_PROJECTION_DELAY_MS, PROJECTION_DELAY_MS } from "../../src/objects/customer-alarm";
import { EVENT_RETENTION_MS } from "../../src/objects/customer-store";
import {
  allEvents,
  call,
  consume,
  customerStub,
  expectError,
  putCustomer,
  putPolicy,
  runProjection,
  TEST_POLICY,
  unique,
  withStore,
} from "../support/api";

const DAY_MS = 24 * 60 * 60 * 1000;

function storedAlarm(id: string): Promise<number | null> {
  return runInDurableObject(customerStub(id), (_i, state: DurableObjectState) => state.storage.getAlarm());
}

function sql<T extends Record<string, SqlStorageValue>>(
  id: string,
  query: string,
  ...bindings: SqlStorageValue[]
): Promise<T[]> {
  return runInDurableObject(customerStub(id), (_i, state: DurableObjectState) =>
    state.storage.sql.exec<T>(query, ...bindings).toArray(),
  );
}

/** Append `n` events to `id`'s log as if written (and skipped) at `atMs`. */
function appendAt(id: string, n: number, atMs: number): Promise<void> {
  return withStore(id, (store) => {
    const event = { type: "meter.changed", entitlement: "tokens", data: {} };
    store.transaction(() => store.appendEvents(Array(n).fill(event), id, id, atMs));
  });
}

const redeliver = (id: string, seq: number) => call("POST", `/v1/customers/${id}/events/${seq}/redeliver`);

describe("events with webhooks off", () => {
  beforeAll(async () => {
    await putPolicy(TEST_POLICY);
  });

  it("are skipped, never pending, and need no alarm but the read model's while the log is short", async () => {
    const id = unique("off");
    await putCustomer(id);
    for (let i = 0; i < 20; i++) await consume({ customer: id, entitlement: "tokens", amount: 1 });
    const events = await allEvents(id);
    expect(events).toHaveLength(21);
    for (const e of events) {
      expect(e.delivery).toEqual({
        status: "skipped",
        attempts: 0,
        deliveredAt: null,
        nextAttemptAt: null,
        lastError: null,
      });
    }
    // Issue 13: appending events arms the alarm for the read model (SPEC §13.1). A run that projected events
    // keeps it for the next batch, within 5 s (issue 14: one alarm write per batch); when no event came by
    // then, that run projects nothing and none is left.
    await runProjection(id);
    expect((await allEvents(id)).every((e) => e.projected === true)).toBe(true);
    const nextBatch = await storedAlarm(id);
    expect(nextBatch).not.toBeNull();
    expect(nextBatch).toBeLessThanOrEqual(Date.now() + BUSY_PROJECTION_DELAY_MS);
    expect(await runDurableObjectAlarm(customerStub(id))).toBe(true);
    expect(await storedAlarm(id)).toBeNull();
  });

  it("are pruned by the alarm beyond the last 1,000 once 30 days old and projected; consumes do not storm the alarm", async () => {
    const id = unique("prune");
    await putCustomer(id);
    for (let i = 0; i < 5; i++) await consume({ customer: id, entitlement: "tokens", amount: 1 });
    // 1,100 events skipped 31 days ago (seq 7..1106). A pending event left by an earlier version (seq 10)
    // is never pruned.
    await appendAt(id, 1100, Date.now() - 31 * DAY_MS);
    await sql(id, "UPDATE events SET status = 'pending', settled_at = NULL WHERE seq = 10");
    // Unprojected events are never pruned: the first run projects 500 and prunes none of the rest.
    await runDurableObjectAlarm(customerStub(id));
    expect((await allEvents(id)).length).toBeGreaterThanOrEqual(1106 - 500);
    await runProjection(id);
    // The run that projected the last batch kept the alarm for a next one; with no event since, the next run
    // arms retention alone.
    await runDurableObjectAlarm(customerStub(id));

    // 1,106 events: the last 1,000 are 107..1106; of the older ones, the young (1..6) and the pending stay.
    const seqs = (await allEvents(id)).map((e) => e.seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 10, ...Array.from({ length: 1000 }, (_, i) => 107 + i)]);
    const pending = (await allEvents(id)).filter((e) => e.delivery.status === "pending");
    expect(pending.map((e) => e.seq)).toEqual([10]);

    // Next prune: when seqs 1..6 turn 30 days old (they are beyond the last 1,000 now).
    const next = await storedAlarm(id);
    const created = Date.parse((await allEvents(id))[0].at);
    expect(next).toBeGreaterThanOrEqual(created + EVENT_RETENTION_MS);
    expect(next).toBeLessThan(Date.now() + EVENT_RETENTION_MS + 60_000);

    // No alarm storm: a consume brings the alarm forward once, for the read model; the projection ran just
    // now, so the customer counts as busy and its events wait up to 5 s to share a batch (not 1 s).
    // Further consumes leave it where it is, also after an eviction (the new instance looks before it sets).
    await consume({ customer: id, entitlement: "tokens", amount: 1 });
    const armed = await storedAlarm(id);
    expect(armed).not.toBeNull();
    expect(armed).toBeLessThanOrEqual(Date.now() + BUSY_PROJECTION_DELAY_MS);
    expect(armed).toBeGreaterThan(Date.now() + PROJECTION_DELAY_MS);
    for (let i = 0; i < 20; i++) await consume({ customer: id, entitlement: "tokens", amount: 1 });
    expect(await storedAlarm(id)).toBe(armed);
    await evictDurableObject(customerStub(id));
    await consume({ customer: id, entitlement: "tokens", amount: 1 });
    // A new instance does not know the customer was busy: it may bring the alarm forward to within a second,
    // once; further consumes leave it where it is.
    const after = await storedAlarm(id);
    expect(after).not.toBeNull();
    expect(after).toBeLessThanOrEqual(armed ?? 0);
    for (let i = 0; i < 5; i++) await consume({ customer: id, entitlement: "tokens", amount: 1 });
    const settled = await storedAlarm(id);
    if (settled !== null && after !== null && settled <= after) expect(settled).toBe(after);
    await runProjection(id);
    await runDurableObjectAlarm(customerStub(id));
    expect(await storedAlarm(id)).toBe(next);
  });

  it("a quiet customer's first events reach the read model within a second, a busy one's within 5 s", async () => {
    const id = unique("quiet");
    await putCustomer(id);
    const armed = await storedAlarm(id);
    expect(armed).not.toBeNull();
    expect(armed).toBeLessThanOrEqual(Date.now() + PROJECTION_DELAY_MS);
    await runProjection(id);
    // The run kept the alarm for the next batch: the append finds it due in time and writes nothing.
    const kept = await storedAlarm(id);
    await consume({ customer: id, entitlement: "tokens", amount: 1 });
    const busy = await storedAlarm(id);
    expect(busy).toBe(kept);
    expect(busy).toBeGreaterThan(Date.now() + PROJECTION_DELAY_MS);
    expect(busy).toBeLessThanOrEqual(Date.now() + BUSY_PROJECTION_DELAY_MS);
  });

  it("a consume-heavy customer (2,300 consumes) ends with nothing pending and at most the retained events", async () => {
    const id = unique("heavy");
    await putCustomer(id);
    await appendAt(id, 2300, Date.now() - 40 * DAY_MS);
    await runProjection(id);
    const counts = await sql<{ status: string; n: number }>(
      id,
      "SELECT status, COUNT(*) AS n FROM events GROUP BY status",
    );
    expect(counts).toEqual([{ status: "skipped", n: 1001 }]); // the last 1,000 and customer.created (young)
  });
});

describe("redeliver with webhooks off", () => {
  it("refuses a skipped event (409 event_not_redeliverable) and a failed one (409 webhooks_off)", async () => {
    const id = unique("redeliver_off");
    await putCustomer(id);
    await consume({ customer: id, entitlement: "tokens", amount: 1 });
    await expectError(409, "event_not_redeliverable", "POST", `/v1/customers/${id}/events/1/redeliver`);
    await sql(id, "UPDATE events SET status = 'failed', attempts = 1, last_error = 'x' WHERE seq = 2");
    await expectError(409, "webhooks_off", "POST", `/v1/customers/${id}/events/2/redeliver`);
    await expectError(404, "event_not_found", "POST", `/v1/customers/${id}/events/3/redeliver`);
    // Nothing changed.
    const events = await allEvents(id);
    expect(events.map((e) => e.delivery.status)).toEqual(["skipped", "failed"]);
  });

  it("answers a pending event as it stands", async () => {
    const id = unique("redeliver_pending");
    await putCustomer(id);
    await sql(id, "UPDATE events SET status = 'pending', settled_at = NULL WHERE seq = 1");
    const res = await redeliver(id, 1);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ seq: 1, type: "customer.created", delivery: { status: "pending" } });
  });

  it("is documented in /openapi.json", async () => {
    const doc = (await call("GET", "/openapi.json")).json;
    const op = doc.paths["/v1/customers/{id}/events/{seq}/redeliver"]?.post;
    expect(op).toBeDefined();
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["200", "400", "404", "409"]));
  });
});

describe("events stored by the previous version (schema v2)", () => {
  it("become skipped or delivered with their settle time, and undelivered ones stay pending", async () => {
    const id = unique("legacy");
    const at = "2026-01-02T03:04:05.678Z";
    await runInDurableObject(customerStub(id), (_i, state: DurableObjectState) => {
      const s = state.storage.sql;
      // Schema v1 + v2 exactly as shipped.
      s.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      s.exec("CREATE TABLE meters (entitlement TEXT PRIMARY KEY, state TEXT NOT NULL)");
      s.exec("CREATE TABLE holds (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, body TEXT NOT NULL)");
      s.exec(`CREATE TABLE idempotency (customer TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
        response TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (customer, key))`);
      s.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, at TEXT NOT NULL,
        body TEXT NOT NULL)`);
      s.exec("ALTER TABLE events ADD COLUMN deliver INTEGER NOT NULL DEFAULT 0");
      s.exec("ALTER TABLE events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0");
      s.exec("ALTER TABLE events ADD COLUMN delivered_at INTEGER");
      s.exec("ALTER TABLE events ADD COLUMN next_attempt_at INTEGER");
      s.exec("ALTER TABLE events ADD COLUMN last_error TEXT");
      s.exec("CREATE INDEX events_outbox ON events (seq) WHERE deliver = 1 AND delivered_at IS NULL");
      s.exec("INSERT INTO meta (key, value) VALUES ('schema_version', '2')");
      const body = (seq: number) =>
        JSON.stringify({
          id: `evt_${seq}`,
          seq,
          type: "meter.changed",
          at,
          customer: id,
          meteredOn: id,
          data: {},
        });
      s.exec(
        "INSERT INTO events (seq, id, type, at, body, deliver, attempts, delivered_at) VALUES (1, 'evt_1', 'meter.changed', ?, ?, 0, 0, NULL), (2, 'evt_2', 'meter.changed', ?, ?, 1, 2, 1767323045999), (3, 'evt_3', 'meter.changed', ?, ?, 1, 5, NULL)",
        at,
        body(1),
        at,
        body(2),
        at,
        body(3),
      );
    });
    await evictDurableObject(customerStub(id));
    const rows = await withStore(id, (store) => {
      const statuses = store
        .listEvents(0, 10)
        .events.map((e: { delivery: { status: string } }) => e.delivery.status);
      const sqlStorage: SqlStorage = store.storage.sql;
      const settled = sqlStorage
        .exec<{ seq: number; settled_at: number | null }>("SELECT seq, settled_at FROM events ORDER BY seq")
        .toArray();
      return { statuses, settled };
    });
    expect(rows.statuses).toEqual(["skipped", "delivered", "pending"]);
    expect(rows.settled).toEqual([
      { seq: 1, settled_at: Math.floor(Date.parse(at) / 1000) * 1000 },
      { seq: 2, settled_at: 1767323045999 },
      { seq: 3, settled_at: null },
    ]);
  });
});
