/**
 * Webhook delivery and the read model's projection share the customer's alarm but never wait for each other
 * (SPEC §7, §13.1): a dead receiver holds up no projection, a failing D1 holds up no delivery.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  allEvents,
  consume,
  ok,
  putCustomer,
  putPolicy,
  runProjection,
  TEST_POLICY,
  withStore,
} from "../support/api";
import { restoreAnalytics, swapAnalytics } from "../support/read-model";
import { answer, control, drainOutbox, runOutbox } from "../support/webhook-control";

beforeAll(async () => {
  await putPolicy(TEST_POLICY);
});

describe("delivery and projection are independent", () => {
  it("a dead receiver does not block projection", async () => {
    const id = "proj_dead_receiver";
    await answer(id, "drop");
    await putCustomer(id);
    for (let i = 0; i < 5; i++) await consume({ customer: id, entitlement: "tokens", amount: 2 });
    await runProjection(id);
    const events = await allEvents(id);
    expect(events.every((e) => e.delivery.status === "pending")).toBe(true);
    expect(events.every((e) => e.projected === true)).toBe(true);
    const { series } = await ok("GET", `/v1/usage?customer=${id}`);
    expect(series[0].amount).toBe(10);
    expect((await ok("GET", `/v1/customers?q=${id}`)).customers.map((c: { id: string }) => c.id)).toEqual([
      id,
    ]);
    await control(`clear?customer=${id}`);
    expect((await drainOutbox(id)).every((e) => e.delivery.status === "delivered")).toBe(true);
  });

  it("a failing read model does not block delivery; once it works, nothing is missing", async () => {
    const id = "proj_dead_d1";
    await putCustomer(id);
    await swapAnalytics(id, () => ({ project: () => Promise.reject(new Error("D1_ERROR: unavailable")) }));
    for (let i = 0; i < 3; i++) await consume({ customer: id, entitlement: "tokens", amount: 5 });
    for (let round = 0; round < 5; round++) await runOutbox(id);
    const events = await allEvents(id);
    expect(events.every((e) => e.delivery.status === "delivered")).toBe(true);
    expect(events.every((e) => e.projected === false)).toBe(true);
    expect((await ok("GET", `/v1/usage?customer=${id}`)).series).toEqual([]);
    await restoreAnalytics(id);
    await runProjection(id);
    expect((await ok("GET", `/v1/usage?customer=${id}`)).series[0].amount).toBe(15);
  });

  it("sends up to 500 events per D1 batch, and at most 100 customer events (three statements each)", async () => {
    const append = (id: string, type: string, n: number) =>
      withStore(id, (store) => {
        const event = { type, data: {} };
        store.transaction(() => store.appendEvents(Array(n).fill(event), id, id, Date.now()));
      });
    const batchSizes = async (id: string): Promise<number[]> => {
      const sizes: number[] = [];
      await swapAnalytics(id, (real) => ({
        project: (items) => {
          sizes.push(items.length);
          return real.project(items);
        },
      }));
      await runProjection(id);
      await restoreAnalytics(id);
      return sizes;
    };

    const usageHeavy = "proj_batches_usage";
    await putCustomer(usageHeavy);
    await append(usageHeavy, "meter.changed", 1200);
    // customer.created and 1,200 usage events: one D1 round trip and one watermark write per 500.
    expect(await batchSizes(usageHeavy)).toEqual([500, 500, 201]);

    const customerHeavy = "proj_batches_customer";
    await putCustomer(customerHeavy);
    await append(customerHeavy, "customer.updated", 250);
    expect(await batchSizes(customerHeavy)).toEqual([100, 100, 51]);
    expect((await allEvents(customerHeavy)).every((e) => e.projected === true)).toBe(true);
    const listed = await ok("GET", `/v1/customers?q=${customerHeavy}`);
    expect(listed.customers.map((c: { id: string }) => c.id)).toEqual([customerHeavy]);
  });
});
