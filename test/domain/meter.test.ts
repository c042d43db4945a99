import { describe, expect, it } from "vitest";
import { DAY, entitlement, HOUR, MINUTE } from "../support/compiled";
import { MeterSim, T0 } from "../support/meter-sim";

const tokens = (value: number, extra: object = {}) =>
  new MeterSim(entitlement("davinci_tokens", { limit: { value, ...extra } }));

describe("hard limits", () => {
  it("allows a limit reached exactly and denies one more", () => {
    const sim = tokens(500);
    expect(sim.consume(300)).toMatchObject({
      allowed: true,
      outcome: "allowed",
      reason: "within_limit",
      used: 300,
    });
    expect(sim.consume(201)).toMatchObject({
      allowed: false,
      outcome: "denied",
      reason: "limit_exceeded",
      message: "davinci_tokens: 300 of 500 token used, 201 requested",
      used: 300,
      held: 0,
      limit: 500,
      remaining: 200,
      overage: 0,
      amount: 201,
      credit: "token",
      unit: "token",
    });
    expect(sim.consume(200)).toMatchObject({ allowed: true, used: 500, remaining: 0 });
    expect(sim.consume(1)).toMatchObject({ allowed: false, reason: "limit_exceeded", used: 500 });
  });

  it.each([
    [10, 10, true],
    [10, 11, false],
    [0, 0, true],
    [0, 1, false],
  ])("limit %d, amount %d: allowed=%s", (limit, amount, allowed) => {
    expect(tokens(limit).consume(amount).allowed).toBe(allowed);
  });

  it("uses the increment when no amount is given", () => {
    const sim = tokens(10, { increment: 4 });
    expect(sim.consume()).toMatchObject({ amount: 4, used: 4 });
  });

  it("records a limit_reached event on a denied consume and nothing on a denied check", () => {
    const sim = tokens(5);
    sim.check(6);
    expect(sim.events).toEqual([]);
    sim.consume(6);
    expect(sim.eventTypes()).toEqual(["meter.limit_reached"]);
    expect(sim.meter).toBeUndefined();
  });

  it("check answers what consume would, recording nothing", () => {
    const sim = tokens(5);
    expect(sim.check(5)).toMatchObject({ allowed: true, used: 0, remaining: 5 });
    expect(sim.check(6)).toMatchObject({ allowed: false, reason: "limit_exceeded" });
    expect(sim.meter).toBeUndefined();
  });
});

describe("soft and observe modes", () => {
  it("soft: allowed past the limit, overage accumulates and resets with the period", () => {
    const sim = tokens(100, { mode: "soft", reset: { kind: "rolling", periodMs: DAY } });
    expect(sim.consume(80)).toMatchObject({ outcome: "allowed", overage: 0 });
    expect(sim.consume(30)).toMatchObject({
      allowed: true,
      outcome: "overage",
      reason: "overage_recorded",
      used: 110,
      overage: 10,
      remaining: 0,
    });
    expect(sim.consume(5)).toMatchObject({ used: 115, overage: 15 });
    expect(sim.release(50)).toMatchObject({ used: 65, overage: 15 });
    expect(sim.consume(40)).toMatchObject({ used: 105, overage: 20 });
    expect(sim.eventTypes().filter((t) => t === "meter.overage")).toHaveLength(3);
    sim.advance(DAY);
    expect(sim.consume(1)).toMatchObject({ used: 1, overage: 0, outcome: "allowed" });
    expect(sim.eventTypes()).toContain("meter.reset");
  });

  it("soft gauge: overage is where usage stands", () => {
    const sim = tokens(3, { mode: "soft" });
    sim.consume(5);
    expect(sim.meter?.overage).toBe(2);
    expect(sim.release(1)).toMatchObject({ used: 4, overage: 1 });
  });

  it("observe: never denies, outcome observed once over, overage stays 0", () => {
    const sim = tokens(10, { mode: "observe" });
    expect(sim.consume(10)).toMatchObject({ outcome: "allowed", reason: "within_limit" });
    expect(sim.consume(5)).toMatchObject({
      allowed: true,
      outcome: "observed",
      reason: "observed",
      used: 15,
      overage: 0,
    });
  });
});

describe("release", () => {
  it.each([
    [5, 2, 0, 3],
    [5, 9, 0, 0],
    [5, 9, 2, 2],
    [1, 3, 2, 1],
  ])("used %d, release %d, minimum %d -> used %d", (used, amount, minimum, expected) => {
    const sim = tokens(10, { minimum });
    sim.consume(used);
    expect(sim.release(amount)).toMatchObject({
      outcome: "allowed",
      reason: "released",
      amount,
      used: expected,
    });
  });
});

describe("rolling periods", () => {
  it("anchors at the first recorded change and steps without drift after a week of silence", () => {
    const sim = tokens(100, { reset: { kind: "rolling", periodMs: DAY } });
    expect(sim.check(1).resetsAt).toBeNull();
    sim.consume(40);
    expect(sim.meter?.periodStart).toBe(T0);
    sim.advance(7 * DAY + 5 * HOUR);
    expect(sim.check(1)).toMatchObject({ used: 0, resetsAt: new Date(T0 + 8 * DAY).toISOString() });
    expect(sim.meter?.used).toBe(40);
    expect(sim.events.filter((e) => e.type === "meter.reset")).toHaveLength(0);
    sim.consume(1);
    expect(sim.meter?.periodStart).toBe(T0 + 7 * DAY);
    const resets = sim.events.filter((e) => e.type === "meter.reset");
    expect(resets).toHaveLength(1);
    expect(resets[0]?.data).toMatchObject({
      previousUsed: 40,
      periodStart: new Date(T0 + 7 * DAY).toISOString(),
    });
  });

  it("a denial does not anchor the period", () => {
    const sim = tokens(5, { reset: { kind: "rolling", periodMs: HOUR } });
    sim.consume(6);
    expect(sim.meter).toBeUndefined();
  });

  it("the boundary instant belongs to the next period", () => {
    const sim = tokens(5, { reset: { kind: "rolling", periodMs: HOUR } });
    sim.consume(5);
    sim.advance(HOUR - 1);
    expect(sim.consume(1).allowed).toBe(false);
    sim.advance(1);
    expect(sim.consume(1)).toMatchObject({ allowed: true, used: 1 });
  });
});

describe("holds", () => {
  it("reserve books against the limit, settle records the actual amount", () => {
    const sim = tokens(500);
    expect(sim.reserve(100)).toMatchObject({ allowed: true, held: 100, remaining: 400, holdId: "hold_1" });
    expect(sim.consume(401)).toMatchObject({ allowed: false, reason: "limit_exceeded" });
    expect(sim.settle("hold_1", 80)).toMatchObject({
      reason: "within_limit",
      used: 80,
      held: 0,
      remaining: 420,
    });
  });

  it("settle defaults to the held amount and 0 cancels", () => {
    const sim = tokens(500);
    sim.reserve(100);
    sim.reserve(50);
    expect(sim.settle("hold_1")).toMatchObject({ amount: 100, used: 100, held: 50 });
    expect(sim.settle("hold_2", 0)).toMatchObject({ reason: "released", used: 100, held: 0 });
  });

  it("a settle past a hard limit is recorded as overage", () => {
    const sim = tokens(100);
    sim.reserve(90);
    expect(sim.settle("hold_1", 130)).toMatchObject({
      allowed: true,
      outcome: "overage",
      reason: "overage_recorded",
      used: 130,
      overage: 30,
    });
  });

  it("a soft reserve past the limit answers overage and creates no overage", () => {
    const sim = tokens(100, { mode: "soft" });
    expect(sim.reserve(150)).toMatchObject({ allowed: true, outcome: "overage", held: 150, overage: 0 });
  });

  it("an expired hold frees its amount, and settling it later still records the usage", () => {
    const sim = tokens(100);
    sim.reserve(60, 10 * MINUTE);
    sim.advance(10 * MINUTE);
    sim.expireDue();
    expect(sim.meter?.held).toBe(0);
    expect(sim.eventTypes()).toContain("hold.expired");
    expect(sim.consume(100)).toMatchObject({ allowed: true, used: 100 });
    expect(sim.settle("hold_1", 30)).toMatchObject({
      allowed: true,
      reason: "hold_expired",
      used: 130,
      held: 0,
    });
  });

  it("a hold past its ttl but not yet expired by the alarm settles as expired once", () => {
    const sim = tokens(100);
    sim.reserve(60, MINUTE);
    sim.advance(2 * MINUTE);
    expect(sim.settle("hold_1", 10)).toMatchObject({ reason: "hold_expired", used: 10, held: 0 });
    expect(sim.eventTypes().filter((t) => t === "hold.expired")).toHaveLength(1);
  });

  it("holds survive a reset and their settle lands in the current period", () => {
    const sim = tokens(100, { reset: { kind: "rolling", periodMs: HOUR } });
    sim.consume(30);
    sim.reserve(50, 2 * HOUR);
    sim.advance(HOUR);
    expect(sim.check(1)).toMatchObject({ used: 0, held: 50 });
    expect(sim.settle("hold_1", 20)).toMatchObject({ used: 20, held: 0 });
  });
});

describe("rates", () => {
  const rated = (mode: "hard" | "observe" = "hard", value = 1000) =>
    new MeterSim(
      entitlement("api_requests", { limit: { value, mode }, rate: { limit: 10, windowMs: MINUTE } }),
    );

  it("denies when the bucket lacks the amount, consuming nothing, and says when to retry", () => {
    const sim = rated();
    expect(sim.consume(10).allowed).toBe(true);
    expect(sim.consume(1)).toMatchObject({
      allowed: false,
      reason: "rate_limited",
      retryAfterSeconds: 6,
      used: 10,
    });
    sim.advance(6_000);
    expect(sim.consume(1)).toMatchObject({ allowed: true, used: 11 });
  });

  it("an amount above the burst can never pass: retryAfterSeconds is null", () => {
    expect(rated().consume(11)).toMatchObject({ reason: "rate_limited", retryAfterSeconds: null });
  });

  it("when limit and rate both deny, the reason is the limit", () => {
    const sim = rated("hard", 10);
    sim.consume(10);
    expect(sim.consume(1)).toMatchObject({ reason: "limit_exceeded", retryAfterSeconds: null });
  });

  it("observe never denies, rate included, and still drains the bucket", () => {
    const sim = rated("observe");
    sim.consume(10);
    expect(sim.consume(5)).toMatchObject({ allowed: true, used: 15 });
    expect(sim.meter?.bucket?.tokens).toBe(0);
  });

  it("reserve drains the bucket; check, release and settle do not", () => {
    const sim = rated();
    sim.check(10);
    sim.reserve(4);
    expect(sim.meter?.bucket?.tokens).toBe(6);
    sim.settle("hold_1", 4);
    sim.release(4);
    expect(sim.meter?.bucket?.tokens).toBe(6);
  });
});

describe("feature flags", () => {
  const flag = () => new MeterSim(entitlement("export_pdf"));

  it("is allowed with flag-shaped fields", () => {
    expect(flag().consume()).toMatchObject({
      allowed: true,
      reason: "feature_enabled",
      credit: null,
      unit: null,
      used: 0,
      held: 0,
      overage: 0,
      limit: null,
      remaining: null,
      amount: 1,
    });
  });

  it("release is an allowed no-op and reserve gives no hold", () => {
    const sim = flag();
    expect(sim.release(1)).toMatchObject({ allowed: true, reason: "released" });
    expect(sim.reserve(1)).toMatchObject({ allowed: true, reason: "feature_enabled", holdId: null });
    expect(sim.holds.size).toBe(0);
  });

  it("a flag with a rate is rate limited", () => {
    const sim = new MeterSim(entitlement("search", { rate: { limit: 2, windowMs: MINUTE } }));
    sim.consume();
    sim.consume();
    expect(sim.consume()).toMatchObject({ allowed: false, reason: "rate_limited", retryAfterSeconds: 30 });
  });
});

describe("alerts", () => {
  it("fire once per threshold per period, and again after a reset", () => {
    const sim = tokens(100, { alerts: [0.8, 1], reset: { kind: "rolling", periodMs: DAY } });
    sim.consume(79);
    sim.consume(1);
    sim.consume(5);
    sim.consume(15);
    const crossed = () =>
      sim.events.filter((e) => e.type === "meter.threshold_crossed").map((e) => e.data.threshold);
    expect(crossed()).toEqual([0.8, 1]);
    sim.advance(DAY);
    sim.consume(85);
    expect(crossed()).toEqual([0.8, 1, 0.8]);
  });

  it("a gauge re-arms a threshold when usage falls below it", () => {
    const sim = tokens(10, { alerts: [0.5] });
    sim.consume(5);
    sim.release(1);
    sim.consume(1);
    expect(sim.events.filter((e) => e.type === "meter.threshold_crossed")).toHaveLength(2);
  });
});

describe("calendar periods", () => {
  const monthly31 = (tz = "UTC") =>
    tokens(100, {
      reset: { kind: "calendar", schedule: { kind: "monthly", day: 31 }, tz, source: "monthly:31" },
    });

  it.each([
    ["a common year", 2026, 28],
    ["a leap year", 2028, 29],
  ])("monthly:31 resets on the last day of February in %s and on 30 April", (_label, year, febDay) => {
    const sim = monthly31();
    sim.now = Date.UTC(year, 0, 31, 12);
    sim.consume(100);
    expect(sim.consume(1).allowed).toBe(false);
    expect(sim.check(1).resetsAt).toBe(new Date(Date.UTC(year, 1, febDay)).toISOString());
    sim.now = Date.UTC(year, 1, febDay) - 1;
    expect(sim.consume(1).allowed).toBe(false);
    sim.now = Date.UTC(year, 1, febDay);
    expect(sim.consume(1)).toMatchObject({ allowed: true, used: 1 });
    expect(sim.check(1).resetsAt).toBe(new Date(Date.UTC(year, 2, 31)).toISOString());
    sim.now = Date.UTC(year, 3, 15);
    sim.consume(5);
    expect(sim.check(1).resetsAt).toBe(new Date(Date.UTC(year, 3, 30)).toISOString());
    sim.now = Date.UTC(year, 3, 30);
    expect(sim.consume(1)).toMatchObject({ used: 1 });
    expect(sim.events.filter((e) => e.type === "meter.reset")).toHaveLength(3);
  });

  it("a calendar reset follows local midnight in the policy's zone", () => {
    const sim = tokens(10, {
      reset: { kind: "calendar", schedule: { kind: "daily" }, tz: "America/New_York", source: "daily" },
    });
    sim.now = Date.UTC(2026, 5, 10, 12);
    sim.consume(10);
    // Midnight in New York in June is 04:00 UTC.
    sim.now = Date.UTC(2026, 5, 11, 3, 59);
    expect(sim.consume(1).allowed).toBe(false);
    sim.now = Date.UTC(2026, 5, 11, 4, 0);
    expect(sim.consume(1)).toMatchObject({ allowed: true, used: 1 });
  });
});
