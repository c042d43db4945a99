/**
 * Helpers for tests in the webhooks project: steer the receiver of test/support/webhook-receiver.ts and
 * drive a customer's outbox by its alarm (no sleeps: waiting attempts are made due, then the alarm is run).
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { inject } from "vitest";
import { allEvents, customerStub, type Json } from "./api";
import type { ReceivedWebhook } from "./webhook-receiver";

const receiver = inject("webhookReceiverUrl");

/** One control call to the receiver (`answer?customer=C&seq=S&status=X[&times=N]`, `clear?customer=C`). */
export async function control(path: string, method = "POST"): Promise<Response> {
  return fetch(`${receiver}/__control/${path}`, { method });
}

/** Every delivery attempt the receiver saw of `customer`'s events, in arrival order. */
export async function received(customer: string): Promise<ReceivedWebhook[]> {
  const res = await control(`received?customer=${encodeURIComponent(customer)}`, "GET");
  return (await res.json()) as ReceivedWebhook[];
}

/** Answer deliveries of `customer`'s events (all, or the one with `seq`) with `status`, `times` times. */
export async function answer(
  customer: string,
  status: number | "drop",
  options: { seq?: number; times?: number } = {},
): Promise<void> {
  const q = new URLSearchParams({ customer, status: String(status) });
  if (options.seq !== undefined) q.set("seq", String(options.seq));
  if (options.times !== undefined) q.set("times", String(options.times));
  await control(`answer?${q}`);
}

/** Make every waiting attempt of `id`'s outbox due now, then run the alarm, as the runtime would later. */
export async function runOutbox(id: string): Promise<void> {
  const stub = customerStub(id);
  await runInDurableObject(stub, (_instance, state: DurableObjectState) => {
    state.storage.sql.exec("UPDATE events SET next_attempt_at = 0 WHERE status = 'pending'");
  });
  await runDurableObjectAlarm(stub);
}

/** Run the outbox until no event of `id` is pending (at most `rounds` alarm runs); answers the log. */
export async function drainOutbox(id: string, rounds = 200): Promise<Json[]> {
  for (let round = 0; round < rounds; round++) {
    const events = await allEvents(id);
    if (events.every((e) => e.delivery.status !== "pending")) return events;
    await runOutbox(id);
  }
  throw new Error(`the outbox of ${id} still has pending events after ${rounds} alarm runs`);
}

/** Run SQL inside a customer's object (tests that move stored time). */
export function sqlIn<T extends Record<string, SqlStorageValue>>(
  id: string,
  query: string,
  ...bindings: SqlStorageValue[]
): Promise<T[]> {
  return runInDurableObject(customerStub(id), (_instance, state: DurableObjectState) =>
    state.storage.sql.exec<T>(query, ...bindings).toArray(),
  );
}
