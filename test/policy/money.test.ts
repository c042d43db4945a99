import { describe, expect, it } from "vitest";
import { DAY } from "../support/compiled";
import { invalid, valid } from "./helpers";

/** A policy with every money key: tiered tokens, an abstract credit through the exchange, a dollar spend meter. */
function moneyPolicy(
  over: { credits?: string; exchange?: string; topups?: string; gateway?: string } = {},
): string {
  return `
credits:
  token: ${over.credits ?? "{ overhead_cost: 0.000002, pricing_model: tiered, price: null, tiers: [{ up_to: 100, price: { amount: 0.01 } }, { up_to: 1000, price: { amount: 0.005 } }, { price: { amount: 0.001 } }] }"}
  ai_credit: { label: AI credit }
  usd: { unit: usd }
exchange:
  ${over.exchange ?? "grant_strategy: cheapest_first\n  ai_credit: { value: 0.01, currency: rune }\n  usd: { value: 1, currency: usd }"}
plans:
  free:
    default: true
    topups:
      ${over.topups ?? "pack: { credit: ai_credit, value: 1000, price: { amount: 10 }, resets: true, reset_sch: 'monthly:1', reset_tz: Europe/Paris, reset_mode: rollover, rollover_pct: 0.5, rollover_min: 10, rollover_max: 500, max_balance: 2000, expires_after: 90d, reset_catchup_cap: 3 }"}
    entitlements:
      tokens: { limit: { credit: token, value: 1000, mode: soft, grants_apply: true, hard_trailing: false } }
      spend: { limit: { credit: usd, value: 20 } }
gateway:
  ${over.gateway ?? 'spend: spend\n  unpriced: allow\n  models:\n    "claude-*": { entitlement: tokens, cost: { input: 3, cached_input: 0.3, cache_write: 3.75, output: 15, per: 1M } }\n    "gpt-*": tokens'}
`;
}

describe("money keys (SPEC §12)", () => {
  it("compile into policy.money, limits and model routes", async () => {
    const { policy } = await valid(moneyPolicy());
    const money = policy.money;
    expect(money.credits.get("token")?.price).toEqual({
      model: "tiered",
      tiers: [
        { upTo: 100, amount: 0.01 },
        { upTo: 1000, amount: 0.005 },
        { upTo: null, amount: 0.001 },
      ],
    });
    expect(money.credits.get("token")?.overheadCost).toBe(0.000002);
    expect(money.exchange.grantStrategy).toBe("cheapest_first");
    expect(money.routes.get("ai_credit")).toEqual({ kind: "linear", runesPerUnit: 0.01 });
    expect(money.routes.get("usd")).toEqual({ kind: "linear", runesPerUnit: 1 });
    expect(money.routes.get("token")?.kind).toBe("curve");
    const pack = money.topups.get("free")?.get("pack");
    expect(pack).toMatchObject({ credit: "ai_credit", price: 10, expiresAfterMs: 90 * DAY, included: false });
    expect(pack?.terms).toMatchObject({
      value: 1000,
      resetMode: "rollover",
      rolloverPct: 0.5,
      rolloverMin: 10,
      rolloverMax: 500,
      maxBalance: 2000,
      catchupCap: 3,
      reset: { kind: "calendar", tz: "Europe/Paris" },
    });
    expect(policy.plans.get("free")?.entitlements.get("tokens")?.limit).toMatchObject({ grantsApply: true });
    expect(policy.gateway.spend).toBe("spend");
    expect(policy.gateway.unpriced).toBe("allow");
    expect(policy.gateway.models.map((m) => [m.entitlement, m.cost])).toEqual([
      ["tokens", { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15, per: 1e6 }],
      ["tokens", null],
    ]);
  });

  it("are part of the version: a policy that differs only in a price has another version", async () => {
    const a = await valid(moneyPolicy());
    const b = await valid(
      moneyPolicy({
        exchange: "ai_credit: { value: 0.02, currency: rune }\n  usd: { value: 1, currency: usd }",
      }),
    );
    expect(a.policy.version).not.toBe(b.policy.version);
    expect(JSON.stringify(a.document)).toMatch(/"tiers"/);
    const again = await valid(JSON.stringify(a.document), "application/json");
    expect(again.policy.version).toBe(a.policy.version);
  });

  it("a missing cost class costs as input; per takes 1K", async () => {
    const { policy } = await valid(
      moneyPolicy({ gateway: 'models: { "m": { entitlement: tokens, cost: { input: 2, per: 1K } } }' }),
    );
    expect(policy.gateway.models[0]?.cost).toEqual({
      input: 2,
      cachedInput: 2,
      cacheWrite: 2,
      output: 2,
      per: 1000,
    });
  });
});

const FLAT = "{ price: { amount: 0.01 } }";
const ERRORS: [string, Parameters<typeof moneyPolicy>[0], string, RegExp][] = [
  [
    "unsorted tiers",
    {
      credits:
        "{ pricing_model: tiered, price: null, tiers: [{ up_to: 100, price: { amount: 1 } }, { up_to: 50, price: { amount: 1 } }, { price: { amount: 1 } }] }",
    },
    "credits.token.tiers.1.up_to",
    /sorted/,
  ],
  [
    "an open-ended tier before the last",
    { credits: "{ pricing_model: volume, tiers: [{ price: { amount: 1 } }, { price: { amount: 1 } }] }" },
    "credits.token.tiers.0.up_to",
    /only the last/,
  ],
  [
    "a bounded last tier",
    { credits: "{ pricing_model: volume, tiers: [{ up_to: 5, price: { amount: 1 } }] }" },
    "credits.token.tiers.0.up_to",
    /last tier/,
  ],
  [
    "a flat price with tiers",
    { credits: "{ price: { amount: 1 }, tiers: [{ price: { amount: 1 } }] }" },
    "credits.token.tiers",
    /flat price takes no tiers/,
  ],
  [
    "a tiered model without tiers",
    { credits: "{ pricing_model: stairstep, price: null }" },
    "credits.token.tiers",
    /needs tiers/,
  ],
  [
    "a tiered model with a price",
    { credits: "{ pricing_model: tiered, price: { amount: 1 }, tiers: [{ price: { amount: 1 } }] }" },
    "credits.token.price",
    /must be null/,
  ],
  ["a negative price", { credits: "{ price: { amount: -1 } }" }, "credits.token.price.amount", /≥ 0/],
  ["a negative overhead", { credits: "{ overhead_cost: -0.1 }" }, "credits.token.overhead_cost", /≥ 0/],
  [
    "an exchange cycle",
    {
      credits: FLAT,
      exchange: "ai_credit: { value: 2, currency: token }\n  token: { value: 1, currency: ai_credit }",
    },
    "exchange.token",
    /cycle/,
  ],
  [
    "a pair that never reaches rune",
    { credits: FLAT, exchange: "usd: { value: 1, currency: ai_credit }" },
    "exchange.usd",
    /never reaches rune/,
  ],
  [
    "a pair to an unknown currency",
    { exchange: "usd: { value: 1, currency: euro }" },
    "exchange.usd.currency",
    /unknown currency/,
  ],
  [
    "a pair for an unknown credit",
    { exchange: "gold: { value: 1, currency: rune }\n  usd: { value: 1, currency: usd }" },
    "exchange.gold",
    /unknown credit/,
  ],
  ["a zero exchange value", { exchange: "usd: { value: 0, currency: usd }" }, "exchange.usd.value", /> 0/],
  [
    "an unknown grant strategy",
    { exchange: "grant_strategy: random\n  usd: { value: 1, currency: usd }" },
    "exchange.grant_strategy",
    /expires_first/,
  ],
  [
    "a top-up naming an unknown credit",
    { topups: "pack: { credit: gold, value: 5 }" },
    "plans.free.topups.pack.credit",
    /unknown credit "gold"/,
  ],
  [
    "a top-up of nothing",
    { topups: "pack: { credit: usd, value: 0 }" },
    "plans.free.topups.pack.value",
    /> 0/,
  ],
  [
    "a negative rollover_min",
    { topups: "pack: { credit: usd, value: 5, rollover_min: -1 }" },
    "plans.free.topups.pack.rollover_min",
    /./,
  ],
  [
    "rollover_min above rollover_max",
    { topups: "pack: { credit: usd, value: 5, rollover_min: 5, rollover_max: 1 }" },
    "plans.free.topups.pack.rollover_min",
    /above rollover_max/,
  ],
  [
    "a rollover_pct written as a percentage",
    { topups: "pack: { credit: usd, value: 5, rollover_pct: 50 }" },
    "plans.free.topups.pack.rollover_pct",
    /fraction/,
  ],
  [
    "a top-up reset_inc that is not a duration",
    { topups: "pack: { credit: usd, value: 5, reset_inc: often }" },
    "plans.free.topups.pack.reset_inc",
    /./,
  ],
  [
    "an unknown top-up key",
    { topups: "pack: { credit: usd, value: 5, colour: red }" },
    "plans.free.topups.pack.colour",
    /unknown key/,
  ],
  ["spend naming an unknown entitlement", { gateway: "spend: nope" }, "gateway.spend", /no plan has/],
  [
    "spend on a credit without a rune value",
    { exchange: "ai_credit: { value: 0.01, currency: rune }", gateway: "spend: spend" },
    "gateway.spend",
    /no fixed rune value/,
  ],
  [
    "a negative model cost",
    { gateway: 'models: { "m": { entitlement: tokens, cost: { input: -3 } } }' },
    "gateway.models.m.cost.input",
    /≥ 0/,
  ],
  [
    "a model cost per that is not 1K or 1M",
    { gateway: 'models: { "m": { entitlement: tokens, cost: { input: 3, per: 1G } } }' },
    "gateway.models.m.cost.per",
    /1K or 1M/,
  ],
  [
    "a model object naming an unknown entitlement",
    { gateway: 'models: { "m": { entitlement: nope } }' },
    "gateway.models.m.entitlement",
    /no plan has/,
  ],
  ["an unknown gateway.unpriced", { gateway: "unpriced: maybe" }, "gateway.unpriced", /allow/],
];

describe("money validation errors name their path", () => {
  it.each(ERRORS)("%s", async (_what, over, path, message) => {
    const issues = await invalid(moneyPolicy(over));
    const found = issues.find((issue) => issue.path === path);
    expect(found, JSON.stringify(issues)).toBeDefined();
    expect(found?.message).toMatch(message);
  });

  it("honoured keys are unknown where §12 does not put them", async () => {
    const issues = await invalid(
      moneyPolicy({ gateway: "models: {}\n  tiers: [1]" }).replace("mode: soft,", "mode: soft, price: 3,"),
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      "gateway.tiers",
      "plans.free.entitlements.tokens.limit.price",
    ]);
  });
});
