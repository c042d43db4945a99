import { beforeAll, describe, expect, it } from "vitest";
import { agePeriod, allEvents, consume, putCustomer, putPolicy, unique } from "../support/api";

const POLICY = `
credits:
  token: {}
plans:
  free:
    default: true
    entitlements:
      daily_tokens:
        limit: { credit: token, value: 100, reset_inc: 24hr, alerts: [0.5, 0.8, 1] }
      soft_tokens:
        limit: { credit: token, value: 10, mode: soft, reset_inc: 24hr }
      capped:
        limit: { credit: token, value: 5 }
`;

const DAY_MS = 24 * 60 * 60 * 1000;

describe("alerts and billing events (SPEC §4, issue 5)", () => {
  beforeAll(async () => {
    await putPolicy(POLICY);
  });

  it("fires each threshold once per period, and again after a reset", async () => {
    const id = unique("alerts");
    await putCustomer(id);
    for (const amount of [40, 10, 20, 5, 25])
      await consume({ customer: id, entitlement: "daily_tokens", amount });
    const crossed = async () =>
      (await allEvents(id)).filter((e) => e.type === "meter.threshold_crossed").map((e) => e.data.threshold);
    expect(await crossed()).toEqual([0.5, 0.8, 1]);

    await agePeriod(id, "daily_tokens", DAY_MS);
    await consume({ customer: id, entitlement: "daily_tokens", amount: 60 });
    expect(await crossed()).toEqual([0.5, 0.8, 1, 0.5]);
    const events = await allEvents(id);
    const reset = events.filter((e) => e.type === "meter.reset");
    expect(reset).toHaveLength(1);
    expect(reset[0].data).toMatchObject({ previousUsed: 100 });
    const last = events.at(-1);
    expect(last).toMatchObject({ type: "meter.threshold_crossed", customer: id, meteredOn: id });
    expect(last.data).toMatchObject({ threshold: 0.5, used: 60, limit: 100, plan: "free" });
  });

  it("meter.overage and meter.limit_reached carry what billing needs", async () => {
    const id = unique("billing");
    await putCustomer(id);
    await consume({ customer: id, entitlement: "soft_tokens", amount: 14 });
    await consume({ customer: id, entitlement: "capped", amount: 6 });
    const events = await allEvents(id);
    const overage = events.find((e) => e.type === "meter.overage");
    expect(overage).toMatchObject({ entitlement: "soft_tokens" });
    expect(overage.data).toMatchObject({
      amount: 14,
      overageAdded: 4,
      overage: 4,
      used: 14,
      limit: 10,
      plan: "free",
    });
    expect(overage.data.periodStart).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(overage.data.periodEnd).toMatch(/^\d{4}-\d\d-\d\dT/);
    const reached = events.find((e) => e.type === "meter.limit_reached");
    expect(reached).toMatchObject({ entitlement: "capped" });
    expect(reached.data).toMatchObject({
      requested: 6,
      used: 0,
      limit: 5,
      plan: "free",
      operation: "consume",
    });
  });

  it("events written while no WEBHOOK_URL is set are skipped (SPEC §7)", async () => {
    const id = unique("nohook");
    await putCustomer(id);
    const events = await allEvents(id);
    expect(events[0].delivery).toEqual({
      status: "skipped",
      attempts: 0,
      deliveredAt: null,
      nextAttemptAt: null,
      lastError: null,
    });
  });
});
