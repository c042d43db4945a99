/**
 * Webhook delivery from one customer's outbox (SPEC §7, §11 "Webhooks"), driven by the object's alarm: the
 * oldest pending event first, one in flight, retried with backoff until a 2xx. The body is the bare event
 * object exactly as stored; `webhook-id` is the event id, so receivers de-duplicate retries.
 */
import type { WebhookConfig } from "../webhooks/config";
import { backoffMs, signWebhook } from "../webhooks/signature";
import type { CustomerStore } from "./customer-store";

const ATTEMPT_TIMEOUT_MS = 10_000;
/** Events delivered per alarm run before yielding (the alarm re-arms at once when more wait). */
const MAX_PER_RUN = 50;

/** Deliver what is due. Answers when the outbox next needs the alarm, or null when it is empty. */
export async function deliverDue(
  store: CustomerStore,
  config: WebhookConfig,
  fetcher: typeof fetch = fetch,
): Promise<number | null> {
  if (config.state !== "on") return null;
  for (let sent = 0; sent < MAX_PER_RUN; sent++) {
    const head = store.nextPending();
    if (head === null) return null;
    const nowMs = Date.now();
    if (head.nextAttemptAt !== null && head.nextAttemptAt > nowMs) return head.nextAttemptAt;
    const error = await attempt(config, head.id, head.body, fetcher);
    const doneMs = Date.now();
    if (error === null) {
      store.recordAttempt(head.seq, { deliveredAt: doneMs });
    } else {
      const nextAttemptAt = doneMs + backoffMs(head.attempts + 1, Math.random());
      store.recordAttempt(head.seq, { nextAttemptAt, error });
      return nextAttemptAt;
    }
  }
  return Date.now();
}

/** One signed POST; null on a 2xx, else a short reason (never a secret). */
async function attempt(
  config: Extract<WebhookConfig, { state: "on" }>,
  id: string,
  body: string,
  fetcher: typeof fetch,
): Promise<string | null> {
  const timestamp = Math.floor(Date.now() / 1000);
  // A timer we clear ourselves: AbortSignal.timeout would keep the object busy for the full 10 s.
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("timed out", "TimeoutError")),
    ATTEMPT_TIMEOUT_MS,
  );
  try {
    const response = await fetcher(config.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signWebhook(config.key, id, timestamp, body),
        "user-agent": "tollgate-webhooks/1",
      },
      body,
      signal: controller.signal,
    });
    // Drain the body so the connection can be reused.
    await response.arrayBuffer();
    return response.ok ? null : `receiver answered ${response.status}`;
  } catch (error) {
    return controller.signal.aborted
      ? `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s`
      : `delivery failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 200);
  } finally {
    clearTimeout(timer);
  }
}
