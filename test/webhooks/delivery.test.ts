import { env, evictDurableObject } from "cloudflare:test";
import { createHmac } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  allEvents,
  call,
  consume,
  customerStub,
  ok,
  putCustomer,
  putPolicy,
  release,
  TEST_POLICY,
} from "../support/api";
import { answer, control, received, runOutbox } from "../support/webhook-control";
import { WEBHOOK_TEST_SECRET } from "../support/webhook-secret";

/** An implementation of the Standard Webhooks scheme independent of src/webhooks (node:crypto, not Web Crypto). */
function expectedSignature(id: string, timestamp: string, body: string): string {
  const key = Buffer.from(WEBHOOK_TEST_SECRET.slice("whsec_".length), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

describe("webhook delivery from the outbox", () => {
  beforeAll(async () => {
    await putPolicy(TEST_POLICY);
  });

  it("delivers every event exactly once, in seq order, signed, through failures and an eviction", async () => {
    const id = "hook_user";
    await answer(id, 503, { times: 3 });
    await putCustomer(id, { plan: "free" });
    for (let i = 0; i < 3; i++) await consume({ customer: id, entitlement: "tokens", amount: 10 });
    await release({ customer: id, entitlement: "tokens", amount: 5 });
    await consume({ customer: id, entitlement: "tokens", amount: 100_000 }); // denied: meter.limit_reached

    let events = await allEvents(id);
    expect(events.length).toBeGreaterThanOrEqual(6);
    for (let round = 0; round < 30; round++) {
      // Evict mid-way: after the first failed attempts, before the first delivery.
      if (round === 2) await evictDurableObject(customerStub(id));
      await runOutbox(id);
      events = await allEvents(id);
      if (events.every((e) => e.delivery.status === "delivered")) break;
    }
    expect(events.map((e) => e.delivery.status)).toEqual(events.map(() => "delivered"));
    expect(events[0].delivery.attempts).toBe(4);

    const got = await received(id);
    expect(got.filter((r) => r.status === 503)).toHaveLength(3);
    const now = Math.floor(Date.now() / 1000);
    for (const r of got) {
      expect(r.signature).toBe(expectedSignature(r.id, r.timestamp, r.body));
      expect(Math.abs(Number(r.timestamp) - now)).toBeLessThan(300);
      expect(JSON.parse(r.body).id).toBe(r.id);
    }
    const delivered = got.filter((r) => r.status === 204);
    const ids = delivered.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(events.map((e) => e.id));
    const seqs = delivered.map((r) => JSON.parse(r.body).seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    // The body is the bare event object, as the log shows it (without its delivery state and read-model flag).
    const { delivery: _delivery, projected: _projected, ...first } = events[0];
    expect(JSON.parse(delivered[0]?.body ?? "{}")).toEqual(first);
  });

  it("shows attempts and the last error while the receiver is down, and loses nothing", async () => {
    const id = "hook_down";
    await answer(id, 503);
    await putCustomer(id);
    await consume({ customer: id, entitlement: "tokens", amount: 1 });
    for (let round = 0; round < 3; round++) await runOutbox(id);
    let events = await allEvents(id);
    expect(events[0].delivery).toMatchObject({
      status: "pending",
      attempts: 3,
      lastError: "receiver answered 503",
    });
    expect(events[0].delivery.nextAttemptAt).not.toBeNull();
    // Later events wait behind the head: one in flight, in order.
    expect(events.slice(1).every((e) => e.delivery.attempts === 0)).toBe(true);

    await control(`clear?customer=${id}`);
    for (let round = 0; round < 5; round++) await runOutbox(id);
    events = await allEvents(id);
    expect(events.every((e) => e.delivery.status === "delivered")).toBe(true);
    const ids = (await received(id)).filter((r) => r.status === 204).map((r) => r.id);
    expect(ids).toEqual(events.map((e) => e.id));
  });

  it("delivers customer.deleted after the customer is gone", async () => {
    const id = "hook_deleted";
    await putCustomer(id);
    const res = await call("DELETE", `/v1/customers/${id}`);
    expect(res.status).toBe(204);
    for (let round = 0; round < 3; round++) await runOutbox(id);
    const types = (await received(id)).map((r) => JSON.parse(r.body).type);
    expect(types).toEqual(["customer.created", "customer.deleted"]);
  });

  it("says in /healthz that webhooks are on", async () => {
    expect(await ok("GET", "/healthz")).toMatchObject({ webhooks: { state: "on" } });
    expect(env.WEBHOOK_URL).toContain("/hooks");
  });
});
