/**
 * Webhook delivery from one customer's outbox (SPEC §7, §11 "Webhooks"), driven by the object's alarm: the
 * oldest pending event first, one in flight. A 2xx delivers it; a retryable answer (408, 409, 425, 429, 5xx,
 * no answer in 10 s, a network error) is retried with backoff for up to 3 days from its first attempt; any
 * other answer, or the end of that horizon, fails it, and delivery moves on to the next event. The body is
 * the bare event object exactly as stored; `webhook-id` is the event id, so receivers de-duplicate retries.
 */
import type { WebhookConfig } from "../webhooks/config";
import { type AttemptVerdict, attemptOutcome, classifyStatus } from "../webhooks/retry";
import { signWebhook } from "../webhooks/signature";
import type { CustomerStore } from "./customer-store";

const ATTEMPT_TIMEOUT_MS = 10_000;
/** Events delivered per alarm run before yielding (the alarm re-arms at once when more wait). */
const MAX_PER_RUN = 50;
/** When another run of this instance is delivering, look again this much later (it schedules what it saw). */
const BUSY_RETRY_MS = 1000;

/** Stores whose outbox a run is delivering now: one in flight per customer, even if two alarm runs overlap. */
const delivering = new WeakSet<CustomerStore>();

/** Deliver what is due. Answers when the outbox next needs the alarm, or null when nothing waits. */
export async function deliverDue(
  store: CustomerStore,
  config: WebhookConfig,
  fetcher: typeof fetch = fetch,
): Promise<number | null> {
  // Off or misconfigured: nothing is sent. Events written now are `skipped`; older pending ones wait.
  if (config.state !== "on") return null;
  if (delivering.has(store)) return Date.now() + BUSY_RETRY_MS;
  delivering.add(store);
  try {
    for (let sent = 0; sent < MAX_PER_RUN; sent++) {
      const head = store.nextPending();
      if (head === null) return null;
      const startedAt = Date.now();
      if (head.nextAttemptAt !== null && head.nextAttemptAt > startedAt) return head.nextAttemptAt;
      const verdict = await attempt(config, head.id, head.body, fetcher);
      const firstAttemptAt = head.firstAttemptAt ?? startedAt;
      const outcome = attemptOutcome(verdict, head.attempts, firstAttemptAt, Date.now(), Math.random());
      store.recordAttempt(head.seq, startedAt, outcome);
      if (outcome.kind === "retry") return outcome.nextAttemptAt;
    }
    return Date.now();
  } finally {
    delivering.delete(store);
  }
}

/** One signed POST and what its answer means (never a secret in the error). */
async function attempt(
  config: Extract<WebhookConfig, { state: "on" }>,
  id: string,
  body: string,
  fetcher: typeof fetch,
): Promise<AttemptVerdict> {
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
      // A redirect is an answer, not a place to re-send a signed event (a 3xx is retried like a 5xx).
      redirect: "manual",
      signal: controller.signal,
    });
    // Drain the body so the connection can be reused.
    await response.arrayBuffer();
    return classifyStatus(response.status);
  } catch (error) {
    return {
      kind: "retryable",
      error: controller.signal.aborted
        ? `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s`
        : `delivery failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 200),
    };
  } finally {
    clearTimeout(timer);
  }
}
