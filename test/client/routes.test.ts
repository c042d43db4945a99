/**
 * The typed client (`tollgate/client`, SPEC §13.3) against the real Worker: every `/v1` route once at least,
 * with real answers asserted; decisions (denials included) as values, errors as typed values.
 */
import { type FetchLike, TollgateClient } from "tollgate/client";
import { beforeAll, describe, expect, it } from "vitest";
import { call, runProjection, unique } from "../support/api";
import { errorIn, GATE_URL, gateClient, valueIn, workerFetch } from "../support/client";

const POLICY = `
credits:
  token: { price: { amount: 0.01 }, overhead_cost: 0.002 }
plans:
  free:
    default: true
    topups:
      tokens100: { credit: token, value: 100, price: { amount: 1 } }
    entitlements:
      tokens: { limit: { credit: token, value: 100 } }
  pro:
    entitlements:
      tokens: { limit: { credit: token, value: 1000 } }
`;

/** Every request the client sent in this file (`METHOD /path`), to check the coverage of /openapi.json. */
const seen: string[] = [];
const recording: FetchLike = (input, init) => {
  seen.push(`${init.method} ${new URL(input).pathname}`);
  return workerFetch(input, init);
};
const client = gateClient({ fetch: recording });
let version: string;

beforeAll(async () => {
  version = valueIn(await client.putPolicy(POLICY)).version;
});

describe("policy", () => {
  it("validates, reads, and writes a policy as YAML or JSON; errors carry their details", async () => {
    expect(valueIn(await client.validatePolicy(POLICY))).toEqual({ valid: true, version });

    const active = valueIn(await client.getPolicy());
    expect(active.version).toBe(version);
    expect(Object.keys(active.policy.plans as object)).toEqual(["free", "pro"]);
    // The same policy as a JSON document keeps its version (SPEC §11).
    expect(valueIn(await client.putPolicy(active.policy, { ifMatch: version }))).toEqual({ version });

    const stale = errorIn(await client.putPolicy(active.policy, { ifNoneMatch: "*" }));
    expect(stale).toMatchObject({ status: 412, code: "precondition_failed", earlierAttemptLost: false });
    expect(stale.details).toEqual({ currentVersion: version });

    const invalid = errorIn(
      await client.validatePolicy({ plans: { free: { entitlements: { x: { limit: {} } } } } }),
    );
    expect(invalid.status).toBe(400);
    expect(invalid.code).toBe("invalid_policy");
    expect(invalid.details?.issues).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: "plans.free.entitlements.x.limit.value" })]),
    );
  });
});

describe("customers", () => {
  it("upserts, reads by an alternate ID, changes plan, adds and removes alternate IDs", async () => {
    const id = unique("client");
    const email = `${id}@example.com`;
    const created = valueIn(await client.upsertCustomer(id, { label: "Ada", alternateIds: [email] }));
    expect(created).toMatchObject({ id, type: "user", label: "Ada", plan: null, effectivePlan: "free" });
    expect(created.alternateIds).toEqual([email]);

    const byEmail = await client.getCustomer(email);
    expect(valueIn(byEmail).id).toBe(id);
    expect(byEmail.attempts).toBe(1);
    expect(byEmail.requestId).toMatch(/.+/);

    const pro = valueIn(await client.changePlan(id, { plan: "pro" }));
    expect(pro.effectivePlan).toBe("pro");

    const key = `sk-${id}`;
    expect(valueIn(await client.addAlternateId(id, key)).alternateIds).toEqual([email, key]);
    // Adding an ID the customer already holds changes nothing (why the route needs no idempotency key).
    expect(valueIn(await client.addAlternateId(id, key)).alternateIds).toEqual([email, key]);
    expect(valueIn(await client.getCustomer(key)).id).toBe(id);

    expect(valueIn(await client.removeAlternateId(id, key)).alternateIds).toEqual([email]);
    const gone = errorIn(await client.getCustomer(key));
    expect(gone).toEqual({
      status: 404,
      code: "customer_not_found",
      message: expect.any(String),
      earlierAttemptLost: false,
    });
  });

  it("an alternate ID held by another customer is a typed 409", async () => {
    const owner = unique("owner");
    await client.upsertCustomer(owner, { alternateIds: [`${owner}_alt`] });
    const taken = errorIn(await client.upsertCustomer(unique("other"), { alternateIds: [`${owner}_alt`] }));
    expect(taken).toMatchObject({ status: 409, code: "alternate_id_taken" });
  });

  it("exports, deletes and restores a customer to the same view", async () => {
    const id = unique("state");
    await client.upsertCustomer(id, { plan: "pro", metadata: { tier: 2 } });
    valueIn(await client.consume({ customer: id, entitlement: "tokens", amount: 7 }));
    const before = valueIn(await client.getCustomer(id));
    const state = valueIn(await client.exportState(id));
    expect(state.format).toBe(1);
    expect(state.meters.tokens?.used).toBe(7);

    expect(valueIn(await client.deleteCustomer(id))).toEqual({ removed: "confirmed" });
    expect(errorIn(await client.getCustomer(id)).code).toBe("customer_not_found");
    // Deleting what is not there, with no lost attempt before: a plain 404.
    expect(errorIn(await client.deleteCustomer(id))).toMatchObject({
      status: 404,
      code: "customer_not_found",
      earlierAttemptLost: false,
    });

    expect(valueIn(await client.restoreState(id, state))).toEqual(before);
    const mismatch = errorIn(await client.restoreState(unique("elsewhere"), state));
    expect(mismatch).toMatchObject({ status: 400, code: "invalid_request" });
  });

  it("pages through events and answers a redeliver of a skipped event with its typed 409", async () => {
    const id = unique("events");
    await client.upsertCustomer(id, {});
    for (let i = 0; i < 3; i++) await client.consume({ customer: id, entitlement: "tokens", amount: 1 });

    const first = valueIn(await client.listEvents(id, { limit: 2 }));
    expect(first.events.map((e) => [e.seq, e.type])).toEqual([
      [1, "customer.created"],
      [2, "meter.changed"],
    ]);
    expect(first.next).toBe(2);
    const rest = valueIn(await client.listEvents(id, { after: first.next ?? 0 }));
    expect(rest.events.map((e) => e.seq)).toEqual([3, 4]);
    expect(rest.next).toBeNull();
    expect(valueIn(await client.listEvents(id)).events).toHaveLength(4);

    // No WEBHOOK_URL in this project: every event is skipped, never delivered (SPEC §7).
    expect(rest.events[0]?.delivery.status).toBe("skipped");
    const refused = errorIn(await client.redeliverEvent(id, 3));
    expect(refused).toMatchObject({ status: 409, code: "event_not_redeliverable" });
    expect(errorIn(await client.redeliverEvent(id, 99))).toMatchObject({
      status: 404,
      code: "event_not_found",
    });
  });
});

describe("money", () => {
  it("tops up once per key, lists and revokes grants, reports margin", async () => {
    const id = unique("money");
    await client.upsertCustomer(id, {});
    const bought = await client.topup(id, { topup: "tokens100" });
    const { grant, customer } = valueIn(bought);
    expect(grant).toMatchObject({ topup: "tokens100", credit: "token", balance: 100, startingValue: 100 });
    expect(customer.balances).toEqual({ token: 100 });
    // The client made the purchase's key; the same key applies it once.
    expect(bought.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    const again = valueIn(
      await client.topup(id, { topup: "tokens100", idempotencyKey: bought.idempotencyKey }),
    );
    expect(again.grant.id).toBe(grant.id);
    expect(valueIn(await client.listGrants(id)).grants.map((g) => g.id)).toEqual([grant.id]);

    // Past the limit of 100 the grant covers the rest; margin prices the 20 units past the limit.
    const decision = valueIn(await client.consume({ customer: id, entitlement: "tokens", amount: 120 }));
    expect(decision).toMatchObject({
      allowed: true,
      reason: "grant_applied",
      grantApplied: 20,
      grantRemaining: 80,
    });
    const margin = valueIn(await client.margin(id));
    expect(margin.revenue).toBeCloseTo(0.2, 9);
    expect(margin.cost).toBeCloseTo(0.24, 9);
    expect(margin.entitlements.tokens).toMatchObject({ revenue: margin.revenue, cost: margin.cost });

    expect(valueIn(await client.revokeGrant(id, grant.id))).toEqual({ removed: "confirmed" });
    expect(valueIn(await client.listGrants(id)).grants).toEqual([]);
    expect(errorIn(await client.revokeGrant(id, grant.id))).toMatchObject({
      status: 404,
      code: "grant_not_found",
    });
    expect(errorIn(await client.topup(id, { topup: "nope" }))).toMatchObject({
      status: 400,
      code: "unknown_topup",
    });
  });
});

describe("metering", () => {
  it("check, consume, reserve, settle and release answer decisions; a denial is a value", async () => {
    const id = unique("meter");
    await client.upsertCustomer(id, {});

    const checked = valueIn(await client.check({ customer: id, entitlement: "tokens", amount: 10 }));
    expect(checked).toMatchObject({
      allowed: true,
      outcome: "allowed",
      used: 0,
      limit: 100,
      policyVersion: version,
    });

    const consumed = await client.consume({ customer: id, entitlement: "tokens", amount: 60 });
    expect(valueIn(consumed)).toMatchObject({
      allowed: true,
      reason: "within_limit",
      used: 60,
      remaining: 40,
    });
    expect(consumed.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);

    const held = valueIn(
      await client.reserve({ customer: id, entitlement: "tokens", amount: 30, ttl: "5m" }),
    );
    expect(held).toMatchObject({ allowed: true, held: 30, remaining: 10 });
    expect(held.holdId).toEqual(expect.any(String));

    // A denial is a decision (the API answers 200), not an error.
    const denied = await client.consume({ customer: id, entitlement: "tokens", amount: 11 });
    expect(denied.ok).toBe(true);
    expect(valueIn(denied)).toMatchObject({
      allowed: false,
      outcome: "denied",
      reason: "limit_exceeded",
      used: 60,
    });

    const settled = valueIn(await client.settle({ customer: id, holdId: held.holdId ?? "", amount: 25 }));
    expect(settled).toMatchObject({ allowed: true, used: 85, held: 0 });
    const released = valueIn(await client.release({ customer: id, entitlement: "tokens", amount: 5 }));
    expect(released).toMatchObject({ reason: "released", used: 80 });

    const unknown = valueIn(await client.check({ customer: unique("nobody"), entitlement: "tokens" }));
    expect(unknown).toMatchObject({ allowed: false, reason: "unknown_customer" });
  });

  it("a caller's idempotency key is sent as given and replays the first decision", async () => {
    const id = unique("keyed");
    await client.upsertCustomer(id, {});
    const body = { customer: id, entitlement: "tokens", amount: 3, idempotencyKey: `order-${id}` };
    const first = await client.consume(body);
    expect(first.idempotencyKey).toBe(`order-${id}`);
    expect(valueIn(first)).toMatchObject({ used: 3, replayed: false });
    expect(valueIn(await client.consume(body))).toMatchObject({ used: 3, replayed: true });

    const reused = errorIn(await client.consume({ ...body, amount: 4 }));
    expect(reused).toMatchObject({ status: 409, code: "idempotency_key_reused" });
    // check changes nothing and takes no key.
    expect((await client.check({ customer: id, entitlement: "tokens" })).idempotencyKey).toBeUndefined();
  });

  it("bad input is a typed 400; a wrong token a typed 401", async () => {
    const unknown = errorIn(await client.consume({ customer: "x", entitlement: "nope" }));
    expect(unknown).toMatchObject({ status: 400, code: "unknown_entitlement" });
    const amount = errorIn(await client.consume({ customer: "x", entitlement: "tokens", amount: -1 }));
    expect(amount).toMatchObject({ status: 400, code: "invalid_amount" });
    const id = unique("bad");
    await client.upsertCustomer(id, {});
    const settle = errorIn(await client.settle({ customer: id, holdId: "no-such-hold" }));
    expect(settle).toMatchObject({ status: 404, code: "hold_not_found" });

    const stranger = new TollgateClient({ baseUrl: `${GATE_URL}/`, token: "wrong", fetch: workerFetch });
    const refused = await stranger.getPolicy();
    expect(errorIn(refused)).toMatchObject({ status: 401, code: "unauthorized" });
    expect(refused.attempts).toBe(1);
  });
});

describe("read model", () => {
  it("lists customers by prefix, a page at a time, and sums their usage once the objects have projected", async () => {
    const prefix = unique("listed");
    const [ada, bob] = [`${prefix}_a`, `${prefix}_b`];
    valueIn(await client.upsertCustomer(ada, { label: "Ada", plan: "pro" }));
    valueIn(await client.upsertCustomer(bob, { label: "Bob" }));
    valueIn(await client.consume({ customer: ada, entitlement: "tokens", amount: 5 }));
    valueIn(await client.consume({ customer: ada, entitlement: "tokens", amount: 2 }));
    valueIn(await client.consume({ customer: bob, entitlement: "tokens", amount: 7 }));
    valueIn(await client.release({ customer: bob, entitlement: "tokens", amount: 3 }));
    for (const id of [ada, bob]) await runProjection(id);

    const first = valueIn(await client.listCustomers({ q: prefix, limit: 1 }));
    expect(first.customers).toEqual([
      expect.objectContaining({ id: ada, type: "user", plan: "pro", label: "Ada", org: null }),
    ]);
    expect(first.next).toEqual(expect.any(String));
    const second = valueIn(await client.listCustomers({ q: prefix, cursor: first.next ?? undefined }));
    expect(second.customers.map((c) => c.id)).toEqual([bob]);
    expect(second.next).toBeNull();
    expect(
      valueIn(await client.listCustomers({ q: prefix, plan: "pro" })).customers.map((c) => c.id),
    ).toEqual([ada]);

    const byCustomer = valueIn(
      await client.getUsage({
        entitlement: "tokens",
        groupBy: ["customer"],
        from: new Date(Date.now() - 3_600_000),
      }),
    );
    const ours = byCustomer.series.filter((point) => point.group.customer?.startsWith(prefix));
    expect(ours.map((point) => [point.group.customer, point.amount])).toEqual([
      [ada, 7],
      [bob, 4],
    ]);
    const daily = valueIn(
      await client.getUsage({ customer: ada, groupBy: ["entitlement", "day"], tz: "Europe/Berlin" }),
    );
    expect(daily.series).toEqual([
      expect.objectContaining({ group: { entitlement: "tokens" }, bucket: expect.any(String), amount: 7 }),
    ]);
    expect(daily.truncated).toBe(false);

    const bad = errorIn(await client.getUsage({ tz: "Mars/Olympus_Mons" }));
    expect(bad).toMatchObject({ status: 400, code: "invalid_request" });
    expect(bad.details?.issues).toEqual([expect.objectContaining({ path: "tz" })]);
  });
});

// Last in the file: the tests above sent every route of the API's own document through the client.
describe("coverage", () => {
  it("the client reached every /v1 route of /openapi.json", async () => {
    const document = (await call("GET", "/openapi.json")).json as { paths: Record<string, object> };
    const routes = Object.entries(document.paths)
      .filter(([path]) => path.startsWith("/v1/"))
      .flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      );
    expect(routes.length).toBeGreaterThanOrEqual(24); // policy 3, customers 14, metering 5, read model 2
    const missed = routes.filter((route) => {
      const pattern = new RegExp(`^${route.replace(/\{[^}]+\}/g, "[^/]+")}$`);
      return !seen.some((request) => pattern.test(request));
    });
    expect(missed).toEqual([]);
  });
});
