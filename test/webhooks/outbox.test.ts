/**
 * The outbox never jams (SPEC §7, issue 9 finding 5): a permanent refusal fails one event and delivery moves
 * on; retryable answers are retried until a 2xx or the 3-day horizon; `redeliver` queues an event again;
 * retention never prunes a pending event. A real receiver on 127.0.0.1 answers per event.
 */
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  allEvents,
  call,
  consume,
  customerStub,
  expectError,
  type Json,
  putCustomer,
  putPolicy,
  TEST_POLICY,
  unique,
  withStore,
} from "../support/api";
import { answer, control, drainOutbox, received, runOutbox, sqlIn } from "../support/webhook-control";

const DAY_MS = 24 * 60 * 60 * 1000;

/** A customer with a few events: `customer.created` (seq 1) and one `meter.changed` per consume. */
async function customerWithEvents(prefix: string, consumes: number, body: Json = {}): Promise<string> {
  const id = unique(prefix);
  await putCustomer(id, body);
  for (let i = 0; i < consumes; i++) await consume({ customer: id, entitlement: "tokens", amount: 1 });
  return id;
}

/** The ids the receiver accepted (2xx), in arrival order. */
async function acceptedIds(id: string): Promise<string[]> {
  return (await received(id)).filter((r) => r.status >= 200 && r.status < 300).map((r) => r.id);
}

const redeliver = (id: string, seq: number | string) =>
  call("POST", `/v1/customers/${encodeURIComponent(id)}/events/${seq}/redeliver`, {});

describe("one refused event never holds back the rest", () => {
  beforeAll(async () => {
    await putPolicy(TEST_POLICY);
  });

  it("a 400 fails that event at once; every other event arrives in seq order; redeliver then delivers it", async () => {
    const id = unique("refused");
    // Rules are set before the events exist: the alarm starts delivering as soon as they are written.
    await answer(id, 400, { seq: 2, times: 1 });
    await answer(id, 200);
    await putCustomer(id, { alternateIds: [`${id}_alt`] });
    for (let i = 0; i < 4; i++) await consume({ customer: id, entitlement: "tokens", amount: 1 });

    const events = await drainOutbox(id);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    const refused = events[1];
    expect(refused.delivery).toEqual({
      status: "failed",
      attempts: 1,
      deliveredAt: null,
      nextAttemptAt: null,
      lastError: "receiver answered 400 (a permanent refusal)",
    });
    for (const e of events.filter((e) => e.seq !== 2)) {
      expect(e.delivery).toMatchObject({ status: "delivered", attempts: 1, lastError: null });
    }
    // Every other event, once each, in seq order; the refused one was tried exactly once.
    expect(await acceptedIds(id)).toEqual(events.filter((e) => e.seq !== 2).map((e) => e.id));
    expect((await received(id)).filter((r) => r.id === refused.id).map((r) => r.status)).toEqual([400]);

    // Redeliver, by the customer's alternate ID: same event, pending again, due now, a fresh count.
    const res = await redeliver(`${id}_alt`, 2);
    expect(res.status).toBe(200);
    const { delivery, ...event } = res.json;
    const { delivery: _old, ...stored } = refused;
    expect(event).toEqual(stored);
    expect(delivery).toMatchObject({ status: "pending", attempts: 0, deliveredAt: null, lastError: null });

    const after = await drainOutbox(id);
    expect(after[1].delivery).toMatchObject({ status: "delivered", attempts: 1, lastError: null });
    expect(after[1].delivery.deliveredAt).not.toBeNull();
    const accepted = await acceptedIds(id);
    expect(accepted.at(-1)).toBe(refused.id);
    expect(accepted.filter((x) => x === refused.id)).toHaveLength(1);
  });

  it("redelivers a delivered event with the same id (receivers de-duplicate)", async () => {
    const id = await customerWithEvents("again", 1);
    const events = await drainOutbox(id);
    expect(events[0].delivery.status).toBe("delivered");

    const res = await redeliver(id, 1);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      id: events[0].id,
      seq: 1,
      delivery: { status: "pending", attempts: 0 },
    });
    // A second redeliver while it is queued changes nothing and answers it as it stands.
    const again = await redeliver(id, 1);
    expect(again.status).toBe(200);
    expect(again.json.delivery.status).toMatch(/^(pending|delivered)$/);

    await drainOutbox(id);
    expect((await acceptedIds(id)).filter((x) => x === events[0].id).length).toBeGreaterThanOrEqual(2);
  });

  it("refuses to redeliver an unknown seq (404 event_not_found), a bad seq (400), an unknown customer (404)", async () => {
    const id = await customerWithEvents("redeliver_errors", 0);
    await expectError(404, "event_not_found", "POST", `/v1/customers/${id}/events/99/redeliver`, {});
    await expectError(404, "event_not_found", "POST", `/v1/customers/${id}/events/0/redeliver`, {});
    for (const bad of ["abc", "1.5", "-1", "0x10", "1e3", "%201", "99999999999999999999"]) {
      const res = await redeliver(id, bad);
      expect([res.status, res.json.error.code], bad).toEqual([400, "invalid_request"]);
      expect(res.json.error.details.issues[0].path).toBe("seq");
    }
    await expectError(404, "customer_not_found", "POST", `/v1/customers/${id}_nobody/events/1/redeliver`, {});
    const anonymous = await call("POST", `/v1/customers/${id}/events/1/redeliver`, {}, { Authorization: "" });
    expect([anonymous.status, anonymous.json.error.code]).toEqual([401, "unauthorized"]);
    await expectError(400, "invalid_request", "POST", `/v1/customers/${id}/events/1/redeliver`, { x: 1 });
    const media = await call("POST", `/v1/customers/${id}/events/1/redeliver`, "{}", {
      "Content-Type": "text/plain",
    });
    expect(media.status).toBe(415);
  });
});

describe("retries", () => {
  it("a 503, then a 200: retried, then delivered", async () => {
    const id = unique("retry");
    await answer(id, 503, { seq: 1, times: 1 });
    await putCustomer(id);
    const [event] = await drainOutbox(id);
    expect(event.delivery).toMatchObject({ status: "delivered", attempts: 2, lastError: null });
    expect((await received(id)).map((r) => [r.id, r.status])).toEqual([
      [event.id, 503],
      [event.id, 204],
    ]);
  });

  it.each([408, 409, 425, 429, 500, 502, "drop"] as const)("%s is retried, not failed", async (status) => {
    const id = unique("retryable");
    await answer(id, status, { seq: 1, times: 2 });
    await putCustomer(id);
    const [event] = await drainOutbox(id);
    expect(event.delivery).toMatchObject({ status: "delivered", attempts: 3 });
  });

  it.each([400, 401, 403, 404, 410, 413, 422])(
    "%s is a permanent refusal: failed at once",
    async (status) => {
      const id = unique("permanent");
      await answer(id, status, { seq: 1 });
      await putCustomer(id);
      await consume({ customer: id, entitlement: "tokens", amount: 1 });
      const [first, second] = await drainOutbox(id);
      expect(first.delivery).toMatchObject({ status: "failed", attempts: 1 });
      expect(second.delivery).toMatchObject({ status: "delivered", attempts: 1 });
    },
  );

  it("gives up 3 days after the first attempt: failed, and delivery moves on", async () => {
    const id = unique("horizon");
    await answer(id, 503, { seq: 1 });
    await putCustomer(id);
    await consume({ customer: id, entitlement: "tokens", amount: 1 });
    await runOutbox(id);
    let [first, second] = await allEvents(id);
    expect(first.delivery.status).toBe("pending");
    expect(second.delivery.attempts).toBe(0);

    // Just inside the horizon: still retried.
    await sqlIn(
      id,
      "UPDATE events SET first_attempt_at = ? WHERE seq = 1",
      Date.now() - 3 * DAY_MS + 600_000,
    );
    await runOutbox(id);
    [first, second] = await allEvents(id);
    expect(first.delivery.status).toBe("pending");
    expect(second.delivery.attempts).toBe(0);

    // Past it: the next failure is final, and the event behind it goes out.
    await sqlIn(id, "UPDATE events SET first_attempt_at = ? WHERE seq = 1", Date.now() - 3 * DAY_MS);
    const attemptsBefore = first.delivery.attempts;
    [first, second] = await drainOutbox(id);
    expect(first.delivery).toMatchObject({
      status: "failed",
      attempts: attemptsBefore + 1,
      nextAttemptAt: null,
      lastError: "receiver answered 503; gave up after 3 days of retries",
    });
    expect(second.delivery.status).toBe("delivered");

    // Redelivery starts a new horizon: the receiver is still down, so it is pending again, not failed.
    await control(`clear?customer=${id}`);
    await answer(id, 503, { seq: 1, times: 1 });
    expect((await redeliver(id, 1)).json.delivery.status).toBe("pending");
    await runOutbox(id);
    expect((await allEvents(id))[0].delivery).toMatchObject({ status: "pending", attempts: 1 });
    expect((await drainOutbox(id))[0].delivery).toMatchObject({ status: "delivered", attempts: 2 });
  });
});

describe("retention with webhooks on", () => {
  it("never prunes a pending event; prunes delivered ones beyond the last 1,000 once 30 days old", async () => {
    const id = unique("keep_pending");
    await answer(id, 503, { seq: 1 });
    await putCustomer(id);
    await withStore(id, (store) => {
      const event = { type: "meter.changed", entitlement: "tokens", data: {} };
      store.transaction(() => store.appendEvents(Array(1200).fill(event), id, id, Date.now()));
    });
    await runOutbox(id);
    // All 1,201 pending (the head is refused with 503), and as old as can be: nothing goes.
    await sqlIn(id, "UPDATE events SET at = '2000-01-01T00:00:00.000Z'");
    await runOutbox(id);
    const pending = await sqlIn<{ n: number }>(
      id,
      "SELECT COUNT(*) AS n FROM events WHERE status = 'pending'",
    );
    expect(pending[0]?.n).toBe(1201);

    // Seqs 2..300 delivered 31 days ago: those beyond the last 1,000 (2..201) go; the pending head stays.
    await sqlIn(
      id,
      "UPDATE events SET status = 'delivered', delivered_at = ?1, settled_at = ?1 WHERE seq BETWEEN 2 AND 300",
      Date.now() - 31 * DAY_MS,
    );
    await runOutbox(id);
    const left = await sqlIn<{ n: number; lo: number; next: number }>(
      id,
      "SELECT COUNT(*) AS n, MIN(seq) AS lo, (SELECT MIN(seq) FROM events WHERE seq > 1) AS next FROM events",
    );
    expect(left[0]).toEqual({ n: 1001, lo: 1, next: 202 });
    const head = (await call("GET", `/v1/customers/${id}/events?limit=1`)).json.events[0];
    expect(head.delivery.status).toBe("pending");
    // The alarm is still set: the pending head is retried.
    const alarm = await runInDurableObject(customerStub(id), (_i, state: DurableObjectState) =>
      state.storage.getAlarm(),
    );
    expect(alarm).not.toBeNull();
    await control(`clear?customer=${id}`);
  });
});
