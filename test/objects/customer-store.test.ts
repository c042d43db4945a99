import { describe, expect, it } from "vitest";
import { EVENT_RETENTION_MS, EVENTS_KEPT } from "../../src/objects/customer-store";
import { unique, withStore } from "../support/api";

// Retention (SPEC §7): a settled event goes once it settled 30 days ago and is not among the last 1,000.
// Appending never prunes (the alarm does: test/objects/event-retention.test.ts).
describe("event log retention", () => {
  for (const batch of [1, 7]) {
    it(`prunes all but the last ${EVENTS_KEPT} of events settled 30 days ago, appended ${batch} at a time`, async () => {
      const id = unique("log");
      const stats = await withStore(id, (store) => {
        const event = { type: "meter.changed", entitlement: "tokens", data: {} };
        const old = Date.now() - EVENT_RETENTION_MS - 1000;
        store.transaction(() => store.appendEvents([event], id, id, old));
        for (let i = 0; i < 3000; i += batch) {
          const n = Math.min(batch, 3000 - i);
          store.transaction(() => store.appendEvents(Array(n).fill(event), id, id, old));
        }
        const sql: SqlStorage = store.storage.sql;
        const count = () =>
          sql
            .exec<{ n: number; lo: number; hi: number }>(
              "SELECT COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM events",
            )
            .one();
        const appended = count();
        store.transaction(() => store.pruneEvents(Date.now()));
        return { appended, pruned: count() };
      });
      expect(stats.appended.n).toBe(3001);
      expect(stats.pruned).toEqual({ n: EVENTS_KEPT, lo: 3002 - EVENTS_KEPT, hi: 3001 });
    });
  }

  it("keeps events beyond the last 1,000 until they settled 30 days ago", async () => {
    const id = unique("young");
    const n = await withStore(id, (store) => {
      const event = { type: "meter.changed", entitlement: "tokens", data: {} };
      const young = Date.now() - EVENT_RETENTION_MS + 60_000;
      store.transaction(() => store.appendEvents(Array(1500).fill(event), id, id, young));
      store.transaction(() => store.pruneEvents(Date.now()));
      return store.listEvents(0, 1000).events.length + store.listEvents(1000, 1000).events.length;
    });
    expect(n).toBe(1500);
  });
});

describe("transactions", () => {
  it("a write that throws leaves the in-memory copies as the disk has them", async () => {
    const id = unique("rollback");
    const after = await withStore(id, (store) => {
      const meter = {
        used: 1,
        held: 0,
        overage: 0,
        periodStart: null,
        periodEnd: null,
        alertsFired: [],
        bucket: null,
      };
      store.transaction(() => {
        store.putMeter("tokens", meter);
        store.appendEvents([{ type: "meter.changed", data: {} }], id, id, Date.now());
      });
      expect(() =>
        store.transaction(() => {
          store.putMeter("tokens", { ...meter, used: 99 });
          store.appendEvents([{ type: "meter.changed", data: {} }], id, id, Date.now());
          throw new Error("boom");
        }),
      ).toThrow("boom");
      // The next event still gets the next seq: no gap from the rolled-back one.
      store.transaction(() => store.appendEvents([{ type: "meter.changed", data: {} }], id, id, Date.now()));
      return {
        used: store.meters.get("tokens").used,
        seqs: store.listEvents(0, 10).events.map((e: { seq: number }) => e.seq),
      };
    });
    expect(after).toEqual({ used: 1, seqs: [1, 2] });
  });
});

describe("idempotency keys", () => {
  it("expire after 24 h and are pruned as new keys arrive, without any alarm", async () => {
    const id = unique("keys");
    const count = await withStore(id, (store) => {
      const dayAndMore = 25 * 3600_000;
      store.transaction(() => {
        for (let i = 0; i < 50; i++)
          store.putIdempotency(id, `old-${i}`, "[]", "{}", Date.now() - dayAndMore);
      });
      expect(store.getIdempotency(id, "old-0", Date.now())).toBeNull();
      store.transaction(() => {
        for (let i = 0; i < 150; i++) store.putIdempotency(id, `new-${i}`, "[]", "{}", Date.now());
      });
      expect(store.getIdempotency(id, "new-0", Date.now())).not.toBeNull();
      const sql: SqlStorage = store.storage.sql;
      return sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM idempotency WHERE key LIKE 'old-%'").one().n;
    });
    expect(count).toBe(0);
  });
});
