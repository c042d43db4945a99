import { env, evictDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  allEvents,
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
  TEST_POLICY,
  unique,
} from "../support/api";

beforeAll(async () => {
  await putPolicy(TEST_POLICY);
});

const del = (path: string) => call("DELETE", path);
const alternateIdStub = (alt: string) => env.ALTERNATE_IDS.get(env.ALTERNATE_IDS.idFromName(alt));

describe("customer records (SPEC §5.2, §11)", () => {
  it("creates with defaults and lists the plan's meters; an org lists its org-scoped ones", async () => {
    const id = unique("new");
    const view = await putCustomer(id);
    expect(view).toMatchObject({
      id,
      type: "user",
      plan: null,
      org: null,
      label: null,
      metadata: null,
      alternateIds: [],
      effectivePlan: "free",
    });
    expect(view.createdAt).toBe(view.updatedAt);
    expect(Object.keys(view.meters).sort()).toEqual(["calls", "hourly", "storage", "tokens"]);
    expect(view.meters.storage).toEqual({
      credit: "mb",
      unit: "MB",
      mode: "hard",
      used: 0,
      held: 0,
      limit: 1000,
      remaining: 1000,
      overage: 0,
      periodStart: null,
      resetsAt: null,
    });
    const org = await putCustomer(unique("org"), { type: "org" });
    expect(Object.keys(org.meters).sort()).toEqual(["calls", "hourly", "seats", "storage", "tokens"]);
  });

  it("is a merging upsert: absent fields kept, null clears, alternateIds replaces the list", async () => {
    const org = unique("org");
    await putCustomer(org, { type: "org" });
    const id = unique("merge");
    const first = await putCustomer(id, {
      plan: "pro",
      org,
      label: "Ada",
      metadata: { tier: 1 },
      alternateIds: [`${id}-a`, `${id}-b`],
    });
    const kept = await putCustomer(id, { label: "Ada L." });
    expect(kept).toMatchObject({ plan: "pro", org, label: "Ada L.", metadata: { tier: 1 } });
    expect(kept.alternateIds).toEqual([`${id}-a`, `${id}-b`]);
    expect(kept.createdAt).toBe(first.createdAt);
    const cleared = await putCustomer(id, {
      plan: null,
      org: null,
      label: null,
      metadata: null,
      alternateIds: [`${id}-b`],
    });
    expect(cleared).toMatchObject({
      plan: null,
      org: null,
      label: null,
      metadata: null,
      alternateIds: [`${id}-b`],
    });
    // The dropped alternate ID resolves nowhere and is free for another customer.
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}-a`);
    const other = unique("other");
    expect((await putCustomer(other, { alternateIds: [`${id}-a`] })).alternateIds).toEqual([`${id}-a`]);
    expect((await getCustomer(`${id}-a`)).id).toBe(other);
  });

  it("the view keeps a stored meter with usage that the current plan lacks", async () => {
    const id = unique("downgrade");
    await putCustomer(id, { plan: "pro" });
    await consume({ customer: id, entitlement: "soft_tokens", amount: 40 });
    const view = await ok("PUT", `/v1/customers/${id}/plan`, { plan: "free" });
    expect(view.meters.soft_tokens).toMatchObject({ used: 40, limit: 100, mode: "soft" });
    expect(view.meters.tokens).toMatchObject({ used: 0, limit: 500 });
  });

  it("PUT on an alternate ID updates that customer; GET, DELETE and state accept alternate IDs", async () => {
    const id = unique("owner");
    await putCustomer(id, { alternateIds: [`${id}@mail.test`] });
    const view = await putCustomer(`${id}@mail.test`, { label: "via alt" });
    expect(view).toMatchObject({ id, label: "via alt" });
    expect((await ok("GET", `/v1/customers/${id}@mail.test/state`)).customer.id).toBe(id);
    expect((await ok("GET", `/v1/customers/${id}@mail.test/events`)).events.length).toBeGreaterThan(0);
    expect((await ok("PUT", `/v1/customers/${id}@mail.test/plan`, { plan: "pro" })).plan).toBe("pro");
    expect((await del(`/v1/customers/${id}@mail.test`)).status).toBe(204);
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}`);
    await expectError(404, "customer_not_found", "DELETE", `/v1/customers/${id}`);
  });

  it("a customer of type org can be an org; an org named by id or alternate ID is stored canonically", async () => {
    const org = unique("org");
    await putCustomer(org, { type: "org", alternateIds: [`${org}.example`] });
    const id = unique("member");
    expect((await putCustomer(id, { org: `${org}.example` })).org).toBe(org);
  });

  it("state survives eviction of the customer and of the alternate-ID objects", async () => {
    const id = unique("durable");
    await putCustomer(id, { label: "L", alternateIds: [`${id}-alt`] });
    await consume({ customer: `${id}-alt`, entitlement: "storage", amount: "3MB" });
    const before = await getCustomer(id);
    await evictDurableObject(customerStub(id));
    await evictDurableObject(alternateIdStub(`${id}-alt`));
    expect(await getCustomer(`${id}-alt`)).toEqual(before);
  });
});

describe("alternate IDs (SPEC §3.4, §10)", () => {
  it("a new one resolves on the very next request, metering included", async () => {
    const id = unique("fresh");
    await putCustomer(id);
    const view = await ok("POST", `/v1/customers/${id}/alternate-ids`, { alternateId: `${id}-key` });
    expect(view).toMatchObject({ id, alternateIds: [`${id}-key`] });
    expect((await getCustomer(`${id}-key`)).id).toBe(id);
    expect(await consume({ customer: `${id}-key`, entitlement: "tokens", amount: 2 })).toMatchObject({
      customer: id,
      meteredOn: id,
      used: 2,
    });
    // Adding it again is a no-op answering the view.
    expect(
      (await ok("POST", `/v1/customers/${id}/alternate-ids`, { alternateId: `${id}-key` })).alternateIds,
    ).toEqual([`${id}-key`]);
  });

  it("a removed one resolves nowhere, even after this isolate resolved and cached it", async () => {
    const id = unique("gone");
    await putCustomer(id, { alternateIds: [`${id}-key`] });
    expect((await getCustomer(`${id}-key`)).id).toBe(id);
    await consume({ customer: `${id}-key`, entitlement: "tokens" });
    const view = await ok("DELETE", `/v1/customers/${id}/alternate-ids/${id}-key`);
    expect(view).toMatchObject({ id, alternateIds: [] });
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}-key`);
    expect(await consume({ customer: `${id}-key`, entitlement: "tokens" })).toMatchObject({
      reason: "unknown_customer",
      meteredOn: null,
    });
    expect((await getCustomer(id)).meters.tokens.used).toBe(1);
    // Removing one the customer lacks is an idempotent 200 with the view.
    expect(await ok("DELETE", `/v1/customers/${id}/alternate-ids/${id}-key`)).toMatchObject({
      id,
      alternateIds: [],
    });
  });

  it("a removal made elsewhere (another isolate) is seen at once: the owner confirms every call", async () => {
    const a = unique("a");
    const b = unique("b");
    const alt = `${a}-moving`;
    await putCustomer(a, { alternateIds: [alt] });
    await putCustomer(b);
    expect((await getCustomer(alt)).id).toBe(a); // cached in this isolate now
    // Another isolate moves the ID from a to b (the objects' own methods, without this isolate's cache).
    await customerStub(a).removeAlternateId(alt, null);
    expect(await alternateIdStub(alt).lookup()).toBeNull();
    expect(await consume({ customer: alt, entitlement: "tokens" })).toMatchObject({
      reason: "unknown_customer",
    });
    expect(await customerStub(b).addAlternateId(alt, null)).toMatchObject({ ok: true });
    expect(await consume({ customer: alt, entitlement: "tokens" })).toMatchObject({ customer: b, used: 1 });
    expect((await getCustomer(a)).meters.tokens.used).toBe(0);
  });

  it("an ID belongs to one customer only, another customer's id included", async () => {
    const a = unique("a");
    const b = unique("b");
    await putCustomer(a, { alternateIds: [`${a}-key`] });
    await putCustomer(b);
    const before = await getCustomer(b);
    await expectError(409, "alternate_id_taken", "PUT", `/v1/customers/${b}`, { alternateIds: [`${a}-key`] });
    await expectError(409, "alternate_id_taken", "PUT", `/v1/customers/${b}`, { alternateIds: [a] });
    await expectError(409, "alternate_id_taken", "POST", `/v1/customers/${b}/alternate-ids`, {
      alternateId: a,
    });
    const error = await expectError(409, "alternate_id_taken", "POST", `/v1/customers/${b}/alternate-ids`, {
      alternateId: `${a}-key`,
    });
    expect(error.details).toEqual({ alternateId: `${a}-key` });
    expect(await getCustomer(b)).toEqual(before);
    expect((await getCustomer(`${a}-key`)).id).toBe(a);
  });

  it("a claim left in the index without its owner listing the ID (a crash) does not lock the ID", async () => {
    const a = unique("a");
    const b = unique("b");
    const alt = `${a}-orphan`;
    await putCustomer(a);
    await putCustomer(b);
    // The index says a, a's record does not list it: what a crash between claim and write leaves.
    expect(await alternateIdStub(alt).claim(a, alt)).toEqual({ ok: true });
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${alt}`);
    expect((await ok("POST", `/v1/customers/${b}/alternate-ids`, { alternateId: alt })).alternateIds).toEqual(
      [alt],
    );
    expect((await getCustomer(alt)).id).toBe(b);
    // A live holder keeps it.
    await expectError(409, "alternate_id_taken", "POST", `/v1/customers/${a}/alternate-ids`, {
      alternateId: alt,
    });
  });

  it("deleting a customer frees its IDs for another customer", async () => {
    const a = unique("a");
    const b = unique("b");
    await putCustomer(a, { alternateIds: [`${a}-k1`, `${a}-k2`] });
    await putCustomer(b);
    await getCustomer(`${a}-k1`);
    expect((await del(`/v1/customers/${a}`)).status).toBe(204);
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${a}-k1`);
    const view = await putCustomer(b, { alternateIds: [`${a}-k1`, `${a}-k2`] });
    expect(view.alternateIds).toEqual([`${a}-k1`, `${a}-k2`]);
    expect((await getCustomer(`${a}-k2`)).id).toBe(b);
    // The deleted customer's id is free again too.
    expect(await putCustomer(a)).toMatchObject({ id: a, alternateIds: [] });
  });
});

describe("export, delete, restore (SPEC §5.2, §11)", () => {
  let org = "";
  beforeAll(async () => {
    org = unique("org");
    await putCustomer(org, { type: "org", plan: "pro" });
  });

  async function richCustomer(): Promise<{ id: string; holdId: string; view: Json }> {
    const id = unique("rich");
    await putCustomer(id, {
      org,
      label: "Rich",
      metadata: { nested: { a: [1, 2] } },
      alternateIds: [`${id}-k1`, `${id}-k2`],
    });
    await consume({ customer: id, entitlement: "tokens", amount: 250 });
    await consume({ customer: id, entitlement: "storage", amount: "1.5GB" });
    const { holdId } = await reserve({ customer: id, entitlement: "calls", amount: 7 });
    return { id, holdId, view: await getCustomer(id) };
  }

  it("gives back the same view: meters, holds, alternate IDs", async () => {
    const { id, holdId, view } = await richCustomer();
    const state = await ok("GET", `/v1/customers/${id}/state`);
    expect(state).toMatchObject({
      format: 1,
      customer: { id, org, label: "Rich", alternateIds: [`${id}-k1`, `${id}-k2`], createdAt: view.createdAt },
      meters: { tokens: { used: 250 }, storage: { used: 1500 }, calls: { used: 0, held: 7 } },
      holds: [{ id: holdId, entitlement: "calls", customer: id, amount: 7, expired: false }],
    });
    expect((await del(`/v1/customers/${id}`)).status).toBe(204);
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}`);
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}-k1`);

    const restored = await ok("PUT", `/v1/customers/${id}/state`, state);
    expect(restored).toEqual(view);
    expect(await getCustomer(`${id}-k2`)).toEqual(view);
    expect(await ok("GET", `/v1/customers/${id}/state`)).toEqual(state);
    // The restored hold is live and settles.
    expect(await settle({ customer: id, holdId, amount: 5 })).toMatchObject({ used: 5, held: 0 });

    const events = await allEvents(id);
    const created = events.filter((e) => e.type === "customer.created");
    expect(created.at(-1)).toMatchObject({ data: { restored: true } });
    expect(events.map((e) => e.type)).toContain("customer.deleted");
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
  });

  it("restoring over a live customer overwrites it and emits customer.updated", async () => {
    const { id, view } = await richCustomer();
    const state = await ok("GET", `/v1/customers/${id}/state`);
    await consume({ customer: id, entitlement: "tokens", amount: 100 });
    await putCustomer(id, { label: "changed", alternateIds: [`${id}-k1`, `${id}-k3`] });
    const restored = await ok("PUT", `/v1/customers/${id}/state`, state);
    expect(restored).toEqual(view);
    expect((await allEvents(id)).at(-1)).toMatchObject({
      type: "customer.updated",
      data: { restored: true },
    });
    // The alternate ID the restore dropped is freed.
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}-k3`);
  });

  it("rejects a body whose id differs from the URL, changing nothing", async () => {
    const { id, view } = await richCustomer();
    const state = await ok("GET", `/v1/customers/${id}/state`);
    const other = unique("other");
    const error = await expectError(400, "invalid_request", "PUT", `/v1/customers/${other}/state`, state);
    expect(error.details.issues[0].path).toBe("customer.id");
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${other}`);
    expect(await getCustomer(id)).toEqual(view);
  });

  it("a restore whose alternate ID is now another customer's is 409 and restores nothing", async () => {
    const { id, view } = await richCustomer();
    const state = await ok("GET", `/v1/customers/${id}/state`);
    expect((await del(`/v1/customers/${id}`)).status).toBe(204);
    const thief = unique("thief");
    await putCustomer(thief, { alternateIds: [`${id}-k2`] });
    await expectError(409, "alternate_id_taken", "PUT", `/v1/customers/${id}/state`, state);
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}`);
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}-k1`);
    await putCustomer(thief, { alternateIds: [] });
    expect(await ok("PUT", `/v1/customers/${id}/state`, state)).toEqual(view);
  });

  it("a restore onto an id that is another customer's alternate ID is 409", async () => {
    const { id } = await richCustomer();
    const state = await ok("GET", `/v1/customers/${id}/state`);
    const holder = unique("holder");
    const alias = unique("alias");
    await putCustomer(holder, { alternateIds: [alias] });
    const body = { ...state, customer: { ...state.customer, id: alias, alternateIds: [] } };
    await expectError(409, "alternate_id_taken", "PUT", `/v1/customers/${alias}/state`, body);
    expect((await getCustomer(alias)).id).toBe(holder);
  });

  it("a malformed state document is 400 invalid_request with paths", async () => {
    const { id, view } = await richCustomer();
    const state = await ok("GET", `/v1/customers/${id}/state`);
    const cases: [Json, string][] = [
      [{ ...state, format: 2 }, "format"],
      [{ ...state, meters: { tokens: { ...state.meters.tokens, used: -1 } } }, "meters.tokens.used"],
      [{ ...state, customer: { ...state.customer, createdAt: "yesterday" } }, "customer.createdAt"],
      [{ ...state, extra: 1 }, "extra"],
    ];
    for (const [body, path] of cases) {
      const error = await expectError(400, "invalid_request", "PUT", `/v1/customers/${id}/state`, body);
      expect(error.details.issues.map((i: Json) => i.path)).toContain(path);
    }
    expect(await getCustomer(id)).toEqual(view);
  });
});
