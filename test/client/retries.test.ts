/**
 * The client's retries (SPEC §3.6, §12.3, §13.3) against the real Worker: a lost answer is retried with the
 * same idempotency key and replays the first decision (the meter moves once); 503 and 429 wait for
 * `Retry-After` or back off; a 4xx is never retried; an `AbortSignal` ends the call; a retried delete that
 * finds nothing says so. The network between client and Worker is the only thing faked: a wrapping `fetch`
 * that loses answers or answers as a proxy would. Waits go through an injected `sleep` that records them.
 */
import type { FetchLike } from "tollgate/client";
import { describe, expect, it } from "vitest";
import { unique } from "../support/api";
import { errorIn, gateClient, valueIn, workerFetch } from "../support/client";

interface Sent {
  method: string;
  url: string;
  body: string | undefined;
}

/**
 * A network in front of the Worker: `plan[n]` says what happens to the n-th request ("forward", "lose" = the
 * Worker gets it, then the connection drops before the answer arrives, "drop" = it never arrives, or a canned
 * answer); past the plan every request is forwarded.
 */
function network(plan: Array<"forward" | "lose" | "drop" | (() => Response)>) {
  const sent: Sent[] = [];
  const fetch: FetchLike = async (input, init) => {
    const step = plan[sent.length] ?? "forward";
    sent.push({ method: init.method ?? "GET", url: input, body: init.body as string | undefined });
    if (step === "drop") throw new TypeError("fetch failed: connection refused");
    if (typeof step === "function") return step();
    const response = await workerFetch(input, init);
    if (step === "lose") {
      await response.arrayBuffer(); // the Worker answered in full; the client never sees it
      throw new TypeError("fetch failed: connection reset by peer");
    }
    return response;
  };
  return { fetch, sent };
}

/** A `sleep` that records each wait and returns at once. */
function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

const envelope =
  (status: number, code: string, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify({ error: { code, message: code, requestId: "proxy" } }), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });

const POLICY = `
credits:
  token: {}
plans:
  free:
    default: true
    topups:
      pack: { credit: token, value: 50 }
    entitlements:
      tokens: { limit: { credit: token, value: 1000 } }
`;

const admin = gateClient();

/** The test file's policy (storage is per file); putting it again keeps its version. */
async function ready(): Promise<void> {
  valueIn(await admin.putPolicy(POLICY));
}

async function newCustomer(prefix: string): Promise<string> {
  const id = unique(prefix);
  valueIn(await admin.upsertCustomer(id, {}));
  return id;
}

describe("a 503 from the Worker itself", () => {
  it("policy_unavailable is retried, and succeeds once a policy is pushed while the client waits", async () => {
    // Nothing is stored yet in this file: the gate answers 503 policy_unavailable.
    expect(errorIn(await admin.getPolicy({ maxAttempts: 1 }))).toMatchObject({
      status: 503,
      code: "policy_unavailable",
    });
    const waits: number[] = [];
    const client = gateClient({
      random: () => 0.5,
      baseDelayMs: 100,
      sleep: async (ms) => {
        waits.push(ms);
        if (waits.length === 2) await ready(); // the operator pushes the policy during the second wait
      },
    });
    const result = await client.getPolicy();
    expect(valueIn(result).policy).toHaveProperty("plans");
    expect(result.attempts).toBe(3);
    // Exponential backoff with equal jitter: cap 100, then 200; half fixed, half random (0.5).
    expect(waits).toEqual([75, 150]);
  });
});

describe("a lost answer", () => {
  it("is retried with the same key and replays the same decision: the meter moved once", async () => {
    await ready();
    const id = await newCustomer("lost");
    const net = network(["lose"]);
    const { sleep, waits } = recordingSleep();
    const client = gateClient({ fetch: net.fetch, sleep });

    const result = await client.consume({ customer: id, entitlement: "tokens", amount: 7 });
    const decision = valueIn(result);
    expect(decision).toMatchObject({ allowed: true, used: 7, replayed: true });
    expect(result.attempts).toBe(2);
    expect(waits).toHaveLength(1);
    // Both attempts carried the same generated key, the one the result reports.
    const bodies = net.sent.map((s) => JSON.parse(s.body ?? "{}"));
    expect(bodies[0].idempotencyKey).toBe(result.idempotencyKey);
    expect(bodies[1]).toEqual(bodies[0]);
    expect(valueIn(await admin.getCustomer(id)).meters.tokens?.used).toBe(7);
  });

  it("a top-up whose answer is lost grants once", async () => {
    await ready();
    const id = await newCustomer("lost_topup");
    const net = network(["lose"]);
    const client = gateClient({ fetch: net.fetch, sleep: recordingSleep().sleep });
    const result = await client.topup(id, { topup: "pack" });
    expect(valueIn(result).grant.balance).toBe(50);
    expect(net.sent).toHaveLength(2);
    expect(valueIn(await admin.listGrants(id)).grants).toHaveLength(1);
  });

  it("when every attempt is lost, the result gives the key to learn the outcome later", async () => {
    await ready();
    const id = await newCustomer("all_lost");
    const net = network(["lose", "drop", "drop"]);
    const client = gateClient({ fetch: net.fetch, sleep: recordingSleep().sleep, maxAttempts: 3 });
    const body = { customer: id, entitlement: "tokens", amount: 2 };
    const result = await client.consume(body);
    expect(errorIn(result)).toMatchObject({ status: 0, code: "network_error", earlierAttemptLost: true });
    expect(result.attempts).toBe(3);
    expect(result.idempotencyKey).toEqual(expect.any(String));

    // Later, the same call with that key: the first attempt had been applied; it is replayed, not repeated.
    const later = valueIn(await admin.consume({ ...body, idempotencyKey: result.idempotencyKey }));
    expect(later).toMatchObject({ used: 2, replayed: true });
  });

  it("a retried delete that finds nothing reports the removal as unconfirmed", async () => {
    await ready();
    const id = await newCustomer("lost_delete");
    const client = gateClient({ fetch: network(["lose"]).fetch, sleep: recordingSleep().sleep });
    const result = await client.deleteCustomer(id);
    expect(valueIn(result)).toEqual({
      removed: "unconfirmed",
      message: expect.stringContaining("customer_not_found"),
    });
    expect(result.attempts).toBe(2);
    expect(errorIn(await admin.getCustomer(id)).code).toBe("customer_not_found");
  });

  it("a 404 after a retried 5xx carries earlierAttemptLost", async () => {
    await ready();
    const client = gateClient({
      fetch: network([envelope(502, "bad_gateway")]).fetch,
      sleep: recordingSleep().sleep,
    });
    const result = await client.getCustomer(unique("nobody"));
    expect(errorIn(result)).toMatchObject({
      status: 404,
      code: "customer_not_found",
      earlierAttemptLost: true,
    });
    expect(result.attempts).toBe(2);
  });
});

describe("waits", () => {
  it("honours Retry-After on 503 and 429 (seconds or an HTTP date)", async () => {
    await ready();
    const id = await newCustomer("wait");
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    const net = network([
      envelope(503, "policy_unavailable", { "retry-after": "2" }),
      envelope(429, "rate_limit_exceeded", { "retry-after": inTenSeconds }),
    ]);
    const { sleep, waits } = recordingSleep();
    const result = await gateClient({ fetch: net.fetch, sleep }).consume({
      customer: id,
      entitlement: "tokens",
      amount: 1,
    });
    expect(valueIn(result)).toMatchObject({ used: 1, replayed: false });
    expect(result.attempts).toBe(3);
    expect(waits[0]).toBe(2000);
    // An HTTP date: the time left until it (whole seconds, so within the second it was written in).
    expect(waits[1]).toBeGreaterThan(8_000);
    expect(waits[1]).toBeLessThanOrEqual(10_000);
    // All three requests carried one key; the first two never reached the Worker.
    expect(new Set(net.sent.map((s) => JSON.parse(s.body ?? "{}").idempotencyKey)).size).toBe(1);
  });

  it("a Retry-After longer than maxRetryAfterMs is returned at once, not waited for", async () => {
    const net = network([envelope(429, "rate_limit_exceeded", { "retry-after": "3600" })]);
    const { sleep, waits } = recordingSleep();
    const result = await gateClient({ fetch: net.fetch, sleep, maxRetryAfterMs: 60_000 }).getPolicy();
    expect(errorIn(result)).toMatchObject({
      status: 429,
      code: "rate_limit_exceeded",
      earlierAttemptLost: false,
    });
    expect(waits).toEqual([]);
    expect(net.sent).toHaveLength(1);
  });

  it("backs off exponentially up to maxDelayMs, then gives up after maxAttempts", async () => {
    const net = network(Array.from({ length: 6 }, () => envelope(500, "internal")));
    const { sleep, waits } = recordingSleep();
    const client = gateClient({
      fetch: net.fetch,
      sleep,
      random: () => 1,
      baseDelayMs: 100,
      maxDelayMs: 500,
    });
    const result = await client.getPolicy({ maxAttempts: 6 });
    expect(errorIn(result)).toMatchObject({ status: 500, code: "internal", earlierAttemptLost: true });
    expect(result.attempts).toBe(6);
    expect(waits).toEqual([100, 200, 400, 500, 500]);
  });
});

describe("never retried", () => {
  it("a 4xx decision error, 503 not_configured, or an answer that is not the API's", async () => {
    await ready();
    const id = await newCustomer("no_retry");
    const net = network([]);
    const { sleep, waits } = recordingSleep();
    const client = gateClient({ fetch: net.fetch, sleep });

    expect(errorIn(await client.consume({ customer: id, entitlement: "nope" })).code).toBe(
      "unknown_entitlement",
    );
    const body = { customer: id, entitlement: "tokens", idempotencyKey: `k-${id}` };
    valueIn(await client.consume(body));
    expect(errorIn(await client.consume({ ...body, amount: 2 })).code).toBe("idempotency_key_reused");
    expect(net.sent).toHaveLength(3);

    const unconfigured = network([envelope(503, "not_configured")]);
    const refused = await gateClient({ fetch: unconfigured.fetch, sleep }).getPolicy();
    expect(errorIn(refused)).toMatchObject({ status: 503, code: "not_configured" });
    expect(refused.attempts).toBe(1);

    const html = network([() => new Response("<h1>Forbidden</h1>", { status: 403 })]);
    const proxy = errorIn(await gateClient({ fetch: html.fetch, sleep }).getPolicy());
    expect(proxy).toMatchObject({ status: 403, code: "unexpected_response", earlierAttemptLost: false });
    expect(waits).toEqual([]);
  });
});

describe("AbortSignal", () => {
  it("an aborted signal sends nothing", async () => {
    const net = network([]);
    const result = await gateClient({ fetch: net.fetch }).getPolicy({ signal: AbortSignal.abort() });
    expect(errorIn(result)).toMatchObject({ status: 0, code: "aborted", earlierAttemptLost: false });
    expect(result.attempts).toBe(0);
    expect(net.sent).toHaveLength(0);
  });

  it("ends the wait for a retry (the default timer)", async () => {
    await ready();
    const id = await newCustomer("abort_wait");
    const controller = new AbortController();
    const net = network([
      () => {
        setTimeout(() => controller.abort(), 0); // once the client is waiting for its retry
        throw new TypeError("fetch failed");
      },
    ]);
    // A minute's backoff: only the abort can end this wait within the test's timeout.
    const client = gateClient({ fetch: net.fetch, baseDelayMs: 60_000, maxDelayMs: 60_000 });
    const result = await client.consume(
      { customer: id, entitlement: "tokens", amount: 1 },
      { signal: controller.signal },
    );
    expect(errorIn(result)).toMatchObject({ status: 0, code: "aborted", earlierAttemptLost: true });
    expect(result.attempts).toBe(1);
    expect(net.sent).toHaveLength(1);
  });

  it("ends a request in flight", async () => {
    const controller = new AbortController();
    const hanging: FetchLike = (_input, init) =>
      new Promise((_resolve, reject) => {
        init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        controller.abort();
      });
    const result = await gateClient({ fetch: hanging }).getPolicy({ signal: controller.signal });
    expect(errorIn(result)).toMatchObject({ code: "aborted", earlierAttemptLost: true });
    expect(result.attempts).toBe(1);
  });
});
