import { beforeAll, describe, expect, it } from "vitest";
import {
  call,
  consume,
  getCustomer,
  type Json,
  ok,
  putCustomer,
  putPolicy,
  reserve,
  TEST_POLICY,
  unique,
} from "../support/api";

// SPEC §8: N simultaneous calls against one meter admit exactly what fits.
beforeAll(async () => {
  await putPolicy(TEST_POLICY);
});

describe("exact under concurrency", () => {
  it("200 concurrent consumes on one meter admit exactly the limit", async () => {
    const id = unique("racer");
    await putCustomer(id);
    const decisions: Json[] = await Promise.all(
      Array.from({ length: 200 }, () => consume({ customer: id, entitlement: "calls", amount: 1 })),
    );
    const allowed = decisions.filter((d) => d.allowed);
    expect(allowed).toHaveLength(50);
    expect(decisions.filter((d) => !d.allowed).every((d) => d.reason === "limit_exceeded")).toBe(true);
    // Every admitted call saw a distinct `used` from 1 to 50: no two were decided on the same state.
    expect(allowed.map((d) => d.used).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const view = await getCustomer(id);
    expect(view.meters.calls).toMatchObject({ used: 50, held: 0, remaining: 0, limit: 50 });
  });

  it("concurrent consumes of different sizes: used is the sum of the admitted amounts", async () => {
    const id = unique("sizes");
    await putCustomer(id);
    const amounts = Array.from({ length: 60 }, (_, i) => (i % 7) + 1);
    const decisions: Json[] = await Promise.all(
      amounts.map((amount) => consume({ customer: id, entitlement: "tokens", amount })),
    );
    const admitted = decisions.filter((d) => d.allowed).reduce((sum, d) => sum + d.amount, 0);
    expect(admitted).toBeLessThanOrEqual(500);
    expect((await getCustomer(id)).meters.tokens.used).toBe(admitted);
  });

  it("50 users of one org race for 10 seats: exactly 10 admitted, through ids and alternate IDs", async () => {
    const org = unique("org");
    await putCustomer(org, { type: "org", plan: "pro" });
    const users = Array.from({ length: 50 }, (_, i) => `${org}_u${i}`);
    await Promise.all(
      users.map((u, i) =>
        putCustomer(u, { org, ...(i % 2 === 0 ? { alternateIds: [`${u}@mail.test`] } : {}) }),
      ),
    );
    // Half the callers present an alternate ID, half the canonical id.
    const decisions: Json[] = await Promise.all(
      users.map((u, i) => consume({ customer: i % 2 === 0 ? `${u}@mail.test` : u, entitlement: "seats" })),
    );
    const allowed = decisions.filter((d) => d.allowed);
    expect(allowed).toHaveLength(10);
    for (const d of decisions) {
      expect(d.meteredOn).toBe(org);
      expect(users).toContain(d.customer);
      if (!d.allowed) expect(d.reason).toBe("limit_exceeded");
    }
    expect(new Set(allowed.map((d) => d.used))).toEqual(new Set(Array.from({ length: 10 }, (_, i) => i + 1)));
    const view = await getCustomer(org);
    expect(view.meters.seats).toMatchObject({ used: 10, limit: 10, remaining: 0 });
  });

  it("concurrent reserves and consumes share one limit: used + held never passes it", async () => {
    const id = unique("mixed");
    await putCustomer(id);
    const decisions: Json[] = await Promise.all(
      Array.from({ length: 80 }, (_, i) =>
        i % 2 === 0
          ? consume({ customer: id, entitlement: "calls", amount: 1 })
          : reserve({ customer: id, entitlement: "calls", amount: 1 }),
      ),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(50);
    const meter = (await getCustomer(id)).meters.calls;
    expect(meter.used + meter.held).toBe(50);
    expect(meter.held).toBe(decisions.filter((d) => d.allowed && d.holdId !== null).length);
  });

  it("the same idempotency key sent 20 times at once is applied once", async () => {
    const id = unique("idem");
    await putCustomer(id);
    const decisions: Json[] = await Promise.all(
      Array.from({ length: 20 }, () =>
        consume({ customer: id, entitlement: "tokens", amount: 7, idempotencyKey: "same-key" }),
      ),
    );
    expect(decisions.every((d) => d.allowed && d.used === 7)).toBe(true);
    expect(decisions.filter((d) => !d.replayed)).toHaveLength(1);
    expect((await getCustomer(id)).meters.tokens.used).toBe(7);
  });

  it("10 customers racing for one alternate ID: exactly one gets it", async () => {
    const alt = unique("contested");
    const ids = Array.from({ length: 10 }, () => unique("claimer"));
    await Promise.all(ids.map((id) => putCustomer(id)));
    const results = await Promise.all(
      ids.map((id) => call("POST", `/v1/customers/${id}/alternate-ids`, { alternateId: alt })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(
      results.filter((r) => r.status === 409).every((r) => r.json.error.code === "alternate_id_taken"),
    ).toBe(true);
    const winner = ids[results.findIndex((r) => r.status === 200)];
    expect((await getCustomer(alt)).id).toBe(winner);
    const holders = await Promise.all(
      ids.map(async (id) => (await getCustomer(id)).alternateIds.includes(alt)),
    );
    expect(holders.filter(Boolean)).toHaveLength(1);
  });

  it("racing PUTs of one customer's alternate IDs leave no ID stuck: what the record lacks is free", async () => {
    const id = unique("flip");
    await putCustomer(id);
    const lists = Array.from({ length: 6 }, (_, i) => [`${id}-x${i}`, `${id}-shared`]);
    await Promise.all(lists.map((alternateIds) => call("PUT", `/v1/customers/${id}`, { alternateIds })));
    const final = (await getCustomer(id)).alternateIds as string[];
    expect(lists.map((l) => JSON.stringify(l))).toContain(JSON.stringify(final));
    for (const alt of final) expect((await getCustomer(alt)).id).toBe(id);
    const other = unique("other");
    await putCustomer(other);
    for (const alt of lists.flat().filter((a) => !final.includes(a))) {
      const res = await call("POST", `/v1/customers/${other}/alternate-ids`, { alternateId: alt });
      expect(res.status, `${alt}: ${JSON.stringify(res.json)}`).toBe(200);
    }
  });

  it("consumes racing a delete: each is a decision (allowed or unknown_customer), never an error", async () => {
    const id = unique("doomed");
    await putCustomer(id, { alternateIds: [`${id}-alt`] });
    const results = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) =>
        call("POST", "/v1/consume", { customer: i % 2 ? id : `${id}-alt`, entitlement: "tokens" }),
      ),
      call("DELETE", `/v1/customers/${id}`),
      ...Array.from({ length: 30 }, () =>
        call("POST", "/v1/consume", { customer: id, entitlement: "tokens" }),
      ),
    ]);
    const deleted = results.splice(30, 1)[0];
    expect(deleted?.status).toBe(204);
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(["within_limit", "unknown_customer"]).toContain(r.json.reason);
    }
    expect(await consume({ customer: id, entitlement: "tokens" })).toMatchObject({
      reason: "unknown_customer",
    });
  });

  it("the same key from 10 org members at once: each member's key is its own, applied once each", async () => {
    const org = unique("korg");
    await putCustomer(org, { type: "org", plan: "pro" });
    const users = Array.from({ length: 5 }, (_, i) => `${org}_m${i}`);
    await Promise.all(users.map((u) => putCustomer(u, { org })));
    const decisions: Json[] = await Promise.all(
      [...users, ...users].map((u) => consume({ customer: u, entitlement: "seats", idempotencyKey: "join" })),
    );
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(decisions.filter((d) => !d.replayed)).toHaveLength(5);
    expect((await ok("GET", `/v1/customers/${org}`)).meters.seats.used).toBe(5);
  });
});
