import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decideMoney } from "../../../src/domain/money/decide";
import { advanceGrant, createGrant } from "../../../src/domain/money/grants";
import { marginOf } from "../../../src/domain/money/margin";
import { callCost } from "../../../src/domain/money/model-cost";
import type { Grant, MoneyLimit } from "../../../src/domain/money/types";
import { DAY } from "../../support/compiled";
import { money, TIERS, terms, topup } from "../../support/money";

const T0 = Date.UTC(2025, 0, 15);
const month = {
  kind: "calendar",
  schedule: { kind: "monthly", day: 1 },
  tz: "Europe/Paris",
  source: "monthly:1",
} as const;

describe("grant lifecycle", () => {
  it("rollover: the value plus pct of the old balance, the carry clamped, then max_balance", () => {
    const t = terms({
      value: 100,
      reset: { kind: "rolling", periodMs: 30 * DAY },
      resetMode: "rollover",
      rolloverPct: 0.5,
      rolloverMin: 10,
      rolloverMax: 40,
    });
    const g = { ...createGrant(topup("p", "token", t), "g", T0), balance: 60 };
    expect(advanceGrant(g, T0 + 30 * DAY).grant?.balance).toBe(130); // carry 30
    expect(advanceGrant({ ...g, balance: 100 }, T0 + 30 * DAY).grant?.balance).toBe(140); // carry 50 → 40
    expect(advanceGrant({ ...g, balance: 4 }, T0 + 30 * DAY).grant?.balance).toBe(110); // carry 2 → 10
    const capped = { ...g, terms: { ...t, maxBalance: 120 } };
    expect(advanceGrant(capped, T0 + 30 * DAY).grant?.balance).toBe(120);
  });

  it("hard and add, with the catch-up cap over missed periods", () => {
    const base = { value: 10, reset: { kind: "rolling", periodMs: DAY } } as const;
    const hard = { ...createGrant(topup("p", "t", terms({ ...base })), "g", T0), balance: 3 };
    const add = {
      ...createGrant(topup("p", "t", terms({ ...base, resetMode: "add", catchupCap: 2 })), "g", T0),
      balance: 3,
    };
    const later = T0 + 5 * DAY + 1;
    expect(advanceGrant(hard, later).grant).toMatchObject({ balance: 10, nextResetAt: T0 + 6 * DAY });
    const added = advanceGrant(add, later);
    expect(added.grant?.balance).toBe(23);
    expect(added.events[0]?.data).toMatchObject({ resets: 2, skipped: 3, previousBalance: 3 });
  });

  it("calendar resets follow the schedule in its zone", () => {
    const g = createGrant(topup("p", "t", terms({ value: 5, reset: month })), "g", T0);
    expect(g.nextResetAt).toBe(Date.UTC(2025, 0, 31, 23)); // Feb 1 00:00 in Paris
    const reset = advanceGrant({ ...g, balance: 0 }, Date.UTC(2025, 1, 2));
    expect(reset.grant).toMatchObject({ balance: 5, nextResetAt: Date.UTC(2025, 1, 28, 23) });
  });

  it("expiry removes a grant; a drained grant stays only when it resets", () => {
    const g = createGrant(topup("p", "t", terms({ value: 5 }), DAY), "g", T0);
    expect(advanceGrant(g, T0 + DAY - 1).grant).toBe(g);
    expect(advanceGrant(g, T0 + DAY).grant).toBeNull();
    expect(advanceGrant({ ...g, expiresAt: null, balance: 0 }, T0).grant).toBeNull();
  });
});

describe("margin and model cost", () => {
  it("revenue from position 0 with grants ignored, margin to 2 places, null and -100 without revenue", () => {
    const m = money({ token: { price: TIERS } });
    const report = marginOf([
      { entitlement: "a", used: 1600, limit: 600, overhead: 1.5, route: m.routes.get("token") },
      { entitlement: "b", used: 10, limit: 600, overhead: 0.25, route: m.routes.get("token") },
    ]);
    expect(report).toEqual({
      revenue: 5.5,
      cost: 1.75,
      margin: 68.18,
      entitlements: {
        a: { revenue: 5.5, cost: 1.5, margin: 72.73 },
        b: { revenue: 0, cost: 0.25, margin: null },
      },
    });
    expect(marginOf([]).margin).toBe(-100);
  });

  it("a call's cost sums its token classes; reasoning costs as output", () => {
    const cost = { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15, per: 1e6 };
    expect(
      callCost(cost, { input: 1e6, cached_input: 1e6, cache_write: 1e6, output: 5e5, reasoning: 5e5 }),
    ).toBe(22.05);
  });
});

/** A random run of calls against one meter and a few grants, in tokens, an abstract credit and dollars. */
const M = money(
  { token: { price: { model: "flat", amount: 0.001 } }, ai: {}, usd: {} },
  { ai: { value: 0.01, currency: "rune" }, usd: { value: 1, currency: "usd" } },
);
const units = new Map([
  ["token", 1],
  ["ai", 0.1],
  ["usd", 0.001],
]); // grant units per token

const grantArb = fc.array(
  fc.record({ credit: fc.constantFrom("token", "ai", "usd"), value: fc.integer({ min: 1, max: 200 }) }),
  { maxLength: 4 },
);
const callArb = fc.array(
  fc.record({
    op: fc.constantFrom("consume", "check", "reserve", "settle", "release") as fc.Arbitrary<
      "consume" | "check" | "reserve" | "settle" | "release"
    >,
    amount: fc.integer({ min: 0, max: 120 }),
  }),
  { maxLength: 25 },
);
const limitArb: fc.Arbitrary<MoneyLimit> = fc.record({
  value: fc.integer({ min: 0, max: 300 }),
  mode: fc.constantFrom("hard", "soft", "observe"),
  grantsApply: fc.boolean(),
  hardTrailing: fc.boolean(),
});

function run(
  limit: MoneyLimit,
  seed: { credit: string; value: number }[],
  calls: { op: "consume" | "check" | "reserve" | "settle" | "release"; amount: number }[],
) {
  let grants: Grant[] = seed.map((s, i) =>
    createGrant(topup("p", s.credit, terms({ value: s.value })), `g${i}`, T0 + i),
  );
  let used = 0;
  const trace = [];
  for (const c of calls) {
    const before = grants;
    const d = decideMoney({ ...c, used, held: 0, limit, credit: "token", grants, money: M });
    trace.push({ before, d });
    if (d.allowed && (c.op === "consume" || c.op === "settle")) used += c.amount;
    if (c.op === "release") used = Math.max(0, used - c.amount);
    grants = d.grants;
  }
  return trace;
}

describe("money properties", () => {
  it("grants never go negative, and what they lost is grantApplied converted back", () => {
    fc.assert(
      fc.property(limitArb, grantArb, callArb, (limit, seed, calls) => {
        for (const { before, d } of run(limit, seed, calls)) {
          for (const g of d.grants) expect(g.balance).toBeGreaterThanOrEqual(0);
          let back = 0;
          for (const draw of d.draws) {
            const g = before.find((x) => x.id === draw.grantId);
            back += draw.lost / (units.get(g?.credit ?? "") ?? Number.NaN);
          }
          if (d.draws.length > 0) expect(back).toBeCloseTo(d.grantApplied, 6);
        }
      }),
    );
  });

  it("a hard call is fully covered or leaves every grant untouched; a release or a reserve never raises one", () => {
    fc.assert(
      fc.property(limitArb, grantArb, callArb, (limit, seed, calls) => {
        for (const { before, d } of run({ ...limit, mode: "hard" }, seed, calls)) {
          if (!d.allowed) expect(d.grants).toEqual(before);
          if (d.allowed && d.outcome !== "overage") expect(d.overage).toBe(0);
          for (const g of d.grants) {
            const was = before.find((x) => x.id === g.id);
            expect(g.balance).toBeLessThanOrEqual((was?.balance ?? Number.NaN) + 1e-12);
          }
        }
      }),
    );
  });

  it("replay gives the same decisions", () => {
    fc.assert(
      fc.property(limitArb, grantArb, callArb, (limit, seed, calls) => {
        expect(run(limit, seed, calls)).toEqual(run(limit, seed, calls));
      }),
    );
  });
});
