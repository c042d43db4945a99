/** applyMeter with money (SPEC §12.3): the merge of decideMoney into the meter, pure. */
import { describe, expect, it } from "vitest";
import type { DecisionContext } from "../../src/domain/decision";
import { applyMeter, type MeterMoney } from "../../src/domain/meter";
import { createGrant } from "../../src/domain/money";
import type { Hold, MeterState } from "../../src/domain/types";
import { entitlement } from "../support/compiled";
import { money, terms, topup } from "../support/money";

const T0 = Date.UTC(2026, 0, 1);
const MONEY = money({ token: { price: { model: "flat", amount: 0.001 }, overheadCost: 0.0005 } });
const grant = (value: number) => createGrant(topup("pack", "token", terms({ value })), "g1", T0);
const ctx = (limit: object): DecisionContext => ({
  customer: "c",
  meteredOn: "c",
  plan: "p",
  entitlement: entitlement("tokens", { limit: { value: 500, ...limit } }),
  policyVersion: "v",
  nowMs: T0,
});
const meter = (used: number, held = 0): MeterState => ({
  used,
  held,
  overage: 0,
  periodStart: null,
  periodEnd: null,
  alertsFired: [],
  bucket: null,
});
const withGrants = (value: number, cost?: number): MeterMoney => ({
  money: MONEY,
  grants: [grant(value)],
  ...(cost === undefined ? {} : { cost }),
});

describe("applyMeter with grants", () => {
  it("hard: a covered call is grant_applied and returns the drawn grants; an uncovered one changes nothing", () => {
    const covered = applyMeter(meter(500), ctx({}), { op: "consume", amount: 50 }, withGrants(100));
    expect(covered.decision).toMatchObject({ reason: "grant_applied", grantApplied: 50, grantRemaining: 50 });
    expect(covered.grants?.[0]?.balance).toBe(50);
    expect(covered.meter).toMatchObject({ used: 550, overage: 0, overhead: 0.025 });
    const denied = applyMeter(meter(500), ctx({}), { op: "consume", amount: 150 }, withGrants(100));
    expect(denied).toMatchObject({ meter: null, grants: null });
    expect(denied.decision).toMatchObject({ reason: "limit_exceeded", grantRemaining: 100, remaining: 100 });
  });

  it("a rate refusal draws nothing", () => {
    const limited = {
      ...ctx({}),
      entitlement: entitlement("tokens", { limit: { value: 500 }, rate: { limit: 10 } }),
    };
    const refused = applyMeter(meter(500), limited, { op: "consume", amount: 50 }, withGrants(100));
    expect(refused).toMatchObject({ meter: null, grants: null });
    expect(refused.decision).toMatchObject({ reason: "rate_limited", grantApplied: 0 });
  });

  it("a settle takes the caller's cost as its overheadDiff and draws for its own overage", () => {
    const hold: Hold = {
      id: "h",
      entitlement: "tokens",
      customer: "c",
      amount: 100,
      createdAt: T0,
      expiresAt: T0 + 60_000,
      expired: false,
    };
    const settled = applyMeter(
      meter(450, 100),
      ctx({}),
      { op: "settle", hold, amount: 120 },
      withGrants(50, 0.42),
    );
    expect(settled.decision).toMatchObject({ outcome: "overage", grantApplied: 50, overage: 20, held: 0 });
    expect(settled.meter?.overhead).toBe(0.42);
    const changed = settled.events.find((e) => e.type === "meter.changed");
    expect(changed?.data).toMatchObject({ overheadDiff: 0.42, grantApplied: 50, overhead: 0.42 });
    expect(settled.grants).toEqual([]);
  });

  it("a period reset clears the overhead with the usage", () => {
    const rolling = ctx({ reset: { kind: "rolling", periodMs: 1000 } });
    const first = applyMeter(undefined, rolling, { op: "consume", amount: 10 }, withGrants(0));
    expect(first.meter?.overhead).toBe(0.005);
    const later = { ...rolling, nowMs: T0 + 5000 };
    const next = applyMeter(first.meter ?? undefined, later, { op: "consume", amount: 2 }, withGrants(0));
    expect(next.meter).toMatchObject({ used: 2, overhead: 0.001 });
  });

  it("without money the meter behaves as before: no grant fields", () => {
    const plain = applyMeter(meter(0), ctx({}), { op: "consume", amount: 1 });
    expect(plain.decision.grantApplied).toBeUndefined();
    expect(plain.meter?.overhead).toBeUndefined();
  });
});
