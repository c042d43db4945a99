/** The money examples of policies/examples/, driven over HTTP (SPEC §12.2, §12.3). */
import { exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import prepaidPolicy from "../../policies/examples/prepaid-credits.yaml?raw";
import seatsPolicy from "../../policies/examples/seats-pack.yaml?raw";
import softMoneyPolicy from "../../policies/examples/soft-money-budget.yaml?raw";
import {
  allEvents,
  BASE,
  consume,
  getCustomer,
  type Json,
  ok,
  putCustomer,
  putPolicy,
  release,
  unique,
} from "../support/api";
import { MOCK_CHUNKS, MOCK_PROMPT_TOKENS } from "../support/mock-upstream";

describe("prepaid credits burned down across token meters through the exchange", () => {
  it("draws credits at each model's rate past the included tokens, and denies what they cannot cover", async () => {
    await putPolicy(prepaidPolicy);
    const id = unique("prepaid");
    const created = await putCustomer(id);
    // The included monthly credits are granted on sign-up.
    expect(created.grants).toMatchObject([{ topup: "monthly_free", credit: "ai_credit", balance: 100 }]);
    const bought = await ok("POST", `/v1/customers/${id}/topups`, { topup: "credits_1000" });
    expect(bought.customer.balances).toEqual({ ai_credit: 1100 });

    // Within the included amounts: no credit is drawn.
    await consume({ customer: id, entitlement: "mini_tokens", amount: 100_000 });
    await consume({ customer: id, entitlement: "large_tokens", amount: 10_000 });
    // 1,000,000 mini tokens past the limit = $1 = 100 credits; 100,000 large tokens = $1 = 100 credits.
    const mini = await consume({ customer: id, entitlement: "mini_tokens", amount: 1_000_000 });
    expect(mini).toMatchObject({ allowed: true, reason: "grant_applied", grantApplied: 1_000_000 });
    const large = await consume({ customer: id, entitlement: "large_tokens", amount: 100_000 });
    expect(large).toMatchObject({ allowed: true, reason: "grant_applied", grantApplied: 100_000 });
    // The purchased pack expires (in a year) and the monthly one does not: the pack is drawn first.
    const grants: Json[] = (await getCustomer(id)).grants;
    expect(grants.find((g) => g.topup === "credits_1000").balance).toBeCloseTo(800, 6);
    expect(grants.find((g) => g.topup === "monthly_free").balance).toBe(100);
    // 900 credits left cover 900,000 large tokens; 1,000,000 is denied and draws nothing.
    const denied = await consume({ customer: id, entitlement: "large_tokens", amount: 1_000_000 });
    expect(denied).toMatchObject({ allowed: false, reason: "limit_exceeded" });
    expect(denied.grantRemaining).toBeCloseTo(900_000, 3);
    expect((await getCustomer(id)).balances.ai_credit).toBeCloseTo(900, 6);
  });
});

describe("a seats pack top-up", () => {
  it("lets an org go past its included seats by the pack, exactly, for every member", async () => {
    await putPolicy(seatsPolicy);
    const org = unique("team");
    await putCustomer(org, { type: "org" });
    const users = Array.from({ length: 12 }, (_, i) => `${org}_u${i}`);
    await Promise.all(users.map((u) => putCustomer(u, { org })));
    const before: Json[] = await Promise.all(
      users.slice(0, 6).map((u) => consume({ customer: u, entitlement: "seats" })),
    );
    expect(before.filter((d) => d.allowed)).toHaveLength(5);
    await ok("POST", `/v1/customers/${org}/topups`, { topup: "seats_5" });
    const after: Json[] = await Promise.all(
      users.slice(6).map((u) => consume({ customer: u, entitlement: "seats" })),
    );
    expect(after.filter((d) => d.allowed)).toHaveLength(5);
    expect(after.filter((d) => d.allowed).every((d) => d.reason === "grant_applied")).toBe(true);
    const view = await getCustomer(org);
    expect(view.meters.seats).toMatchObject({ used: 10, overage: 0 });
    expect(view.grants).toEqual([]); // the pack is used up
    // A release frees a seat on the meter; the pack is not given back (grants are never credited).
    const freed = await release({ customer: users[0], entitlement: "seats" });
    expect(freed).toMatchObject({ used: 9, grantRemaining: 0 });
  });
});

describe('"$20 included, then billed": a soft money budget through the gateway', () => {
  it("meters each gateway call's cost on ai_spend, and bills the dollars past $20 at the usd price ($1)", async () => {
    await putPolicy(softMoneyPolicy);
    const id = unique("budget");
    const key = `sk-tg-${unique("key")}`;
    await ok("PUT", `/v1/customers/${id}`, { alternateIds: [key] });
    // One gateway call: its cost, from the mock's 11 prompt tokens (4 cached) and 6 output tokens.
    const res = await exports.default.fetch(`${BASE}/gateway/openai/v1/chat/completions`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${key}`,
        "Content-Type": "application/json",
        "x-mock-cached-tokens": "4",
      },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "Say hello" }] }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const cost = ((MOCK_PROMPT_TOKENS - 4) * 2.5 + 4 * 1.25 + MOCK_CHUNKS.length * 10) / 1e6;
    const spend = await vi.waitFor(async () => {
      const meter = (await getCustomer(id)).meters.ai_spend;
      expect(meter.held).toBe(0);
      return meter;
    });
    expect(spend.used).toBeCloseTo(cost, 9);
    // $20 included: the rest of the month's usage (here, consumed directly) goes past it, allowed and billed.
    const past = await consume({ customer: id, entitlement: "ai_spend", amount: 25 });
    expect(past).toMatchObject({ allowed: true, outcome: "overage", limit: 20 });
    expect(past.overage).toBeCloseTo(5 + cost, 9);
    const overage = (await allEvents(id)).find((e) => e.type === "meter.overage");
    expect(overage.data.overagePrice).toBeCloseTo(5 + cost, 9);
    const margin = await ok("GET", `/v1/customers/${id}/margin`);
    expect(margin.entitlements.ai_spend.revenue).toBeCloseTo(5 + cost, 9);
    expect(margin.entitlements.gpt4o_tokens.cost).toBeCloseTo(cost, 9);
  });
});
