/**
 * SPEC §11 "Bounds": 100 alternate IDs, 1,000 live holds (`too_many_holds`), a reserve's amount > 0, idempotency
 * keys pruned by the alarm and capped, strict `after`/`limit`, and an export at the bounds that restores.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  call,
  consume,
  customerStub,
  expectError,
  getCustomer,
  type Json,
  ok,
  putCustomer,
  putPolicy,
  reserve,
  settle,
  unique,
  withStore,
} from "../support/api";

// 256 UTF-16 units of 3-byte UTF-8 characters: the largest identifier, as bytes go.
const wide = (suffix: string) => "€".repeat(256 - suffix.length) + suffix;
// Holds name their entitlement and member: ordinary 64-character names keep 1,000 of them well inside the 1 MiB
// a restore takes (SPEC §11 "HTTP"); only the 100 alternate IDs are of the widest kind.
const named = (suffix: string) => "n".repeat(64 - suffix.length) + suffix;
const WIDE_ENTITLEMENT = named("e");

const POLICY = `
credits:
  token: { label: Token }
plans:
  free:
    default: true
    entitlements:
      flag: {}
      tokens:
        limit: { credit: token, value: 1000000 }
      "${WIDE_ENTITLEMENT}":
        scope: org
        limit: { credit: token, value: 1000000 }
`;

beforeAll(async () => {
  await putPolicy(POLICY);
});

const path = (id: string) => `/v1/customers/${encodeURIComponent(id)}`;

/** `n` reserves of 1 by `customer`, 50 at a time; answers the decisions. */
async function reserveMany(customer: string, entitlement: string, n: number): Promise<Json[]> {
  const decisions: Json[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, () =>
      reserve({ customer, entitlement, amount: 1, ttl: "1h" }),
    );
    decisions.push(...(await Promise.all(batch)));
  }
  return decisions;
}

describe("alternate IDs: at most 100 per customer", () => {
  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

  it("a list of 101 is 409 too_many_alternate_ids on PUT, and nothing changes", async () => {
    const id = unique("alts");
    await putCustomer(id, { alternateIds: ids(id, 100) });
    const before = await getCustomer(id);
    const error = await expectError(409, "too_many_alternate_ids", "PUT", path(id), {
      alternateIds: ids(id, 101),
    });
    expect(error.details).toEqual({ limit: 100, requested: 101 });
    expect(await getCustomer(id)).toEqual(before);
    await expectError(404, "customer_not_found", "GET", path(`${id}-100`));
    // A new customer is refused the same way, and not created.
    const fresh = unique("fresh");
    await expectError(409, "too_many_alternate_ids", "PUT", path(fresh), { alternateIds: ids(fresh, 101) });
    await expectError(404, "customer_not_found", "GET", path(fresh));
    // Duplicates count once.
    const dup = await putCustomer(unique("dup"), { alternateIds: [...ids(`${id}-d`, 100), `${id}-d-0`] });
    expect(dup.alternateIds).toHaveLength(100);
  });

  it("the 101st added one at a time is 409; a removal makes room again", async () => {
    const id = unique("adds");
    await putCustomer(id, { alternateIds: ids(id, 99) });
    await ok("POST", `${path(id)}/alternate-ids`, { alternateId: `${id}-99` });
    await expectError(409, "too_many_alternate_ids", "POST", `${path(id)}/alternate-ids`, {
      alternateId: `${id}-100`,
    });
    await expectError(404, "customer_not_found", "GET", path(`${id}-100`));
    await ok("DELETE", `${path(id)}/alternate-ids/${id}-0`);
    const view = await ok("POST", `${path(id)}/alternate-ids`, { alternateId: `${id}-100` });
    expect(view.alternateIds).toHaveLength(100);
  });

  it("concurrent adds past the bound: exactly up to 100 succeed", async () => {
    const id = unique("race");
    await putCustomer(id, { alternateIds: ids(id, 90) });
    const results = await Promise.all(
      ids(`${id}-x`, 20).map((alternateId) => call("POST", `${path(id)}/alternate-ids`, { alternateId })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    for (const r of results.filter((r) => r.status !== 200)) {
      expect(r.json.error.code).toBe("too_many_alternate_ids");
    }
    expect((await getCustomer(id)).alternateIds).toHaveLength(100);
  });
});

describe("a reserve's amount is > 0", () => {
  it("0, -0 and a zero string are 400 invalid_amount, and no hold is made", async () => {
    const id = unique("zero");
    await putCustomer(id);
    for (const amount of [0, -0, "0", "0 tokens", "0e5"]) {
      await expectError(400, "invalid_amount", "POST", "/v1/reserve", {
        customer: id,
        entitlement: "tokens",
        amount,
      });
    }
    await expectError(400, "invalid_amount", "POST", "/v1/reserve", {
      customer: id,
      entitlement: "flag",
      amount: 0,
    });
    expect((await getCustomer(id)).meters.tokens).toMatchObject({ used: 0, held: 0 });
    expect(await withStore(id, (store) => store.holds.size)).toBe(0);
    // Settling 0 (a cancel) and consuming 0 stay valid.
    const { holdId } = await reserve({ customer: id, entitlement: "tokens", amount: 2 });
    expect(await settle({ customer: id, holdId, amount: 0 })).toMatchObject({ reason: "released", held: 0 });
    expect(await consume({ customer: id, entitlement: "tokens", amount: 0 })).toMatchObject({
      allowed: true,
    });
  });
});

describe("idempotency keys: pruned by the alarm after 24 h, at most 10,000 per object", () => {
  it("a key stored by a customer with no holds arms the alarm, which prunes it once it is 24 h old", async () => {
    const id = unique("keys");
    await putCustomer(id);
    await consume({ customer: id, entitlement: "tokens", amount: 1, idempotencyKey: "k1" });
    await consume({ customer: id, entitlement: "tokens", amount: 1, idempotencyKey: "k2" });
    const alarm = await runInDurableObject(customerStub(id), (_, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    const count = (store: Json) =>
      store.storage.sql.exec("SELECT COUNT(*) AS n FROM idempotency").one().n as number;
    await withStore(id, (store) => {
      expect(count(store)).toBe(2);
      store.storage.sql.exec(
        "UPDATE idempotency SET created_at = ? WHERE key = 'k1'",
        Date.now() - 25 * 60 * 60 * 1000,
      );
    });
    expect(await runDurableObjectAlarm(customerStub(id))).toBe(true);
    expect(await withStore(id, (store) => count(store))).toBe(1);
    // The younger key still replays, and the alarm stays armed for it.
    expect(
      await consume({ customer: id, entitlement: "tokens", amount: 1, idempotencyKey: "k2" }),
    ).toMatchObject({ replayed: true, used: 2 });
    expect(await runInDurableObject(customerStub(id), (_, state) => state.storage.getAlarm())).not.toBeNull();
  });

  it("past 10,000 keys the oldest go first", async () => {
    const id = unique("cap");
    await putCustomer(id);
    const rows = await withStore(id, (store) => {
      const start = Date.now() - 60_000;
      for (let i = 0; i < 10_005; i++) {
        store.transaction(() => store.putIdempotency(id, `key-${i}`, "[]", "{}", start + i));
      }
      return store.storage.sql
        .exec("SELECT key FROM idempotency ORDER BY created_at")
        .toArray()
        .map((r: Json) => r.key);
    });
    expect(rows).toHaveLength(10_000);
    expect(rows[0]).toBe("key-5");
    expect(rows.at(-1)).toBe("key-10004");
  });
});

describe("query parameters after and limit are ASCII decimal integers", () => {
  it("hex, spaces, exponents, signs, fractions, other digits and empty values are 400", async () => {
    const id = unique("query");
    await putCustomer(id);
    const bad = [
      "after=0x10",
      "limit=0x10",
      "limit=%201",
      "limit=1%20",
      "after=1e2",
      "limit=1e2",
      "after=-1",
      "after=%2B1",
      "limit=1.0",
      "after=",
      "limit=",
      "limit=%EF%BC%91",
      "after=99999999999999999999",
      "limit=0",
      "limit=1001",
    ];
    for (const query of bad) {
      const error = await expectError(400, "invalid_request", "GET", `${path(id)}/events?${query}`);
      expect(error.details.issues[0].path).toBe(query.split("=")[0]);
    }
    expect((await ok("GET", `${path(id)}/events?after=0&limit=007`)).events).toHaveLength(1);
    expect((await ok("GET", `${path(id)}/events?after=1`)).events).toEqual([]);
  });
});

describe("1,000 live holds per object, and an export at every bound restores", () => {
  const org = wide("O");
  const member = named("M");
  const alternateIds = Array.from({ length: 100 }, (_, i) => wide(`-${i}`));
  let holds: Json[] = [];

  beforeAll(async () => {
    // 100 such IDs (77 KB) do not fit one 64 KiB upsert: they are added one at a time.
    await putCustomer(org, { type: "org", metadata: { note: "€".repeat(10_000) } });
    for (const alternateId of alternateIds) {
      await ok("POST", `${path(org)}/alternate-ids`, { alternateId });
    }
    await putCustomer(member, { org });
    holds = await reserveMany(member, WIDE_ENTITLEMENT, 1000);
  }, 120_000);

  it("the 1,001st reserve is a denial with reason too_many_holds, replayed by its key; a settle frees a place", async () => {
    expect(holds.every((d) => d.allowed && d.meteredOn === org)).toBe(true);
    const body = { customer: member, entitlement: WIDE_ENTITLEMENT, amount: 1, idempotencyKey: "over" };
    const denied = await reserve(body);
    expect(denied).toMatchObject({
      allowed: false,
      outcome: "denied",
      reason: "too_many_holds",
      meteredOn: org,
      holdId: null,
      used: 0,
      held: 1000,
      remaining: 1000000 - 1000,
    });
    expect(await reserve(body)).toEqual({ ...denied, replayed: true });
    // Denied on the org's object, so the org's own reserve is refused too; its own meters are not org-scoped.
    expect(await reserve({ customer: org, entitlement: WIDE_ENTITLEMENT, amount: 1 })).toMatchObject({
      reason: "too_many_holds",
    });
    // A customer with its own object is unaffected.
    const other = unique("other");
    await putCustomer(other);
    expect(await reserve({ customer: other, entitlement: "tokens", amount: 1 })).toMatchObject({
      allowed: true,
    });
    // Settling one frees a place for exactly one more.
    await settle({ customer: member, holdId: holds[0].holdId, amount: 1 });
    const again = await reserve({ customer: member, entitlement: WIDE_ENTITLEMENT, amount: 1 });
    expect(again).toMatchObject({ allowed: true, held: 1000, used: 1 });
    holds[0] = again;
    expect(await reserve({ customer: member, entitlement: WIDE_ENTITLEMENT, amount: 1 })).toMatchObject({
      reason: "too_many_holds",
    });
  });

  it("GET …/state of 1,000 holds and 100 of the widest alternate IDs is accepted by PUT …/state", async () => {
    const res = await call("GET", `${path(org)}/state`);
    expect(res.status).toBe(200);
    const state = res.json;
    expect(state.holds).toHaveLength(1000);
    expect(state.customer.alternateIds).toHaveLength(100);
    const bytes = new TextEncoder().encode(JSON.stringify(state)).length;
    expect(bytes).toBeGreaterThan(256 * 1024);
    expect(bytes).toBeLessThan(1024 * 1024);
    const view = await getCustomer(org);
    expect(await ok("PUT", `${path(org)}/state`, state)).toEqual(view);
    expect(await ok("GET", `${path(org)}/state`)).toEqual(state);
    // And after a delete, the same document brings it all back.
    await expectError(409, "alternate_id_taken", "PUT", path(unique("thief")), {
      alternateIds: [alternateIds[7]],
    });
    expect((await call("DELETE", path(org))).status).toBe(204);
    expect(await ok("PUT", `${path(org)}/state`, state)).toEqual(view);
    expect((await getCustomer(alternateIds[99] ?? "")).id).toBe(org);
    expect(await settle({ customer: member, holdId: holds[500].holdId, amount: 1 })).toMatchObject({
      meteredOn: org,
      held: 999,
    });
  });
});
