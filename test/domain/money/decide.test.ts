import { describe, expect, it } from "vitest";
import { decideMoney, type MoneyCall } from "../../../src/domain/money/decide";
import { advanceGrants, createGrant } from "../../../src/domain/money/grants";
import type { CompiledMoney, Grant, MoneyLimit } from "../../../src/domain/money/types";
import { DAY } from "../../support/compiled";
import { money, TIERS, terms, topup } from "../../support/money";

const T0 = Date.UTC(2025, 0, 1);
const TOKENS = money({ token: { price: { model: "flat", amount: 0.00002 }, overheadCost: 0.00001 } });
const hard: MoneyLimit = { value: 500, mode: "hard", grantsApply: true, hardTrailing: false };
const soft: MoneyLimit = { ...hard, mode: "soft" };

function grant(credit: string, value: number, id = "g1", expiresAfterMs: number | null = null): Grant {
  return createGrant(topup("pack", credit, terms({ value }), expiresAfterMs), id, T0);
}

function call(partial: Partial<MoneyCall> & { amount: number }, m: CompiledMoney = TOKENS): MoneyCall {
  return {
    op: "consume",
    used: 500,
    held: 0,
    limit: hard,
    credit: "token",
    grants: [],
    money: m,
    ...partial,
  };
}

describe("Limitr's published behaviours (SPEC §12.3)", () => {
  it("a hard limit at 500 with a 100-token grant allows 50 more: grant left 50, grantApplied 50", () => {
    const d = decideMoney(call({ amount: 50, grants: [grant("token", 100)] }));
    expect(d).toMatchObject({
      allowed: true,
      outcome: "allowed",
      reason: "grant_applied",
      grantApplied: 50,
      overage: 0,
    });
    expect(d.grants[0]?.balance).toBe(50);
    expect(d.grantRemaining).toBe(50);
    expect(d.priceDiff).toBe(0.001);
  });

  it("and denies 150 with the grant untouched", () => {
    const grants = [grant("token", 100)];
    const d = decideMoney(call({ amount: 150, grants }));
    expect(d).toMatchObject({
      allowed: false,
      outcome: "denied",
      reason: "limit_exceeded",
      grantApplied: 0,
      priceDiff: 0,
    });
    expect(d.grants).toEqual(grants);
    expect(d.draws).toEqual([]);
  });

  it("a call that ends exactly on limit plus grant is allowed and drains a non-resetting grant away", () => {
    const d = decideMoney(call({ used: 450, amount: 150, grants: [grant("token", 100)] }));
    expect(d).toMatchObject({ allowed: true, grantApplied: 100, grantRemaining: 0 });
    expect(d.grants).toEqual([]);
  });

  it("through an abstract credit the exchange draws exactly the converted amount", () => {
    // 1 token = 0.001 ai_credit; 1 ai_credit = 0.02 rune.
    const m = money(
      { token: {}, ai_credit: {} },
      { token: { value: 0.001, currency: "ai_credit" }, ai_credit: { value: 0.02, currency: "rune" } },
    );
    const d = decideMoney(call({ amount: 50, grants: [grant("ai_credit", 0.1)] }, m));
    expect(d).toMatchObject({ allowed: true, grantApplied: 50, grantRemaining: 50 });
    expect(d.draws).toEqual([{ grantId: "g1", units: 50, lost: 0.05 }]);
    expect(decideMoney(call({ amount: 150, grants: [grant("ai_credit", 0.1)] }, m)).allowed).toBe(false);
  });

  it("a soft limit covers what it can and bills the rest with overagePrice", () => {
    const d = decideMoney(call({ limit: soft, amount: 150, grants: [grant("token", 100)] }));
    expect(d).toMatchObject({
      allowed: true,
      outcome: "overage",
      reason: "overage_recorded",
      grantApplied: 100,
      overage: 50,
      overagePrice: 0.001,
      priceDiff: 0.003,
      overheadDiff: 0.0015,
    });
    expect(d.grants).toEqual([]);
  });

  it("an expired grant is not drawn", () => {
    const g = grant("token", 100, "g1", DAY);
    const { grants, events } = advanceGrants([g], T0 + DAY);
    expect(events.map((e) => e.type)).toEqual(["grant.expired"]);
    expect(decideMoney(call({ amount: 50, grants })).allowed).toBe(false);
  });
});

describe("the other rules", () => {
  it("observe never draws", () => {
    const d = decideMoney(
      call({ limit: { ...hard, mode: "observe" }, amount: 50, grants: [grant("token", 100)] }),
    );
    expect(d).toMatchObject({
      allowed: true,
      outcome: "observed",
      grantApplied: 0,
      overage: 0,
      grantRemaining: 0,
    });
    expect(d.grants[0]?.balance).toBe(100);
  });

  it("grants_apply: false turns grants off", () => {
    const d = decideMoney(
      call({ limit: { ...hard, grantsApply: false }, amount: 50, grants: [grant("token", 100)] }),
    );
    expect(d.allowed).toBe(false);
  });

  it("hard_trailing lets the crossing call through while used is below the limit, drawing nothing", () => {
    const limit = { ...hard, hardTrailing: true };
    const through = decideMoney(call({ limit, used: 490, amount: 50, grants: [grant("token", 100)] }));
    expect(through).toMatchObject({ allowed: true, overage: 40, grantApplied: 0 });
    expect(through.grants[0]?.balance).toBe(100);
    expect(decideMoney(call({ limit, used: 540, amount: 1 })).allowed).toBe(false);
  });

  it("a hard reserve counts grants but draws nothing; holds past the limit use up grantRemaining", () => {
    const grants = [grant("token", 100)];
    const r = decideMoney(call({ op: "reserve", used: 480, amount: 60, grants }));
    expect(r).toMatchObject({ allowed: true, reason: "grant_applied", grantApplied: 0, grantRemaining: 60 });
    expect(r.grants).toEqual(grants);
    // With that hold (60 held, 40 of it past the limit) only 60 more fit.
    expect(decideMoney(call({ used: 480, held: 60, amount: 61, grants })).allowed).toBe(false);
    const fits = decideMoney(call({ used: 480, held: 60, amount: 60, grants }));
    expect(fits).toMatchObject({ allowed: true, grantApplied: 40 });
  });

  it("a settle draws for its own overage and records the rest as overage, even on a hard limit", () => {
    const d = decideMoney(call({ op: "settle", used: 480, amount: 200, grants: [grant("token", 100)] }));
    expect(d).toMatchObject({ allowed: true, outcome: "overage", grantApplied: 100, overage: 80 });
  });

  it("a release never credits grants and prices the billable units it removed negatively", () => {
    const grants = [grant("token", 40)];
    const d = decideMoney(call({ op: "release", used: 600, amount: 150, grants }));
    expect(d).toMatchObject({ allowed: true, reason: "released", grantApplied: 0, priceDiff: -0.002 });
    expect(d.grants).toEqual(grants);
  });

  it("a check reports what would be covered and changes nothing", () => {
    const grants = [grant("token", 100)];
    const d = decideMoney(call({ op: "check", amount: 50, grants }));
    expect(d).toMatchObject({ allowed: true, grantApplied: 50, priceDiff: 0, overheadDiff: 0 });
    expect(d.grants).toEqual(grants);
  });

  it("grants in the metered credit go first, then by expiry; a no-value credit never covers another", () => {
    const m = money(
      { token: { price: { model: "flat", amount: 0.01 } }, usd: {}, points: {} },
      { usd: { value: 1, currency: "usd" } },
    );
    const grants = [
      grant("usd", 10, "usd-late", 10 * DAY),
      grant("usd", 10, "usd-soon", DAY),
      grant("points", 1000, "points"),
      grant("token", 5, "own"),
    ];
    const d = decideMoney(call({ amount: 105, grants }, m));
    expect(d.draws.map((x) => x.grantId)).toEqual(["own", "usd-soon"]);
    expect(d.draws[1]).toEqual({ grantId: "usd-soon", units: 100, lost: 1 });
  });

  it("cheapest_first and valuable_first order other credits by rune value", () => {
    const pairs = { a: { value: 0.5, currency: "rune" }, b: { value: 2, currency: "rune" } };
    const credits = { token: { price: { model: "flat" as const, amount: 1 } }, a: {}, b: {} };
    const grants = [grant("a", 100, "a"), grant("b", 100, "b")];
    const cheap = decideMoney(call({ amount: 1, grants }, money(credits, pairs, "cheapest_first")));
    const valuable = decideMoney(call({ amount: 1, grants }, money(credits, pairs, "valuable_first")));
    expect(cheap.draws.map((x) => x.grantId)).toEqual(["a"]);
    expect(valuable.draws.map((x) => x.grantId)).toEqual(["b"]);
  });

  it("a rune grant covers a tiered credit at its curve, from the billable position", () => {
    const m = money({ token: { price: TIERS }, usd: {} }, { usd: { value: 1, currency: "rune" } });
    const d = decideMoney(call({ limit: soft, used: 575, amount: 50, grants: [grant("usd", 1)] }, m));
    expect(d).toMatchObject({ grantApplied: 50, priceDiff: 0.375, overage: 0 });
    expect(d.draws[0]?.lost).toBeCloseTo(0.375, 12);
  });

  it("overheadDiff is the gateway's cost when given", () => {
    expect(decideMoney(call({ used: 0, amount: 10, cost: 0.5 })).overheadDiff).toBe(0.5);
  });
});
