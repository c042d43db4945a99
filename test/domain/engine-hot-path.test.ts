/**
 * The decision path caches ISO strings (decision.ts) and calendar periods (periods.ts, calendar.ts). A stale
 * or colliding entry would show here as a wrong time: every answer is checked against plain Date arithmetic.
 * Events are stored as JSON, so the order of their fields is pinned too.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DecisionContext, isoOrNull } from "../../src/domain/decision";
import { applyMeter } from "../../src/domain/meter";
import { createGrant } from "../../src/domain/money";
import { emptyMeter } from "../../src/domain/periods";
import type { MeterState, ResetRule } from "../../src/domain/types";
import { DAY, entitlement, HOUR } from "../support/compiled";
import { MeterSim } from "../support/meter-sim";
import { money, terms, topup } from "../support/money";

const iso = (ms: number) => new Date(ms).toISOString();

describe("isoOrNull", () => {
  it("keeps null and matches Date for odd times", () => {
    expect(isoOrNull(null)).toBeNull();
    for (const ms of [0, -0, -1, 1.5, -86_400_000.25, 8.64e15, -8.64e15, Date.UTC(2026, 10, 1)]) {
      expect(isoOrNull(ms)).toBe(iso(ms));
      expect(isoOrNull(ms)).toBe(iso(ms));
    }
  });

  it("throws as Date does for a time that is not one", () => {
    for (const ms of [Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1]) {
      expect(() => isoOrNull(ms)).toThrow(RangeError);
    }
  });

  it("answers right for thousands of midnights that share sets, hot ones interleaved", () => {
    // Midnights are multiples of 2^10 ms: far more of them than cache entries, so sets are shared and evicted.
    const hot = [Date.UTC(2026, 10, 1), Date.UTC(2026, 11, 1), Date.UTC(2026, 10, 1, 0, 0, 0, 1)];
    for (let round = 0; round < 3; round++) {
      for (let day = 0; day < 3000; day++) {
        const ms = Date.UTC(2020, 0, 1) + day * DAY;
        expect(isoOrNull(ms)).toBe(iso(ms));
        expect(isoOrNull(ms + DAY)).toBe(iso(ms + DAY));
        const h = hot[day % hot.length] as number;
        expect(isoOrNull(h)).toBe(iso(h));
      }
    }
  });

  it("matches Date for any sequence drawn from a small pool (hits, misses and evictions)", () => {
    const time = fc.oneof(
      fc.integer({ min: -8.64e15, max: 8.64e15 }),
      fc.integer({ min: -40_000, max: 40_000 }).map((d) => d * DAY),
      fc.integer({ min: 0, max: 2 ** 20 }).map((k) => k * 1024),
    );
    fc.assert(
      fc.property(
        fc.array(time, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 200 }),
        (pool, picks) => {
          for (const p of picks) {
            const ms = pool[p % pool.length] as number;
            if (isoOrNull(ms) !== iso(ms)) return false;
          }
          return true;
        },
      ),
    );
  });
});

describe("cached periods at their boundaries", () => {
  const calendar = (schedule: Extract<ResetRule, { kind: "calendar" }>["schedule"], tz: string) =>
    new MeterSim(
      entitlement("tokens", {
        limit: { value: 1000, reset: { kind: "calendar", schedule, tz, source: schedule.kind } },
      }),
    );

  it("a call exactly at a monthly boundary resets after a call 1 ms before it", () => {
    const sim = calendar({ kind: "monthly", day: 1 }, "UTC");
    const boundary = Date.UTC(2026, 11, 1);
    sim.now = boundary - 1;
    expect(sim.consume(7)).toMatchObject({ used: 7, resetsAt: iso(boundary) });
    expect(sim.check(1)).toMatchObject({ used: 7, resetsAt: iso(boundary) });
    sim.now = boundary;
    expect(sim.check(1)).toMatchObject({ used: 0, resetsAt: iso(Date.UTC(2027, 0, 1)) });
    expect(sim.consume(2)).toMatchObject({ used: 2, resetsAt: iso(Date.UTC(2027, 0, 1)) });
    const reset = sim.events.find((e) => e.type === "meter.reset");
    expect(reset?.data).toMatchObject({
      previousUsed: 7,
      previousPeriodStart: iso(Date.UTC(2026, 10, 1)),
      periodStart: iso(boundary),
      periodEnd: iso(Date.UTC(2027, 0, 1)),
    });
    const changed = sim.events.filter((e) => e.type === "meter.changed").map((e) => e.data.periodStart);
    expect(changed).toEqual([iso(Date.UTC(2026, 10, 1)), iso(boundary)]);
  });

  it("a fresh meter 1 ms before a boundary and another at it get their own periods", () => {
    const sched = { kind: "daily" } as const;
    const before = calendar(sched, "UTC");
    const at = new MeterSim(before.entitlement);
    const boundary = Date.UTC(2026, 10, 2);
    before.now = boundary - 1;
    at.now = boundary;
    expect(before.consume(1).resetsAt).toBe(iso(boundary));
    expect(at.consume(1).resetsAt).toBe(iso(boundary + DAY));
    expect(before.check(1).resetsAt).toBe(iso(boundary));
  });

  it.each([
    ["spring forward", Date.UTC(2026, 2, 8, 5), Date.UTC(2026, 2, 9, 4)],
    ["fall back", Date.UTC(2026, 10, 1, 4), Date.UTC(2026, 10, 2, 5)],
  ])("daily in New York across %s: the boundary after a cached day", (_label, midnight, nextMidnight) => {
    const sim = calendar({ kind: "daily" }, "America/New_York");
    sim.now = midnight - 1;
    sim.consume(3);
    expect(sim.check(1)).toMatchObject({ used: 3, resetsAt: iso(midnight) });
    sim.now = midnight;
    expect(sim.consume(1)).toMatchObject({ used: 1, resetsAt: iso(nextMidnight) });
    sim.now = nextMidnight - 1;
    expect(sim.consume(1)).toMatchObject({ used: 2, resetsAt: iso(nextMidnight) });
    sim.now = nextMidnight;
    expect(sim.consume(1)).toMatchObject({ used: 1 });
    expect(nextMidnight - midnight).not.toBe(DAY);
    expect(Math.abs(nextMidnight - midnight - DAY)).toBe(HOUR);
  });

  it("a new policy version's rule is used at once, not the old rule's cached period", () => {
    const monthly = calendar({ kind: "monthly", day: 1 }, "UTC");
    monthly.now = Date.UTC(2026, 10, 10, 12);
    monthly.consume(5);
    expect(monthly.check(1).resetsAt).toBe(iso(Date.UTC(2026, 11, 1)));
    // The same meter under a recompiled policy whose rule is daily: the stored end still holds until it passes.
    const daily = calendar({ kind: "daily" }, "UTC");
    daily.meter = monthly.meter;
    daily.now = Date.UTC(2026, 11, 1);
    expect(daily.consume(1)).toMatchObject({ used: 1, resetsAt: iso(Date.UTC(2026, 11, 2)) });
    daily.now = Date.UTC(2026, 11, 2);
    expect(daily.consume(1)).toMatchObject({ used: 1, resetsAt: iso(Date.UTC(2026, 11, 3)) });
    // And back: the monthly rule's cache still answers its own period, not the daily one.
    monthly.meter = undefined;
    monthly.now = Date.UTC(2026, 11, 2, 1);
    expect(monthly.consume(1).resetsAt).toBe(iso(Date.UTC(2027, 0, 1)));
  });
});

describe("event fields in their stored order", () => {
  const T = Date.UTC(2026, 0, 1);
  const ctx: DecisionContext = {
    customer: "c",
    meteredOn: "c",
    plan: "p",
    entitlement: entitlement("tokens", {
      limit: { value: 10, mode: "soft", reset: { kind: "rolling", periodMs: DAY } },
    }),
    policyVersion: "v",
    nowMs: T,
  };
  const used9: MeterState = { ...emptyMeter(), used: 9 };
  const changed = [
    "operation",
    "amount",
    "unit",
    "used",
    "held",
    "overage",
    "limit",
    "mode",
    "plan",
    "holdId",
  ];
  const overage = ["amount", "overageAdded", "overage", "unit", "used", "limit", "mode", "plan"];
  const period = ["periodStart", "periodEnd"];
  const moneyKeys = ["priceDiff", "overheadDiff", "overagePrice", "grantApplied", "overhead"];
  const keysOf = (events: { type: string; data: object }[]) =>
    Object.fromEntries(events.map((e) => [e.type, Object.keys(e.data)]));

  it("without money: meter.changed and meter.overage", () => {
    const out = applyMeter(used9, ctx, { op: "consume", amount: 5 });
    expect(keysOf(out.events)).toEqual({
      "meter.changed": [...changed, ...period],
      "meter.overage": [...overage, ...period],
    });
  });

  it("with money: the money fields come first", () => {
    const m = money({ token: { price: { model: "flat", amount: 0.001 }, overheadCost: 0.0005 } });
    const grants = [createGrant(topup("pack", "token", terms({ value: 1 })), "g1", T)];
    const out = applyMeter(used9, ctx, { op: "consume", amount: 5 }, { money: m, grants });
    expect(keysOf(out.events)).toEqual({
      "meter.changed": [...moneyKeys, ...changed, ...period],
      "meter.overage": [...moneyKeys, ...overage, ...period],
    });
  });
});
