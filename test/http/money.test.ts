/**
 * Money over HTTP (SPEC §12.3, §12.5): top-ups and grants on the meter owner, Limitr's published behaviours,
 * exactness under concurrency with grants in play, margin, included top-ups, export/restore.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  allEvents,
  call,
  check,
  consume,
  expectError,
  getCustomer,
  type Json,
  ok,
  putCustomer,
  putPolicy,
  release,
  reserve,
  settle,
  unique,
  withStore,
} from "../support/api";

const POLICY = `
credits:
  token: { price: { amount: 0.001 }, overhead_cost: 0.0005 }
  ai_credit: { label: AI credit }
  ptoken:
    overhead_cost: 0.002
    pricing_model: tiered
    price: null
    tiers: [{ up_to: 100, price: { amount: 0.01 } }, { up_to: 1000, price: { amount: 0.005 } }, { price: { amount: 0.001 } }]
exchange:
  ai_credit: { value: 10, currency: token }
plans:
  basic:
    default: true
    topups:
      tokens100: { credit: token, value: 100, price: { amount: 1 } }
      credits10: { credit: ai_credit, value: 10, price: { amount: 1 } }
      expiring: { credit: token, value: 100, expires_after: 1h }
      rolling: { credit: token, value: 100, resets: true, reset_inc: 1d, reset_mode: rollover, rollover_pct: 0.5, rollover_min: 10, rollover_max: 30 }
    entitlements:
      tokens: { limit: { credit: token, value: 500 } }
      soft_tokens: { limit: { credit: token, value: 100, mode: soft } }
      watched: { limit: { credit: token, value: 10, mode: observe } }
      no_grants: { limit: { credit: token, value: 10, grants_apply: false } }
      trailing: { limit: { credit: token, value: 10, hard_trailing: true } }
      team_tokens: { scope: org, limit: { credit: token, value: 100 } }
  starter:
    topups:
      welcome: { credit: token, value: 20, included: true, included_scopes: [user] }
      tokens100: { credit: token, value: 100 }
    entitlements:
      tokens: { limit: { credit: token, value: 500 } }
  pro:
    topups:
      pro_bonus: { credit: token, value: 1000, included: true }
    entitlements:
      tokens: { limit: { credit: token, value: 5000 } }
  metered:
    entitlements:
      priced: { limit: { credit: ptoken, value: 100, mode: soft } }
      tokens: { limit: { credit: token, value: 500 } }
`;

beforeAll(async () => {
  await putPolicy(POLICY);
});

const topup = (id: string, body: Json) => ok("POST", `/v1/customers/${id}/topups`, body);
const grantsOf = async (id: string): Promise<Json[]> =>
  (await ok("GET", `/v1/customers/${id}/grants`)).grants;

async function fresh(prefix: string, body: Json = {}): Promise<string> {
  const id = unique(prefix);
  await putCustomer(id, body);
  return id;
}

describe("Limitr's published behaviours (SPEC §12.3)", () => {
  it("a hard limit at 500 with a 100-token grant allows 50 more and denies 150, leaving the grant untouched", async () => {
    const id = await fresh("hard");
    const bought = await topup(id, { topup: "tokens100" });
    expect(bought.grant).toMatchObject({
      topup: "tokens100",
      credit: "token",
      balance: 100,
      startingValue: 100,
    });
    expect(bought.customer.balances).toEqual({ token: 100 });
    const within = await consume({ customer: id, entitlement: "tokens", amount: 500 });
    expect(within).toMatchObject({
      reason: "within_limit",
      grantApplied: 0,
      grantRemaining: 100,
      remaining: 100,
    });
    const more = await consume({ customer: id, entitlement: "tokens", amount: 50 });
    expect(more).toMatchObject({
      allowed: true,
      outcome: "allowed",
      reason: "grant_applied",
      grantApplied: 50,
      grantRemaining: 50,
      used: 550,
      overage: 0,
      remaining: 50,
    });
    expect((await grantsOf(id))[0].balance).toBe(50);
    const denied = await consume({ customer: id, entitlement: "tokens", amount: 150 });
    expect(denied).toMatchObject({
      allowed: false,
      reason: "limit_exceeded",
      grantApplied: 0,
      grantRemaining: 50,
    });
    expect((await grantsOf(id))[0].balance).toBe(50);
    const changed = (await allEvents(id)).filter((e: Json) => e.type === "meter.changed").at(-1);
    expect(changed.data).toMatchObject({
      grantApplied: 50,
      priceDiff: 0.05,
      overheadDiff: 0.025,
      overagePrice: 0,
    });
    expect(changed.data.overhead).toBeCloseTo(0.275, 9);
  });

  it("the same through an abstract credit: the exchange draws exactly the converted amount", async () => {
    const id = await fresh("credit");
    await topup(id, { topup: "credits10" }); // 10 ai_credit = 100 tokens
    await consume({ customer: id, entitlement: "tokens", amount: 500 });
    const more = await consume({ customer: id, entitlement: "tokens", amount: 50 });
    expect(more).toMatchObject({ reason: "grant_applied", grantApplied: 50, grantRemaining: 50 });
    expect((await grantsOf(id))[0]).toMatchObject({ credit: "ai_credit", balance: 5 });
    const denied = await consume({ customer: id, entitlement: "tokens", amount: 150 });
    expect(denied.reason).toBe("limit_exceeded");
    expect((await getCustomer(id)).balances).toEqual({ ai_credit: 5 });
  });

  it("a soft limit: grants cover what they can, the rest is billed with overagePrice", async () => {
    const id = await fresh("soft");
    await topup(id, { topup: "tokens100" });
    await consume({ customer: id, entitlement: "soft_tokens", amount: 100 });
    const over = await consume({ customer: id, entitlement: "soft_tokens", amount: 150 });
    expect(over).toMatchObject({
      allowed: true,
      outcome: "overage",
      reason: "overage_recorded",
      grantApplied: 100,
      grantRemaining: 0,
      overage: 50,
    });
    expect(await grantsOf(id)).toEqual([]); // drained and not resetting: gone
    const event = (await allEvents(id)).find((e: Json) => e.type === "meter.overage");
    expect(event.data).toMatchObject({
      overageAdded: 50,
      overage: 50,
      grantApplied: 100,
      overagePrice: 0.05,
    });
    expect(event.data.priceDiff).toBeCloseTo(0.15, 9);
  });

  it("a soft call fully covered by grants is allowed with grant_applied and no overage", async () => {
    const id = await fresh("softcov");
    await topup(id, { topup: "tokens100" });
    const covered = await consume({ customer: id, entitlement: "soft_tokens", amount: 160 });
    expect(covered).toMatchObject({
      outcome: "allowed",
      reason: "grant_applied",
      grantApplied: 60,
      overage: 0,
    });
    expect((await allEvents(id)).some((e: Json) => e.type === "meter.overage")).toBe(false);
  });

  it("a rollover grant resets to value + clamp(balance × rollover_pct) (reads compute, writes store)", async () => {
    const id = await fresh("rollover");
    const first = (await topup(id, { topup: "rolling" })).grant;
    const second = (await topup(id, { topup: "rolling" })).grant;
    await consume({ customer: id, entitlement: "tokens", amount: 500 });
    await consume({ customer: id, entitlement: "tokens", amount: 60 }); // the older grant: 100 → 40
    expect((await grantsOf(id)).map((g: Json) => g.balance)).toEqual([40, 100]);
    // A day passes: move the stored reset times into the past (the object decides by its own clock).
    await withStore(id, (store) => {
      const moved = store.grants.map((g: Json) => ({ ...g, nextResetAt: Date.now() - 1000 }));
      store.transaction(() => store.putGrants(moved));
    });
    // 40 → 100 + 40 × 0.5 = 120; 100 → 100 + min(50, rollover_max 30) = 130.
    const read = await grantsOf(id);
    expect(read.find((g: Json) => g.id === first.id).balance).toBe(120);
    expect(read.find((g: Json) => g.id === second.id).balance).toBe(130);
    expect((await allEvents(id)).some((e: Json) => e.type === "grant.reset")).toBe(false); // a read stores nothing
    await check({ customer: id, entitlement: "tokens", amount: 1 });
    expect((await allEvents(id)).some((e: Json) => e.type === "grant.reset")).toBe(false);
    await consume({ customer: id, entitlement: "tokens", amount: 1 });
    const resets = (await allEvents(id)).filter((e: Json) => e.type === "grant.reset");
    expect(resets.map((e: Json) => e.data.balance).sort()).toEqual([120, 130]);
  });

  it("an expired grant is not drawn, and goes with grant.expired on the next write", async () => {
    const id = await fresh("expired");
    const grant = (await topup(id, { topup: "expiring" })).grant;
    expect(Date.parse(grant.expiresAt) - Date.parse(grant.createdAt)).toBe(3_600_000);
    await consume({ customer: id, entitlement: "tokens", amount: 500 });
    await withStore(id, (store) => {
      const moved = store.grants.map((g: Json) => ({ ...g, expiresAt: Date.now() - 1 }));
      store.transaction(() => store.putGrants(moved));
    });
    const denied = await consume({ customer: id, entitlement: "tokens", amount: 10 });
    expect(denied).toMatchObject({ allowed: false, reason: "limit_exceeded", grantRemaining: 0 });
    expect(await grantsOf(id)).toEqual([]);
    expect((await allEvents(id)).filter((e: Json) => e.type === "grant.expired")).toHaveLength(1);
  });

  it("observe never draws; grants_apply: false turns grants off; hard_trailing lets the crossing call through", async () => {
    const id = await fresh("switches");
    await topup(id, { topup: "tokens100" });
    const watched = await consume({ customer: id, entitlement: "watched", amount: 30 });
    expect(watched).toMatchObject({ outcome: "observed", grantApplied: 0 });
    const off = await consume({ customer: id, entitlement: "no_grants", amount: 11 });
    expect(off).toMatchObject({ allowed: false, reason: "limit_exceeded", grantRemaining: 0 });
    const trailing = await consume({ customer: id, entitlement: "trailing", amount: 15 });
    expect(trailing).toMatchObject({ allowed: true, outcome: "overage", grantApplied: 0, overage: 5 });
    expect((await grantsOf(id))[0].balance).toBe(100);
    const after = await consume({ customer: id, entitlement: "trailing", amount: 5 });
    expect(after).toMatchObject({ reason: "grant_applied", grantApplied: 5 });
    expect((await grantsOf(id))[0].balance).toBe(95);
  });

  it("holds count usable grants and draw nothing; a settle draws for its own overage; a release credits nothing", async () => {
    const id = await fresh("holds");
    await topup(id, { topup: "tokens100" });
    await consume({ customer: id, entitlement: "tokens", amount: 450 });
    const held = await reserve({ customer: id, entitlement: "tokens", amount: 120 });
    expect(held).toMatchObject({ allowed: true, reason: "grant_applied", grantRemaining: 30 });
    expect((await grantsOf(id))[0].balance).toBe(100);
    const tooMuch = await reserve({ customer: id, entitlement: "tokens", amount: 40 });
    expect(tooMuch.reason).toBe("limit_exceeded");
    const settled = await settle({ customer: id, holdId: held.holdId, amount: 200 });
    // 650 used: 150 past the limit, 100 covered by the grant, 50 recorded as overage even on a hard limit.
    expect(settled).toMatchObject({ outcome: "overage", grantApplied: 100, overage: 50, used: 650 });
    expect(await grantsOf(id)).toEqual([]);
    await topup(id, { topup: "tokens100" });
    await release({ customer: id, entitlement: "tokens", amount: 300 });
    expect((await grantsOf(id))[0].balance).toBe(100);
  });
});

describe("exact under concurrency with grants (SPEC §8, §12.3)", () => {
  it("200 concurrent consumes admit exactly what the limit and the grants cover; the grants end drained", async () => {
    const id = await fresh("race");
    await topup(id, { topup: "tokens100" });
    await topup(id, { topup: "credits10" }); // + 100 tokens through the exchange
    const decisions: Json[] = await Promise.all(
      Array.from({ length: 200 }, () => consume({ customer: id, entitlement: "tokens", amount: 5 })),
    );
    const allowed = decisions.filter((d) => d.allowed);
    expect(allowed).toHaveLength(140); // (500 + 200) / 5
    expect(allowed.reduce((sum, d) => sum + d.grantApplied, 0)).toBe(200);
    expect(decisions.filter((d) => !d.allowed).every((d) => d.reason === "limit_exceeded")).toBe(true);
    const view = await getCustomer(id);
    expect(view.meters.tokens).toMatchObject({ used: 700, overage: 0 });
    expect(view.grants).toEqual([]);
  });

  it("50 members of one org draw exactly on the org's grant", async () => {
    const org = await fresh("org", { type: "org" });
    await topup(org, { topup: "tokens100" });
    const users = Array.from({ length: 50 }, (_, i) => `${org}_u${i}`);
    await Promise.all(users.map((u) => putCustomer(u, { org })));
    const decisions: Json[] = await Promise.all(
      users.map((u) => consume({ customer: u, entitlement: "team_tokens", amount: 5 })),
    );
    const allowed = decisions.filter((d) => d.allowed);
    expect(allowed).toHaveLength(40); // (100 + 100) / 5
    expect(allowed.reduce((sum, d) => sum + d.grantApplied, 0)).toBe(100);
    expect(decisions.every((d) => d.meteredOn === org)).toBe(true);
    expect((await getCustomer(org)).grants).toEqual([]);
  });
});

describe("top-ups and grants (SPEC §12.3)", () => {
  it("each call stacks a grant; an idempotency key applies a retried purchase once", async () => {
    const id = await fresh("idem");
    const a = await topup(id, { topup: "tokens100", idempotencyKey: "buy-1" });
    const b = await topup(id, { topup: "tokens100", idempotencyKey: "buy-1" });
    expect(b.grant.id).toBe(a.grant.id);
    await topup(id, { topup: "tokens100" });
    expect(await grantsOf(id)).toHaveLength(2);
    await expectError(409, "idempotency_key_reused", "POST", `/v1/customers/${id}/topups`, {
      topup: "credits10",
      idempotencyKey: "buy-1",
    });
    const granted = (await allEvents(id)).filter((e: Json) => e.type === "customer.topup_granted");
    expect(granted).toHaveLength(2);
    expect(granted[0].data).toMatchObject({
      topup: "tokens100",
      grantId: a.grant.id,
      credit: "token",
      value: 100,
      price: 1,
    });
  });

  it("an unknown top-up is 400 unknown_topup; an unknown customer 404", async () => {
    const id = await fresh("unknown");
    await expectError(400, "unknown_topup", "POST", `/v1/customers/${id}/topups`, { topup: "pro_bonus" });
    await expectError(404, "customer_not_found", "POST", `/v1/customers/${unique("nobody")}/topups`, {
      topup: "tokens100",
    });
    expect(await grantsOf(id)).toEqual([]);
  });

  it("revoke: 204 with grant.revoked; again 404 grant_not_found", async () => {
    const id = await fresh("revoke");
    const { grant } = await topup(id, { topup: "tokens100" });
    const gone = await call("DELETE", `/v1/customers/${id}/grants/${grant.id}`);
    expect(gone.status).toBe(204);
    expect(await grantsOf(id)).toEqual([]);
    await expectError(404, "grant_not_found", "DELETE", `/v1/customers/${id}/grants/${grant.id}`);
    const revoked = (await allEvents(id)).filter((e: Json) => e.type === "grant.revoked");
    expect(revoked.map((e: Json) => e.data.grantId)).toEqual([grant.id]);
  });

  it("included top-ups: granted on create, re-synced on a plan change; purchased grants kept", async () => {
    const id = await fresh("included", { plan: "starter" });
    let view = await getCustomer(id);
    expect(view.grants).toMatchObject([{ topup: "welcome", balance: 20, included: true }]);
    await topup(id, { topup: "tokens100" });
    // Drain the included grant: it is not granted again while the plan stays.
    await consume({ customer: id, entitlement: "tokens", amount: 520 });
    await putCustomer(id, { label: "still starter" });
    view = await getCustomer(id);
    expect(view.grants.map((g: Json) => [g.topup, g.balance])).toEqual([["tokens100", 100]]);
    view = await ok("PUT", `/v1/customers/${id}/plan`, { plan: "pro" });
    expect(view.grants.map((g: Json) => [g.topup, g.balance, g.included]).sort()).toEqual([
      ["pro_bonus", 1000, true],
      ["tokens100", 100, false],
    ]);
    view = await ok("PUT", `/v1/customers/${id}/plan`, { plan: "starter" });
    expect(view.grants.map((g: Json) => g.topup).sort()).toEqual(["tokens100", "welcome"]);
    const revoked = (await allEvents(id)).filter((e: Json) => e.type === "grant.revoked");
    expect(revoked.map((e: Json) => e.data.topup)).toEqual(["pro_bonus"]);
    // An org is not in welcome's included_scopes.
    const org = await fresh("incorg", { type: "org", plan: "starter" });
    expect((await getCustomer(org)).grants).toEqual([]);
  });

  it("export and restore carry grants; an export without grants still restores", async () => {
    const id = await fresh("export");
    await topup(id, { topup: "rolling" });
    await topup(id, { topup: "credits10" });
    await consume({ customer: id, entitlement: "tokens", amount: 530 });
    const before = await getCustomer(id);
    const state = await ok("GET", `/v1/customers/${id}/state`);
    expect(state.grants).toHaveLength(2);
    expect(state.meters.tokens.overhead).toBeCloseTo(0.265, 9);
    expect((await call("DELETE", `/v1/customers/${id}`)).status).toBe(204);
    const restored = await ok("PUT", `/v1/customers/${id}/state`, state);
    expect(restored.grants).toEqual(before.grants);
    expect(restored.balances).toEqual(before.balances);
    const more = await consume({ customer: id, entitlement: "tokens", amount: 10 });
    expect(more).toMatchObject({ reason: "grant_applied", grantApplied: 10 });

    const old = await fresh("oldexport");
    const { grants: _none, ...oldState } = await ok("GET", `/v1/customers/${old}/state`);
    const back = await ok("PUT", `/v1/customers/${old}/state`, oldState);
    expect(back.grants).toEqual([]);
  });
});

describe("margin (SPEC §12.5)", () => {
  it("matches a hand computation for tiered prices", async () => {
    const id = await fresh("margin", { plan: "metered" });
    await consume({ customer: id, entitlement: "priced", amount: 300 });
    await consume({ customer: id, entitlement: "tokens", amount: 100 });
    const margin = await ok("GET", `/v1/customers/${id}/margin`);
    // priced: 200 past the limit from position 0 = 100 × 0.01 + 100 × 0.005 = 1.5; cost 300 × 0.002 = 0.6.
    // tokens: within its limit, revenue 0, cost 100 × 0.0005 = 0.05.
    expect(margin.entitlements.priced).toEqual({ revenue: 1.5, cost: 0.6, margin: 60 });
    expect(margin.entitlements.tokens).toEqual({ revenue: 0, cost: 0.05, margin: null });
    expect(margin).toMatchObject({ revenue: 1.5, cost: 0.65 });
    expect(margin.margin).toBe(Math.round(((1.5 - 0.65) / 1.5) * 100 * 100) / 100);
    const none = await fresh("nomargin");
    expect((await ok("GET", `/v1/customers/${none}/margin`)).margin).toBe(-100);
  });
});

describe("documented (SPEC §5.4)", () => {
  it("the money routes and the decision's grant fields are in /openapi.json", async () => {
    const doc = await ok("GET", "/openapi.json");
    for (const path of [
      "/v1/customers/{id}/topups",
      "/v1/customers/{id}/grants",
      "/v1/customers/{id}/grants/{grantId}",
      "/v1/customers/{id}/margin",
    ])
      expect(doc.paths[path]).toBeDefined();
    expect(doc.components.schemas.Decision.properties.grantApplied).toBeDefined();
    expect(doc.components.schemas.Decision.properties.reason.enum).toContain("grant_applied");
  });
});
