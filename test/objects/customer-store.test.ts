import { describe, expect, it } from "vitest";
import { EVENTS_KEPT } from "../../src/objects/customer-store";
import { unique, withStore } from "../support/api";

// The event log keeps at least the last 1000 events (SPEC §5.2) and does not grow without bound.
describe("event log retention", () => {
  for (const batch of [1, 2, 3, 7]) {
    it(`keeps the last ${EVENTS_KEPT} and prunes older ones, appending ${batch} at a time`, async () => {
      const id = unique("log");
      const stats = await withStore(id, (store) => {
        const event = { type: "meter.changed", entitlement: "tokens", data: {} };
        // An odd start, so batch boundaries do not line up with round numbers.
        store.transaction(() => store.appendEvents([event], id, id, Date.now()));
        for (let i = 0; i < 3000 / batch; i++) {
          store.transaction(() => store.appendEvents(Array(batch).fill(event), id, id, Date.now()));
        }
        const sql: SqlStorage = store.storage.sql;
        return sql
          .exec<{ n: number; lo: number; hi: number }>(
            "SELECT COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM events",
          )
          .one();
      });
      expect(stats.hi - stats.lo + 1).toBe(stats.n);
      expect(stats.n).toBeGreaterThanOrEqual(EVENTS_KEPT);
      expect(stats.n).toBeLessThanOrEqual(EVENTS_KEPT + 100 + 7);
    });
  }
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
