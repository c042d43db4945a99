/**
 * `POST /v1/customers/:id/events/:seq/redeliver` inside the customer's object (SPEC §7): a `failed` or
 * `delivered` event goes back to `pending` with the same id and seq, due now, with a fresh retry horizon.
 * A `pending` event is already queued: the answer is the event as it stands, nothing changed. A `skipped`
 * event was written while webhooks were off and is never delivered (`409 event_not_redeliverable`); nothing
 * is queued while webhooks are off or misconfigured (`409 webhooks_off`).
 */
import { fail } from "../errors/catalogue";
import { ok, type Result, unknownCustomer } from "./contract";
import { type CustomerContext, confirmRecord } from "./customer-context";
import type { ListedEvent } from "./customer-store";

/** Queue event `seq` of this customer's log again; answers the event with its new delivery state. */
export function redeliverEvent(
  context: CustomerContext,
  presentedAlternateId: string | null,
  seq: number,
): Result<ListedEvent> {
  if (confirmRecord(context, presentedAlternateId) === null) return unknownCustomer();
  const { store } = context;
  const event = store.getEvent(seq);
  if (event === null) {
    return fail("event_not_found", `event ${seq} is not in this customer's log (or was pruned)`);
  }
  if (event.delivery.status === "pending") return ok(event);
  if (event.delivery.status === "skipped") {
    return fail(
      "event_not_redeliverable",
      `event ${seq} was written while webhooks were off: skipped events are never delivered`,
      { status: "skipped" },
    );
  }
  if (context.webhooks.state !== "on") {
    return fail("webhooks_off", "webhooks are off or misconfigured (see /healthz): nothing would send it");
  }
  store.transaction(() => store.requeueEvent(seq, context.ports.clock.nowMs()));
  context.ports.alarm.wakeOutbox();
  const queued = store.getEvent(seq);
  return queued === null ? unknownCustomer() : ok(queued);
}
