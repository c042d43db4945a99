import { env, evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { clearPolicyCache } from "../../src/policy/store";
import {
  agePeriod,
  allEvents,
  backdateHold,
  call,
  check,
  consume,
  customerStub,
  expectError,
  getCustomer,
  type Json,
  ok,
  putCustomer,
  putPolicy,
  release,
  reserve,
  settle,
  TEST_POLICY,
  unique,
} from "../support/api";

let version = "";
beforeAll(async () => {
  version = await putPolicy(TEST_POLICY);
});

/** View and events, to prove a replay changed nothing. */
async function state(id: string): Promise<Json> {
  return { view: await getCustomer(id), events: await allEvents(id) };
}

describe("idempotency (SPEC §3.6, §11)", () => {
  it("consume: a replay returns the first decision with replayed: true and changes nothing", async () => {
    const id = unique("idem");
    await putCustomer(id);
    const first = await consume({ customer: id, entitlement: "tokens", amount: 40, idempotencyKey: "k1" });
    expect(first).toMatchObject({ allowed: true, used: 40, replayed: false });
    const before = await state(id);
    const again = await consume({ customer: id, entitlement: "tokens", amount: 40, idempotencyKey: "k1" });
    expect(again).toEqual({ ...first, replayed: true });
    expect(await state(id)).toEqual(before);
  });

  it("release, reserve and settle replay too", async () => {
    const id = unique("ops");
    await putCustomer(id);
    await consume({ customer: id, entitlement: "tokens", amount: 100 });
    const rel = await release({ customer: id, entitlement: "tokens", amount: 30, idempotencyKey: "r" });
    expect(rel).toMatchObject({ reason: "released", used: 70 });
    const res = await reserve({ customer: id, entitlement: "tokens", amount: 50, idempotencyKey: "h" });
    expect(res).toMatchObject({ allowed: true, held: 50, holdId: expect.stringMatching(/^hold_/) });
    let before = await state(id);
    expect(await release({ customer: id, entitlement: "tokens", amount: 30, idempotencyKey: "r" })).toEqual({
      ...rel,
      replayed: true,
    });
    expect(await reserve({ customer: id, entitlement: "tokens", amount: 50, idempotencyKey: "h" })).toEqual({
      ...res,
      replayed: true,
    });
    expect(await state(id)).toEqual(before);

    const set = await settle({ customer: id, holdId: res.holdId, amount: 20, idempotencyKey: "s" });
    expect(set).toMatchObject({ reason: "within_limit", used: 90, held: 0 });
    before = await state(id);
    expect(await settle({ customer: id, holdId: res.holdId, amount: 20, idempotencyKey: "s" })).toEqual({
      ...set,
      replayed: true,
    });
    expect(await state(id)).toEqual(before);
    // The hold is gone: without the key, a second settle is not found.
    await expectError(404, "hold_not_found", "POST", "/v1/settle", {
      customer: id,
      holdId: res.holdId,
      amount: 20,
    });
  });

  it("a settle replayed with another amount is 409, even after its hold is gone", async () => {
    const id = unique("settle409");
    await putCustomer(id);
    const { holdId } = await reserve({ customer: id, entitlement: "tokens", amount: 50 });
    await settle({ customer: id, holdId, amount: 20, idempotencyKey: "s" });
    const before = await state(id);
    await expectError(409, "idempotency_key_reused", "POST", "/v1/settle", {
      customer: id,
      holdId,
      amount: 25,
      idempotencyKey: "s",
    });
    expect(await state(id)).toEqual(before);
  });

  it("a member of an org replays a settle of its own (not org-scoped) hold", async () => {
    const org = unique("org");
    const id = unique("member");
    await putCustomer(org, { type: "org" });
    await putCustomer(id, { org });
    const { holdId } = await reserve({ customer: id, entitlement: "tokens", amount: 10 });
    const first = await settle({ customer: id, holdId, amount: 7, idempotencyKey: "s1" });
    expect(first).toMatchObject({ used: 7, meteredOn: id });
    expect(await settle({ customer: id, holdId, amount: 7, idempotencyKey: "s1" })).toEqual({
      ...first,
      replayed: true,
    });
  });

  it("denials are stored and replayed, even once the amount would fit", async () => {
    const id = unique("deny");
    await putCustomer(id);
    await consume({ customer: id, entitlement: "tokens", amount: 450 });
    const denied = await consume({ customer: id, entitlement: "tokens", amount: 100, idempotencyKey: "d" });
    expect(denied).toMatchObject({ allowed: false, reason: "limit_exceeded" });
    await release({ customer: id, entitlement: "tokens", amount: 450 });
    const before = await state(id);
    expect(await consume({ customer: id, entitlement: "tokens", amount: 100, idempotencyKey: "d" })).toEqual({
      ...denied,
      replayed: true,
    });
    expect(await state(id)).toEqual(before);
    // Refusals before any meter replay too.
    const refused = await consume({ customer: id, entitlement: "soft_tokens", idempotencyKey: "n" });
    expect(refused).toMatchObject({ reason: "not_entitled", plan: "free" });
    await ok("PUT", `/v1/customers/${id}/plan`, { plan: "pro" });
    expect(await consume({ customer: id, entitlement: "soft_tokens", idempotencyKey: "n" })).toEqual({
      ...refused,
      replayed: true,
    });
  });

  it("same key, different body is 409 for every mutating op; nothing changes", async () => {
    const id = unique("reuse");
    await putCustomer(id);
    await consume({ customer: id, entitlement: "tokens", amount: 5, idempotencyKey: "k" });
    const before = await state(id);
    const bodies: [string, Json][] = [
      ["consume", { entitlement: "tokens", amount: 6 }],
      ["consume", { entitlement: "calls", amount: 5 }],
      ["release", { entitlement: "tokens", amount: 5 }],
      ["reserve", { entitlement: "tokens", amount: 5 }],
      ["settle", { holdId: "hold_x" }],
    ];
    for (const [op, body] of bodies) {
      await expectError(409, "idempotency_key_reused", "POST", `/v1/${op}`, {
        customer: id,
        ...body,
        idempotencyKey: "k",
      });
    }
    expect(await state(id)).toEqual(before);
  });

  it('"1GB" and 1000 in an MB credit are the same body; so are "10m" and 600 as ttl', async () => {
    const id = unique("units");
    await putCustomer(id);
    const first = await consume({
      customer: id,
      entitlement: "storage",
      amount: "0.5GB",
      idempotencyKey: "a",
    });
    expect(first).toMatchObject({ amount: 500, used: 500 });
    expect(
      await consume({ customer: id, entitlement: "storage", amount: 500, idempotencyKey: "a" }),
    ).toMatchObject({
      replayed: true,
      used: 500,
    });
    expect(
      await consume({ customer: id, entitlement: "storage", amount: "500 MB", idempotencyKey: "a" }),
    ).toMatchObject({ replayed: true });
    const hold = await reserve({
      customer: id,
      entitlement: "storage",
      amount: "1GB",
      ttl: "10m",
      idempotencyKey: "b",
    });
    expect(hold).toMatchObject({ allowed: false, reason: "limit_exceeded" });
    expect(
      await reserve({ customer: id, entitlement: "storage", amount: 1000, ttl: 600, idempotencyKey: "b" }),
    ).toMatchObject({ replayed: true });
    expect((await getCustomer(id)).meters.storage.used).toBe(500);
  });

  it("check ignores keys", async () => {
    const id = unique("check");
    await putCustomer(id);
    const a = await check({ customer: id, entitlement: "tokens", amount: 5, idempotencyKey: "c" });
    const b = await check({ customer: id, entitlement: "tokens", amount: 9, idempotencyKey: "c" });
    expect([a.replayed, b.replayed, b.amount]).toEqual([false, false, 9]);
    // The key is still free for a mutating call with yet another body.
    expect(
      await consume({ customer: id, entitlement: "tokens", amount: 11, idempotencyKey: "c" }),
    ).toMatchObject({
      replayed: false,
      used: 11,
    });
  });

  it("keys are per customer, and a key used through an alternate ID is the customer's", async () => {
    const a = unique("a");
    const b = unique("b");
    await putCustomer(a, { alternateIds: [`${a}@alt`] });
    await putCustomer(b);
    const da = await consume({ customer: a, entitlement: "tokens", amount: 3, idempotencyKey: "shared" });
    const db = await consume({ customer: b, entitlement: "tokens", amount: 3, idempotencyKey: "shared" });
    expect([da.replayed, db.replayed, db.used]).toEqual([false, false, 3]);
    expect(
      await consume({ customer: `${a}@alt`, entitlement: "tokens", amount: 3, idempotencyKey: "shared" }),
    ).toEqual({
      ...da,
      replayed: true,
    });
    expect((await getCustomer(a)).meters.tokens.used).toBe(3);
  });

  it("org-scoped calls replay, and the member's key cannot then be reused for another body", async () => {
    const org = unique("org");
    const u = unique("u");
    await putCustomer(org, { type: "org" });
    await putCustomer(u, { org });
    const seat = await consume({ customer: u, entitlement: "seats", idempotencyKey: "join" });
    expect(seat).toMatchObject({ allowed: true, meteredOn: org, used: 1 });
    expect(await consume({ customer: u, entitlement: "seats", idempotencyKey: "join" })).toEqual({
      ...seat,
      replayed: true,
    });
    await expectError(409, "idempotency_key_reused", "POST", "/v1/consume", {
      customer: u,
      entitlement: "tokens",
      idempotencyKey: "join",
    });
    // A settle of an org hold takes the member's key too.
    const hold = await reserve({ customer: u, entitlement: "seats" });
    const settled = await settle({
      customer: u,
      holdId: hold.holdId,
      amount: 1,
      idempotencyKey: "seat-settle",
    });
    expect(settled).toMatchObject({ used: 2, meteredOn: org });
    await expectError(409, "idempotency_key_reused", "POST", "/v1/consume", {
      customer: u,
      entitlement: "tokens",
      idempotencyKey: "seat-settle",
    });
    expect((await getCustomer(u)).meters.tokens.used).toBe(0);
    expect((await getCustomer(org)).meters.seats.used).toBe(2);
  });
});

describe("decisions through HTTP", () => {
  it("hard limits: reaching the limit exactly is allowed; a denial changes nothing and emits limit_reached", async () => {
    const id = unique("hard");
    await putCustomer(id);
    expect(await consume({ customer: id, entitlement: "calls", amount: 50 })).toMatchObject({
      allowed: true,
      used: 50,
      remaining: 0,
    });
    const before = await getCustomer(id);
    expect(await check({ customer: id, entitlement: "calls" })).toMatchObject({
      allowed: false,
      reason: "limit_exceeded",
    });
    const denied = await consume({ customer: id, entitlement: "calls" });
    expect(denied).toMatchObject({ allowed: false, outcome: "denied", used: 50, amount: 1 });
    const deniedHold = await reserve({ customer: id, entitlement: "calls" });
    expect(deniedHold).toMatchObject({ allowed: false, holdId: null });
    expect(await getCustomer(id)).toEqual(before);
    const types = (await allEvents(id)).map((e) => e.type);
    // check emits nothing; consume and reserve denials emit one meter.limit_reached each.
    expect(types.filter((t) => t === "meter.limit_reached")).toHaveLength(2);
    const reached = (await allEvents(id)).filter((e) => e.type === "meter.limit_reached");
    expect(reached[0]).toMatchObject({ customer: id, meteredOn: id, entitlement: "calls" });
    expect(reached.map((e) => e.data.operation)).toEqual(["consume", "reserve"]);
  });

  it("soft limits record overage; release floors at zero; feature flags", async () => {
    const id = unique("soft");
    await putCustomer(id, { plan: "pro" });
    expect(await consume({ customer: id, entitlement: "soft_tokens", amount: 150 })).toMatchObject({
      allowed: true,
      outcome: "overage",
      reason: "overage_recorded",
      used: 150,
      overage: 50,
      remaining: 0,
    });
    expect((await allEvents(id)).some((e) => e.type === "meter.overage")).toBe(true);
    expect(await release({ customer: id, entitlement: "tokens", amount: 5 })).toMatchObject({
      reason: "released",
      amount: 5,
      used: 0,
    });
    expect(await consume({ customer: id, entitlement: "export_pdf" })).toMatchObject({
      allowed: true,
      reason: "feature_enabled",
      limit: null,
      remaining: null,
      credit: null,
    });
    expect(await reserve({ customer: id, entitlement: "export_pdf" })).toMatchObject({
      reason: "feature_enabled",
      holdId: null,
    });
    expect(await release({ customer: id, entitlement: "export_pdf" })).toMatchObject({ reason: "released" });
    // A soft reserve past the limit answers overage; its settle past the limit is overage_recorded.
    const hold = await reserve({ customer: id, entitlement: "soft_tokens", amount: 10 });
    expect(hold).toMatchObject({ allowed: true, outcome: "overage", held: 10, overage: 50 });
    expect(await settle({ customer: id, holdId: hold.holdId, amount: 30 })).toMatchObject({
      outcome: "overage",
      reason: "overage_recorded",
      used: 180,
      overage: 80,
      held: 0,
    });
    // A hard meter settled past its limit records the usage too, as overage.
    const hard = await reserve({ customer: id, entitlement: "calls", amount: 50 });
    expect(await settle({ customer: id, holdId: hard.holdId, amount: 60 })).toMatchObject({
      outcome: "overage",
      reason: "overage_recorded",
      used: 60,
      overage: 10,
    });
  });
});

describe("lazy resets (SPEC §3.1, §11)", () => {
  it("a due reset is computed by reads, stored by the next recorded change with one meter.reset", async () => {
    const id = unique("roll");
    await putCustomer(id);
    const first = await consume({ customer: id, entitlement: "hourly", amount: 8 });
    expect(first).toMatchObject({ used: 8, resetsAt: expect.any(String) });
    await agePeriod(id, "hourly", 2.5 * 3600_000);
    // Reads see the new period and store nothing.
    expect((await getCustomer(id)).meters.hourly).toMatchObject({ used: 0, remaining: 10 });
    expect(await check({ customer: id, entitlement: "hourly", amount: 10 })).toMatchObject({
      allowed: true,
      used: 0,
    });
    // A denial changes nothing, so it does not emit the reset it did not store either.
    expect(await consume({ customer: id, entitlement: "hourly", amount: 11 })).toMatchObject({
      allowed: false,
      used: 0,
    });
    expect(await consume({ customer: id, entitlement: "hourly", amount: 3 })).toMatchObject({
      allowed: true,
      used: 3,
    });
    const events = await allEvents(id);
    const resets = events.filter((e) => e.type === "meter.reset");
    expect(resets).toHaveLength(1);
    expect(resets[0].data).toMatchObject({ reason: "period", previousUsed: 8 });
    // Whole steps from the (aged) anchor, no drift: 2.5 h after it, the period started 2 h after it.
    const agedStart = Date.parse(first.resetsAt) - 3600_000 - 2.5 * 3600_000;
    expect(Date.parse(resets[0].data.periodStart)).toBe(agedStart + 2 * 3600_000);
    expect(events.filter((e) => e.type === "meter.limit_reached")).toHaveLength(1);
  });
});

describe("holds expire by alarm (SPEC §3.5)", () => {
  it("after the ttl, the alarm frees the hold with hold.expired; a later settle records usage as hold_expired", async () => {
    const id = unique("exp");
    await putCustomer(id);
    const hold = await reserve({ customer: id, entitlement: "tokens", amount: 120, ttl: 1 });
    expect(hold).toMatchObject({ allowed: true, held: 120, remaining: 380 });
    // An alarm before the ttl expires nothing.
    await runDurableObjectAlarm(customerStub(id));
    expect((await getCustomer(id)).meters.tokens).toMatchObject({ held: 120 });

    const stored = await backdateHold(id, hold.holdId);
    expect(await runDurableObjectAlarm(customerStub(id))).toBe(true);
    expect((await getCustomer(id)).meters.tokens).toMatchObject({ used: 0, held: 0, remaining: 500 });
    const expired = (await allEvents(id)).filter((e) => e.type === "hold.expired");
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({
      customer: id,
      meteredOn: id,
      entitlement: "tokens",
      data: { holdId: hold.holdId, amount: 120, expiresAt: new Date(stored.expiresAt).toISOString() },
    });

    const late = await settle({ customer: id, holdId: hold.holdId, amount: 90 });
    expect(late).toMatchObject({
      allowed: true,
      reason: "hold_expired",
      used: 90,
      held: 0,
      holdId: hold.holdId,
    });
    await expectError(404, "hold_not_found", "POST", "/v1/settle", { customer: id, holdId: hold.holdId });
    expect((await allEvents(id)).filter((e) => e.type === "hold.expired")).toHaveLength(1);
  });

  it("a hold past its ttl but not yet reached by the alarm settles as hold_expired, with one hold.expired", async () => {
    const id = unique("exp2");
    await putCustomer(id);
    const hold = await reserve({ customer: id, entitlement: "tokens", amount: 10, ttl: "2s" });
    await backdateHold(id, hold.holdId);
    expect(await settle({ customer: id, holdId: hold.holdId })).toMatchObject({
      reason: "hold_expired",
      amount: 10,
      used: 10,
      held: 0,
    });
    await runDurableObjectAlarm(customerStub(id));
    expect((await allEvents(id)).filter((e) => e.type === "hold.expired")).toHaveLength(1);
    expect((await getCustomer(id)).meters.tokens).toMatchObject({ used: 10, held: 0 });
  });

  it("an org seat hold expires on the org, logged there for the member", async () => {
    const org = unique("org");
    const u = unique("u");
    await putCustomer(org, { type: "org" });
    await putCustomer(u, { org });
    const hold = await reserve({ customer: u, entitlement: "seats", ttl: "1s" });
    expect(hold).toMatchObject({ meteredOn: org, held: 1 });
    await backdateHold(org, hold.holdId);
    expect(await runDurableObjectAlarm(customerStub(org))).toBe(true);
    expect((await getCustomer(org)).meters.seats).toMatchObject({ held: 0, used: 0 });
    const event = (await allEvents(org)).find((e) => e.type === "hold.expired");
    expect(event).toMatchObject({ customer: u, meteredOn: org, data: { holdId: hold.holdId } });
    expect(await settle({ customer: u, holdId: hold.holdId })).toMatchObject({
      reason: "hold_expired",
      used: 1,
    });
  });
});

describe("state survives eviction (SPEC §8)", () => {
  it("meters, holds, keys and the event sequence survive evictDurableObject", async () => {
    const id = unique("evict");
    await putCustomer(id, { alternateIds: [`${id}@alt`] });
    await consume({ customer: id, entitlement: "tokens", amount: 123, idempotencyKey: "before" });
    const hold = await reserve({ customer: id, entitlement: "storage", amount: "64MB" });
    const before = await state(id);
    await evictDurableObject(customerStub(id));
    expect(await state(id)).toEqual(before);
    expect(
      await consume({ customer: id, entitlement: "tokens", amount: 123, idempotencyKey: "before" }),
    ).toMatchObject({
      replayed: true,
    });
    expect(await consume({ customer: `${id}@alt`, entitlement: "tokens", amount: 7 })).toMatchObject({
      used: 130,
    });
    expect(await settle({ customer: id, holdId: hold.holdId })).toMatchObject({ used: 64, held: 0 });
    await evictDurableObject(customerStub(id));
    const seqs = (await allEvents(id)).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  });
});

describe("org scope (SPEC §3.4, §11)", () => {
  it("a user without an org gets no_org with meteredOn null", async () => {
    const id = unique("loner");
    await putCustomer(id);
    for (const op of ["check", "consume", "reserve"]) {
      expect(await ok("POST", `/v1/${op}`, { customer: id, entitlement: "seats" })).toMatchObject({
        allowed: false,
        reason: "no_org",
        customer: id,
        meteredOn: null,
        plan: "free",
        used: null,
        limit: null,
      });
    }
  });

  it("the org itself meters an org-scoped entitlement on itself", async () => {
    const org = unique("org");
    await putCustomer(org, { type: "org" });
    expect(await consume({ customer: org, entitlement: "seats" })).toMatchObject({
      allowed: true,
      customer: org,
      meteredOn: org,
      used: 1,
      limit: 3,
    });
  });

  it("a plan change on the org takes effect on the members' next call, usage kept", async () => {
    const org = unique("org");
    await putCustomer(org, { type: "org" });
    const members = [unique("m"), unique("m"), unique("m"), unique("m")];
    const last = members[3] as string;
    for (const m of members) await putCustomer(m, { org });
    for (const m of members.slice(0, 3)) await consume({ customer: m, entitlement: "seats" });
    expect(await consume({ customer: last, entitlement: "seats" })).toMatchObject({
      allowed: false,
      plan: "free",
      limit: 3,
    });
    expect(await consume({ customer: last, entitlement: "tokens", amount: 501 })).toMatchObject({
      allowed: false,
    });
    await ok("PUT", `/v1/customers/${org}/plan`, { plan: "pro" });
    expect(await consume({ customer: last, entitlement: "seats" })).toMatchObject({
      allowed: true,
      plan: "pro",
      used: 4,
      limit: 10,
    });
    expect(await consume({ customer: last, entitlement: "tokens", amount: 501 })).toMatchObject({
      allowed: true,
      plan: "pro",
    });
    expect((await getCustomer(last)).effectivePlan).toBe("pro");
  });

  it("the member's own plan decides entitlement; the org's plan decides limit and plan", async () => {
    const org = unique("org");
    const u = unique("u");
    await putCustomer(org, { type: "org" });
    await putCustomer(u, { org, plan: "pro" });
    expect(await consume({ customer: u, entitlement: "seats" })).toMatchObject({
      allowed: true,
      plan: "free",
      limit: 3,
      meteredOn: org,
    });
  });

  it("not_entitled when the org's plan lacks the member's org-scoped entitlement", async () => {
    const org = unique("org");
    const u = unique("u");
    await putCustomer(org, { type: "org", plan: "solo" });
    await putCustomer(u, { org, plan: "free" });
    expect(await consume({ customer: u, entitlement: "seats", amount: 2 })).toMatchObject({
      allowed: false,
      reason: "not_entitled",
      plan: "solo",
      meteredOn: org,
      amount: 2,
      used: null,
      limit: null,
    });
    // The member's own plan must have it in the first place.
    await ok("PUT", `/v1/customers/${u}/plan`, { plan: "solo" });
    expect(await consume({ customer: u, entitlement: "seats" })).toMatchObject({
      reason: "not_entitled",
      plan: "solo",
      meteredOn: u,
    });
  });

  it("an org that is deleted: members get no_org and fall back to the default plan", async () => {
    const org = unique("org");
    const u = unique("u");
    await putCustomer(org, { type: "org", plan: "pro" });
    await putCustomer(u, { org });
    expect((await getCustomer(u)).effectivePlan).toBe("pro");
    await consume({ customer: u, entitlement: "seats" });
    await expectStatus204(`/v1/customers/${org}`);
    expect(await consume({ customer: u, entitlement: "seats" })).toMatchObject({
      allowed: false,
      reason: "no_org",
      meteredOn: null,
      plan: "free",
    });
    expect((await getCustomer(u)).effectivePlan).toBe("free");
    expect(await consume({ customer: u, entitlement: "tokens", amount: 501 })).toMatchObject({
      allowed: false,
      plan: "free",
      limit: 500,
    });
  });

  it("keepUsage: false resets every meter with one meter.reset each", async () => {
    const id = unique("reset");
    await putCustomer(id);
    await consume({ customer: id, entitlement: "tokens", amount: 100 });
    await consume({ customer: id, entitlement: "storage", amount: "20MB" });
    const hold = await reserve({ customer: id, entitlement: "calls", amount: 5 });
    const seqBefore = (await allEvents(id)).length;
    const view = await ok("PUT", `/v1/customers/${id}/plan`, { plan: "pro", keepUsage: false });
    expect(view.meters.tokens).toMatchObject({ used: 0, limit: 100000 });
    expect(view.meters.storage).toMatchObject({ used: 0 });
    // Holds are kept.
    expect(view.meters.calls).toMatchObject({ used: 0, held: 5 });
    const added = (await allEvents(id)).slice(seqBefore);
    const resets = added.filter((e) => e.type === "meter.reset");
    expect(resets.map((e) => e.entitlement).sort()).toEqual(["calls", "storage", "tokens"]);
    expect(added.filter((e) => e.type === "customer.plan_changed")).toHaveLength(1);
    expect(await settle({ customer: id, holdId: hold.holdId })).toMatchObject({ used: 5 });
    // keepUsage defaults to true.
    await ok("PUT", `/v1/customers/${id}/plan`, { plan: "free" });
    expect((await getCustomer(id)).meters.calls).toMatchObject({ used: 5 });
  });
});

describe("events (SPEC §4, §11)", () => {
  it("seq is gap-free; pages follow after/limit/next", async () => {
    const id = unique("ev");
    await putCustomer(id);
    for (let i = 0; i < 6; i++) await consume({ customer: id, entitlement: "tokens", amount: 1 });
    const all = await allEvents(id);
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    for (const e of all) {
      expect(e.id).toMatch(/^evt_[0-9a-f]+$/);
      expect(new Date(e.at).toISOString()).toBe(e.at);
    }
    expect(all[0]).toMatchObject({ type: "customer.created", customer: id, meteredOn: id });
    const paged: Json[] = [];
    let after = 0;
    for (;;) {
      const page = await ok("GET", `/v1/customers/${id}/events?after=${after}&limit=2`);
      expect(page.events.length).toBeLessThanOrEqual(2);
      paged.push(...page.events);
      if (page.next === null) break;
      expect(page.next).toBe(page.events.at(-1).seq);
      after = page.next;
    }
    expect(paged).toEqual(all);
    expect(await ok("GET", `/v1/customers/${id}/events?after=${all.length}`)).toEqual({
      events: [],
      next: null,
    });
  });

  it("limit defaults to 100", async () => {
    const id = unique("many");
    await putCustomer(id);
    await Promise.all(
      Array.from({ length: 110 }, () => consume({ customer: id, entitlement: "tokens", amount: 1 })),
    );
    const page = await ok("GET", `/v1/customers/${id}/events`);
    expect(page.events).toHaveLength(100);
    expect(page.next).toBe(100);
  });

  it("org-scoped changes go to the org's log with customer = the user and meteredOn = the org", async () => {
    const org = unique("org");
    const u = unique("u");
    await putCustomer(org, { type: "org" });
    await putCustomer(u, { org, alternateIds: [`${u}@alt`] });
    await consume({ customer: `${u}@alt`, entitlement: "seats" });
    await release({ customer: u, entitlement: "seats" });
    const orgEvents = (await allEvents(org)).filter((e) => e.type === "meter.changed");
    expect(orgEvents).toHaveLength(2);
    for (const e of orgEvents) expect(e).toMatchObject({ customer: u, meteredOn: org, entitlement: "seats" });
    expect((await allEvents(u)).filter((e) => e.type.startsWith("meter."))).toEqual([]);
  });

  it("customer.updated and customer.plan_changed follow record changes", async () => {
    const id = unique("rec");
    await putCustomer(id);
    await putCustomer(id, { label: "Renamed" });
    await putCustomer(id, { plan: "pro" });
    const types = (await allEvents(id)).map((e) => e.type);
    expect(types).toEqual([
      "customer.created",
      "customer.updated",
      "customer.updated",
      "customer.plan_changed",
    ]);
  });
});

describe("policies in KV (SPEC §5.1)", () => {
  // These change the active policy: they run last in this file and put the shared policy back.
  it("a policy swap changes the very next decision", async () => {
    const id = unique("swap");
    await putCustomer(id);
    expect(await consume({ customer: id, entitlement: "tokens", amount: 400 })).toMatchObject({
      allowed: true,
    });
    const smaller = await putPolicy(TEST_POLICY.replace("value: 500", "value: 300"));
    const d = await consume({ customer: id, entitlement: "tokens", amount: 1 });
    expect(d).toMatchObject({ allowed: false, limit: 300, used: 400, policyVersion: smaller });
    expect(await putPolicy(TEST_POLICY)).toBe(version);
    expect(await consume({ customer: id, entitlement: "tokens", amount: 1 })).toMatchObject({
      allowed: true,
      limit: 500,
      policyVersion: version,
    });
  });

  it("an invalid policy is rejected with paths and the old one stays in force", async () => {
    const id = unique("keep");
    await putCustomer(id);
    const bad = TEST_POLICY.replace("credit: mb, value: 1GB", "credit: nope, value: 1GB");
    const error = await expectError(400, "invalid_policy", "PUT", "/v1/policy", bad, {
      "Content-Type": "application/yaml",
    });
    expect(error.details.issues).toEqual([
      { path: "plans.free.entitlements.storage.limit.credit", message: expect.any(String) },
    ]);
    expect(await consume({ customer: id, entitlement: "storage", amount: "1GB" })).toMatchObject({
      allowed: true,
      policyVersion: version,
    });
  });

  it("a document written straight to KV is used when valid, never when invalid", async () => {
    const id = unique("kv");
    await putCustomer(id);
    // A valid document put by a tool reaches the next decision.
    const doc = {
      credits: { token: { label: "Token" } },
      plans: { free: { default: true, entitlements: { tokens: { limit: { credit: "token", value: 7 } } } } },
    };
    const { version: v2 } = await ok("POST", "/v1/policy/validate", doc);
    const at = new Date().toISOString();
    await env.POLICIES.put(`policy:${v2}`, JSON.stringify({ version: v2, updatedAt: at, document: doc }));
    await env.POLICIES.put("policy:active", JSON.stringify({ version: v2, updatedAt: at }));
    expect(await check({ customer: id, entitlement: "tokens", amount: 8 })).toMatchObject({
      allowed: false,
      limit: 7,
      policyVersion: v2,
    });

    // Invalid: a document that does not validate, one whose content is not its version, a missing one, and a
    // pointer that is not JSON. Each time the last valid policy (v2) stays in force.
    const invalid = {
      ...doc,
      plans: { free: { default: true, entitlements: { tokens: { limit: { credit: "nope", value: 1 } } } } },
    };
    const forged = {
      ...doc,
      plans: {
        free: { default: true, entitlements: { tokens: { limit: { credit: "token", value: 1e9 } } } },
      },
    };
    const attempts: [string, string | null][] = [
      ["badbadbadbadbad0", JSON.stringify({ version: "badbadbadbadbad0", updatedAt: at, document: invalid })],
      [
        v2.replace(/.$/, (c: string) => (c === "0" ? "1" : "0")),
        JSON.stringify({ version: "x", updatedAt: at, document: forged }),
      ],
      ["0000000000000000", null],
    ];
    for (const [v, body] of attempts) {
      if (body !== null) await env.POLICIES.put(`policy:${v}`, body);
      await env.POLICIES.put("policy:active", JSON.stringify({ version: v, updatedAt: at }));
      expect(await check({ customer: id, entitlement: "tokens", amount: 8 })).toMatchObject({
        limit: 7,
        policyVersion: v2,
      });
      expect((await ok("GET", "/v1/policy")).version).toBe(v2);
    }
    await env.POLICIES.put("policy:active", "not json {");
    expect(await check({ customer: id, entitlement: "tokens", amount: 8 })).toMatchObject({
      limit: 7,
      policyVersion: v2,
    });

    expect(await putPolicy(TEST_POLICY)).toBe(version);
    expect(await check({ customer: id, entitlement: "tokens", amount: 8 })).toMatchObject({ limit: 500 });
  });

  it("plan_not_found once the policy drops a customer's plan", async () => {
    const id = unique("orphan");
    await putCustomer(id, { plan: "pro" });
    const without = await putPolicy(TEST_POLICY.slice(0, TEST_POLICY.indexOf("  pro:")));
    expect(await consume({ customer: id, entitlement: "tokens" })).toMatchObject({
      allowed: false,
      reason: "plan_not_found",
      plan: "pro",
      meteredOn: id,
      used: null,
      limit: null,
      policyVersion: without,
    });
    expect((await getCustomer(id)).effectivePlan).toBe("pro");
    expect(await putPolicy(TEST_POLICY)).toBe(version);
  });

  it("a fresh isolate finding a broken pointer keeps the last valid policy too; a PUT repairs the pointer", async () => {
    const id = unique("fresh");
    await putCustomer(id);
    await env.POLICIES.put("policy:active", JSON.stringify({ version: "ffffffffffffffff", updatedAt: "x" }));
    // What an isolate that never saw the good policy finds: only KV.
    clearPolicyCache();
    expect(await check({ customer: id, entitlement: "tokens" })).toMatchObject({
      limit: 500,
      policyVersion: version,
    });
    expect((await ok("GET", "/v1/policy")).version).toBe(version);
    // Putting the policy in force again writes the pointer back, though the version is unchanged.
    expect(await putPolicy(TEST_POLICY)).toBe(version);
    expect(await env.POLICIES.get("policy:active", "json")).toMatchObject({ version });
  });
});

async function expectStatus204(path: string): Promise<void> {
  const res = await call("DELETE", path);
  expect(res.status).toBe(204);
}
