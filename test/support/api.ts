/** HTTP helpers for tests in the workers pool: every call goes through the Worker's own fetch. */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { expect } from "vitest";

export const BASE = "http://gate.test";
export const AUTH = { Authorization: `Bearer ${env.ADMIN_TOKEN}` };

// biome-ignore lint/suspicious/noExplicitAny: test responses are checked field by field
export type Json = any;

/** Call the gate with the admin token; JSON bodies are serialised, strings sent as they are. */
export async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const init: RequestInit = { method, headers: { ...AUTH, ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    if (typeof body !== "string")
      (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  const res = await exports.default.fetch(`${BASE}${path}`, init);
  const text = await res.text();
  let json: Json = null;
  try {
    json = text === "" ? null : JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

/** Call and expect a status; answers the parsed body. */
export async function expectStatus(
  status: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<Json> {
  const res = await call(method, path, body);
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.json)}`).toBe(status);
  return res.json;
}

export const ok = (method: string, path: string, body?: unknown) => expectStatus(200, method, path, body);

/**
 * Call and expect an error envelope with `status` and `code` (and the request id repeated in it); answers
 * `error` of the envelope.
 */
export async function expectError(
  status: number,
  code: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Json> {
  const res = await call(method, path, body, headers);
  expect(
    { status: res.status, code: res.json?.error?.code },
    `${method} ${path}: ${JSON.stringify(res.json)}`,
  ).toEqual({
    status,
    code,
  });
  expect(res.json.error.requestId).toBe(res.headers.get("x-request-id"));
  return res.json.error;
}

/** Store a policy (YAML text) and answer its version. */
export async function putPolicy(yaml: string): Promise<string> {
  const res = await call("PUT", "/v1/policy", yaml, { "Content-Type": "application/yaml" });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json.version;
}

export const check = (body: Json) => ok("POST", "/v1/check", body);
export const consume = (body: Json) => ok("POST", "/v1/consume", body);
export const release = (body: Json) => ok("POST", "/v1/release", body);
export const reserve = (body: Json) => ok("POST", "/v1/reserve", body);
export const settle = (body: Json) => ok("POST", "/v1/settle", body);

/** Create or merge a customer; answers the view. */
export const putCustomer = (id: string, body: Json = {}) =>
  ok("PUT", `/v1/customers/${encodeURIComponent(id)}`, body);
/** The customer view (by id or alternate ID). */
export const getCustomer = (id: string) => ok("GET", `/v1/customers/${encodeURIComponent(id)}`);

/** Every event of a customer, oldest first (follows `next`). */
export async function allEvents(id: string): Promise<Json[]> {
  const events: Json[] = [];
  let after = 0;
  for (;;) {
    const page = await ok("GET", `/v1/customers/${encodeURIComponent(id)}/events?after=${after}&limit=1000`);
    events.push(...page.events);
    if (page.next === null) return events;
    after = page.next;
  }
}

/** The stub of the object holding customer `id` (canonical ids only). */
export function customerStub(id: string) {
  return env.CUSTOMERS.get(env.CUSTOMERS.idFromName(id));
}

/**
 * Run `fn` on a customer object's private store, inside the object (tests that must move time: the object
 * decides by its own `Date.now()`, which tests cannot fake).
 */
export async function withStore<R>(owner: string, fn: (store: Json) => R): Promise<R> {
  // biome-ignore lint/suspicious/noExplicitAny: reaching the private store is the point of this helper
  return runInDurableObject(customerStub(owner), (instance) => fn((instance as any).context.store));
}

/**
 * Run `id`'s alarm until every event of its log is in the read model (SPEC §13.1), as the runtime would
 * within seconds; throws when events are still unprojected after `rounds` runs (an alarm that never comes).
 */
export async function runProjection(id: string, rounds = 50): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    if (!(await withStore(id, (store) => store.hasUnprojected() as boolean))) return;
    // Unprojected events with no alarm set would wait forever: that is a failure, not something to retry.
    const ran = await runDurableObjectAlarm(customerStub(id));
    if (!ran && (await withStore(id, (store) => store.hasUnprojected() as boolean))) {
      throw new Error(`${id} has unprojected events and no alarm`);
    }
  }
  throw new Error(`${id} still has unprojected events after ${rounds} alarm runs`);
}

/** Move a hold's expiry into the past inside its object. Answers the hold as stored. */
export function backdateHold(owner: string, holdId: string): Promise<Json> {
  return withStore(owner, (store) => {
    const hold = store.holds.get(holdId);
    if (hold === undefined) throw new Error(`no hold ${holdId} on ${owner}`);
    const past = { ...hold, expiresAt: Date.now() - 1000 };
    store.transaction(() => store.putHold(past));
    return past;
  });
}

/** Move a meter's period back by `ms`, as if that much time had passed since it was anchored. */
export function agePeriod(owner: string, entitlement: string, ms: number): Promise<void> {
  return withStore(owner, (store) => {
    const meter = store.meters.get(entitlement);
    if (meter === undefined) throw new Error(`no meter ${entitlement} on ${owner}`);
    const aged = { ...meter, periodStart: meter.periodStart - ms, periodEnd: meter.periodEnd - ms };
    store.transaction(() => store.putMeter(entitlement, aged));
  });
}

/** A name unique to this test run, so tests sharing a file's storage do not collide. */
let counter = 0;
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * The policy most tests share: an org-scoped seat gauge, per-customer token and MB meters, a feature flag,
 * and a `pro` plan with larger limits and a soft meter.
 */
export const TEST_POLICY = `
credits:
  seat: { label: Seat }
  token: { label: Token }
  mb: { label: Megabyte, unit: MB }
plans:
  free:
    default: true
    entitlements:
      export_pdf: {}
      seats:
        scope: org
        limit: { credit: seat, value: 3 }
      tokens:
        limit: { credit: token, value: 500 }
      storage:
        limit: { credit: mb, value: 1GB }
      calls:
        limit: { credit: token, value: 50 }
      hourly:
        limit: { credit: token, value: 10, reset_inc: 1h }
  pro:
    entitlements:
      export_pdf: {}
      seats:
        scope: org
        limit: { credit: seat, value: 10 }
      tokens:
        limit: { credit: token, value: 100000 }
      storage:
        limit: { credit: mb, value: 100GB }
      calls:
        limit: { credit: token, value: 50 }
      soft_tokens:
        limit: { credit: token, value: 100, mode: soft }
  solo:
    entitlements:
      tokens:
        limit: { credit: token, value: 1000 }
`;
