/**
 * Money through the gateway (SPEC §12.4), through both doors with the official clients: each call's cost from
 * the upstream's token classes and the model's `cost` (the model meter's `overheadDiff`, the settle event's
 * `data.cost`), a prepaid balance (a top-up on a hard `gateway.spend` meter at limit 0) that admits calls
 * until the estimated cost no longer fits, `model_not_priced`, `gateway.unpriced: allow`, the spend settled on
 * every path, exactness under concurrency, RateLimit headers, and margin with tiered prices and gateway costs.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { allEvents, getCustomer, type Json, ok, putPolicy, unique } from "../support/api";
import {
  MOCK_CACHE_READ_TOKENS,
  MOCK_CACHE_WRITE_TOKENS,
  MOCK_INPUT_TOKENS,
} from "../support/mock-anthropic";
import { CUTOFF_CHUNKS, MOCK_CHUNKS, MOCK_PROMPT_TOKENS } from "../support/mock-upstream";
import { anthropicClient, anthropicSaw } from "./anthropic-helpers";
import { gatewayClient, meterOf, newTag, settledMeter, upstreamSaw } from "./helpers";

const TIERS =
  "[{ up_to: 10, price: { amount: 0.01 } }, { up_to: 100, price: { amount: 0.005 } }, { price: { amount: 0.001 } }]";

function policy(unpriced: "allow" | "refuse"): string {
  return `
credits:
  token: { pricing_model: tiered, price: null, tiers: ${TIERS} }
  request: {}
  usd: { unit: usd }
exchange:
  usd: { value: 1, currency: usd }
plans:
  prepaid:
    default: true
    topups:
      dollar: { credit: usd, value: 1, price: { amount: 1 } }
    entitlements:
      gpt_tokens: { limit: { credit: token, value: 10000000, reset_inc: 1d } }
      claude_tokens: { limit: { credit: token, value: 10000000, reset_inc: 1d } }
      api_requests: { limit: { credit: request, value: 100000, reset_inc: 1d } }
      usd_spend: { limit: { credit: usd, value: 0 } }
  metered:
    entitlements:
      gpt_tokens: { limit: { credit: token, value: 10, mode: soft, reset_inc: 1d } }
      claude_tokens: { limit: { credit: token, value: 10, mode: soft, reset_inc: 1d } }
      api_requests: { limit: { credit: request, value: 100000, reset_inc: 1d } }
      usd_spend: { limit: { credit: usd, value: 100, mode: soft, reset_inc: 1d } }
gateway:
  default_max_tokens: 100
  requests: api_requests
  spend: usd_spend
  unpriced: ${unpriced}
  models:
    "gpt-free*": gpt_tokens
    "gpt-4o*": { entitlement: gpt_tokens, cost: { input: 2500, cached_input: 1250, output: 10000, per: 1M } }
    "claude-free*": claude_tokens
    "claude-sonnet-*": { entitlement: claude_tokens, cost: { input: 3000, cached_input: 300, cache_write: 3750, output: 15000, per: 1M } }
`;
}

/** Runes per token of each class (the policy's prices per 1M). */
const GPT = { input: 2500e-6, cached: 1250e-6, output: 10000e-6 };
const CLAUDE = { input: 3000e-6, cached: 300e-6, write: 3750e-6, output: 15000e-6 };

const HELLO = [{ role: "user" as const, content: "Say hello" }];
const HELLO_TOKENS = 3; // ceil(9 / 4)
const CAP = 20;
const CACHED = 4;
const REASONING = 2;
const OUTPUT = MOCK_CHUNKS.length;

/** What one OpenAI call costs, by hand from the mock's classes: 7 input, 4 cached, 6 output (2 reasoning). */
const GPT_COST = (MOCK_PROMPT_TOKENS - CACHED) * GPT.input + CACHED * GPT.cached + OUTPUT * GPT.output;
const GPT_ESTIMATE = HELLO_TOKENS * GPT.input + CAP * GPT.output;
/** One Anthropic call: 11 input, 5 cache reads, 7 cache writes, 6 output. */
const CLAUDE_COST =
  MOCK_INPUT_TOKENS * CLAUDE.input +
  MOCK_CACHE_READ_TOKENS * CLAUDE.cached +
  MOCK_CACHE_WRITE_TOKENS * CLAUDE.write +
  OUTPUT * CLAUDE.output;
const CLAUDE_ESTIMATE = HELLO_TOKENS * CLAUDE.input + CAP * CLAUDE.output;

const DETAILS = { "x-mock-cached-tokens": String(CACHED), "x-mock-reasoning-tokens": String(REASONING) };

beforeAll(async () => {
  await putPolicy(policy("refuse"));
});

/** A customer with a gateway key; on `prepaid`, holding a $1.00 top-up on the hard spend meter at 0. */
async function newCustomer(plan: "prepaid" | "metered"): Promise<{ id: string; key: string }> {
  const id = unique(`gwm_${plan}`);
  const key = `sk-tg-${unique("key")}`;
  await ok("PUT", `/v1/customers/${id}`, { plan, alternateIds: [key] });
  if (plan === "prepaid") {
    const { customer } = await ok("POST", `/v1/customers/${id}/topups`, { topup: "dollar" });
    expect(customer.balances).toEqual({ usd: 1 });
  }
  return { id, key };
}

/** Calls admitted one after another from `balance` until the estimate no longer fits. */
function admittedFrom(balance: number, estimate: number, cost: number): number {
  let n = 0;
  for (let left = balance; left + 1e-9 >= estimate; left -= cost) n++;
  return n;
}

/**
 * The settle events of `entitlement`, oldest first. On a model's meter, only the gateway's settles (those with
 * `data.usage`): a refused spend cancels the model's hold with a settle of 0, which carries none.
 */
async function settles(id: string, entitlement: string): Promise<Json[]> {
  return (await allEvents(id)).filter(
    (e) =>
      e.type === "meter.changed" &&
      e.entitlement === entitlement &&
      e.data.operation === "settle" &&
      (entitlement === "usd_spend" || e.data.usage !== undefined),
  );
}

const near = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9);

async function refusal(promise: Promise<unknown>): Promise<Json> {
  return promise.then(
    () => {
      throw new Error("expected a refusal");
    },
    (error: unknown) => error,
  );
}

describe("a prepaid $1.00 balance through the OpenAI door", () => {
  it("admits calls until the estimated cost no longer fits, then 429 with the upstream never called", async () => {
    const { id, key } = await newCustomer("prepaid");
    const tag = newTag();
    const client = gatewayClient(key, { tag });
    const expected = admittedFrom(1, GPT_ESTIMATE, GPT_COST);
    expect(expected).toBeGreaterThan(1);
    for (let i = 0; i < expected; i++) {
      const { data, response } = await client.chat.completions
        .create({ model: "gpt-4o", messages: HELLO, max_completion_tokens: CAP }, { headers: DETAILS })
        .withResponse();
      expect(data.usage).toMatchObject({
        prompt_tokens: MOCK_PROMPT_TOKENS,
        completion_tokens: OUTPUT,
        prompt_tokens_details: { cached_tokens: CACHED },
        completion_tokens_details: { reasoning_tokens: REASONING },
      });
      // The model's remaining is the tighter of its tokens and what the balance still buys at its dearest rate,
      // as at admission: the calls before settled, this one's estimate held.
      const left = 1 - i * GPT_COST - GPT_ESTIMATE;
      const tokens = Math.floor(left / GPT.output + 1e-9);
      expect(response.headers.get("ratelimit")).toMatch(
        new RegExp(`^"gpt_tokens";r=(${tokens}|${tokens - 1});t=\\d+`),
      );
    }
    const error = await refusal(
      client.chat.completions.create(
        { model: "gpt-4o", messages: HELLO, max_completion_tokens: CAP },
        { headers: DETAILS },
      ),
    );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.status).toBe(429);
    expect(error.code).toBe("insufficient_quota");
    expect((await upstreamSaw(tag)).count).toBe(expected);

    // After settling: $1.00 minus the exact sum of the calls' costs.
    const spend = await settledMeter(id, "usd_spend");
    const view = await getCustomer(id);
    near(view.balances.usd, 1 - expected * GPT_COST);
    near(spend.used, expected * GPT_COST);
    expect(spend.overage).toBe(0);
    // Nothing of the refused call stayed reserved: the model's hold was cancelled with the spend's refusal.
    const tokens = await meterOf(id, "gpt_tokens");
    expect(tokens).toMatchObject({ held: 0, used: expected * (MOCK_PROMPT_TOKENS + OUTPUT) });
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: expected });

    // Each settle says what the call cost: data.cost and overheadDiff on the model's meter.
    const events = await settles(id, "gpt_tokens");
    expect(events).toHaveLength(expected);
    for (const event of events) {
      expect(event.data.cost).toBe(Number(GPT_COST.toFixed(9)));
      expect(event.data.overheadDiff).toBe(Number(GPT_COST.toFixed(9)));
      expect(event.data.usage).toMatchObject({ input: 7, cached_input: 4, output: 6, reasoning: 2 });
    }
    const spent = await settles(id, "usd_spend");
    expect(spent).toHaveLength(expected);
    expect(spent.every((e) => e.data.usage === undefined && e.data.cost === undefined)).toBe(true);
  });

  it("settles the spend on a cut stream (the estimate of what streamed) and 0 on an upstream error", async () => {
    const { id, key } = await newCustomer("prepaid");
    const client = gatewayClient(key);
    const stream = await client.chat.completions.create(
      { model: "gpt-4o", messages: HELLO, max_completion_tokens: CAP, stream: true },
      { headers: { "x-mock-mode": "cutoff" } },
    );
    const failure = await (async () => {
      for await (const _ of stream) {
        // drain until the connection dies
      }
    })().then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).not.toBeNull();
    const streamed = MOCK_CHUNKS.slice(0, CUTOFF_CHUNKS).join("");
    const cost = HELLO_TOKENS * GPT.input + Math.ceil(streamed.length / 4) * GPT.output;
    const spend = await settledMeter(id, "usd_spend");
    near(spend.used, cost);
    const [event] = await settles(id, "gpt_tokens");
    expect(event.data.cost).toBe(Number(cost.toFixed(9)));

    const error = await refusal(
      client.chat.completions.create(
        { model: "gpt-4o", messages: HELLO, max_completion_tokens: CAP },
        { headers: { "x-mock-mode": "error", "x-mock-status": "500" } },
      ),
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const after = await settledMeter(id, "usd_spend");
    near(after.used, cost);
    near((await getCustomer(id)).balances.usd, 1 - cost);
  });

  it("N concurrent priced calls never take the balance negative when the upstream honours the cap", async () => {
    const { id, key } = await newCustomer("prepaid");
    const tag = newTag();
    // A prompt whose estimate covers the mock's 11 prompt tokens, and an output at the cap: every call's
    // actual cost is within its estimate.
    const messages = [{ role: "user" as const, content: "a".repeat(100) }];
    const estimate = 25 * GPT.input + CAP * GPT.output;
    const cost = (MOCK_PROMPT_TOKENS - CACHED) * GPT.input + CACHED * GPT.cached + CAP * GPT.output;
    expect(cost).toBeLessThanOrEqual(estimate);
    const client = gatewayClient(key, { tag });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        client.chat.completions.create(
          { model: "gpt-4o", messages, max_completion_tokens: CAP },
          { headers: { ...DETAILS, "x-mock-total-tokens": "1000" } },
        ),
      ),
    );
    const admitted = results.filter((r) => r.status === "fulfilled").length;
    expect(admitted).toBeGreaterThanOrEqual(Math.floor(1 / estimate));
    for (const r of results) {
      if (r.status === "rejected") expect((r.reason as Json).status).toBe(429);
    }
    expect((await upstreamSaw(tag)).count).toBe(admitted);
    const spend = await settledMeter(id, "usd_spend");
    expect(spend.overage).toBe(0);
    near(spend.used, admitted * cost);
    const view = await getCustomer(id);
    expect(view.balances.usd).toBeGreaterThanOrEqual(0);
    near(view.balances.usd, 1 - admitted * cost);
  });
});

describe("a prepaid $1.00 balance through the Anthropic door", () => {
  const request = { model: "claude-sonnet-4-5", max_tokens: CAP, messages: HELLO };

  it("admits calls until the estimated cost no longer fits, then rate_limit_error with the upstream never called", async () => {
    const { id, key } = await newCustomer("prepaid");
    const tag = newTag();
    const client = anthropicClient(key, { tag });
    const expected = admittedFrom(1, CLAUDE_ESTIMATE, CLAUDE_COST);
    expect(expected).toBeGreaterThan(1);
    for (let i = 0; i < expected; i++) {
      // Half whole messages, half streams: both settle the same classes.
      if (i % 2 === 0) await client.messages.create(request);
      else await client.messages.stream(request).finalMessage();
      await settledMeter(id, "usd_spend");
    }
    const error = await refusal(client.messages.create(request));
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect(error.error).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect((await anthropicSaw(tag)).count).toBe(expected);

    const spend = await settledMeter(id, "usd_spend");
    near((await getCustomer(id)).balances.usd, 1 - expected * CLAUDE_COST);
    near(spend.used, expected * CLAUDE_COST);
    const events = await settles(id, "claude_tokens");
    expect(events).toHaveLength(expected);
    for (const event of events) expect(event.data.cost).toBe(Number(CLAUDE_COST.toFixed(9)));
  });

  it("N concurrent priced messages never take the balance negative when the upstream honours the cap", async () => {
    const { id, key } = await newCustomer("prepaid");
    const tag = newTag();
    const messages = [{ role: "user" as const, content: "a".repeat(100) }];
    const estimate = 25 * CLAUDE.input + CAP * CLAUDE.output;
    const cost = CLAUDE_COST - OUTPUT * CLAUDE.output + CAP * CLAUDE.output;
    expect(cost).toBeLessThanOrEqual(estimate);
    const client = anthropicClient(key, { tag, headers: { "x-mock-output-tokens": "1000" } });
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, () => client.messages.create({ ...request, messages })),
    );
    const admitted = results.filter((r) => r.status === "fulfilled").length;
    expect(admitted).toBeGreaterThanOrEqual(Math.floor(1 / estimate));
    expect((await anthropicSaw(tag)).count).toBe(admitted);
    const spend = await settledMeter(id, "usd_spend");
    expect(spend.overage).toBe(0);
    const view = await getCustomer(id);
    expect(view.balances.usd ?? 0).toBeGreaterThanOrEqual(0);
    near(spend.used, admitted * cost);
  });
});

describe("model_not_priced", () => {
  it("an unpriced model under gateway.spend is 403 on both doors, upstream never called", async () => {
    const { id, key } = await newCustomer("prepaid");
    const tag = newTag();
    const openai = await refusal(
      gatewayClient(key, { tag }).chat.completions.create({ model: "gpt-free-1", messages: HELLO }),
    );
    expect(openai).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(openai.code).toBe("model_not_priced");
    const anthropic = await refusal(
      anthropicClient(key, { tag }).messages.create({
        ...{ model: "claude-free-1" },
        max_tokens: CAP,
        messages: HELLO,
      }),
    );
    expect(anthropic).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(anthropic.error).toMatchObject({ type: "error", error: { type: "permission_error" } });
    expect((await upstreamSaw(tag)).count).toBe(0);
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 0 });
  });
});

describe("margin with tiered prices and gateway costs (SPEC §12.5)", () => {
  it("revenue from the tiers past the limit, cost = the model meter's recorded overhead", async () => {
    const { id, key } = await newCustomer("metered");
    const client = gatewayClient(key);
    for (let i = 0; i < 2; i++) {
      await client.chat.completions.create(
        { model: "gpt-4o", messages: HELLO, max_completion_tokens: CAP },
        { headers: DETAILS },
      );
    }
    await anthropicClient(key).messages.create({
      model: "claude-sonnet-4-5",
      max_tokens: CAP,
      messages: HELLO,
    });
    await settledMeter(id, "gpt_tokens");
    await settledMeter(id, "claude_tokens");
    // gpt: 2 × 17 tokens = 34, 24 past the limit of 10: 10 @ 0.01 + 14 @ 0.005.
    const gptRevenue = 10 * 0.01 + 14 * 0.005;
    const gptCost = 2 * GPT_COST;
    // claude: 29 tokens, 19 past the limit: 10 @ 0.01 + 9 @ 0.005.
    const claudeTokens = MOCK_INPUT_TOKENS + MOCK_CACHE_READ_TOKENS + MOCK_CACHE_WRITE_TOKENS + OUTPUT;
    expect(claudeTokens).toBe(29);
    const claudeRevenue = 10 * 0.01 + 9 * 0.005;
    const margin = await ok("GET", `/v1/customers/${id}/margin`);
    const pct = (revenue: number, cost: number) => Math.round(((revenue - cost) / revenue) * 100 * 100) / 100;
    expect(margin.entitlements.gpt_tokens.revenue).toBeCloseTo(gptRevenue, 9);
    expect(margin.entitlements.gpt_tokens.cost).toBeCloseTo(gptCost, 9);
    expect(margin.entitlements.gpt_tokens.margin).toBe(pct(gptRevenue, gptCost));
    expect(margin.entitlements.claude_tokens.cost).toBeCloseTo(CLAUDE_COST, 9);
    expect(margin.entitlements.claude_tokens.margin).toBe(pct(claudeRevenue, CLAUDE_COST));
    // The spend meter has no price and no overhead: it is a budget, not a second cost.
    expect(margin.entitlements.usd_spend).toEqual({ revenue: 0, cost: 0, margin: null });
    expect(margin.revenue).toBeCloseTo(gptRevenue + claudeRevenue, 9);
    expect(margin.cost).toBeCloseTo(gptCost + CLAUDE_COST, 9);
    expect(margin.margin).toBe(pct(gptRevenue + claudeRevenue, gptCost + CLAUDE_COST));
    // The soft spend meter recorded the same money.
    near((await meterOf(id, "usd_spend")).used, gptCost + CLAUDE_COST);
  });
});

// Last: it changes the policy for this file.
describe("gateway.unpriced: allow", () => {
  it("lets an unpriced model run without touching the spend meter, and its settle carries no cost", async () => {
    await putPolicy(policy("allow"));
    const { id, key } = await newCustomer("prepaid");
    const completion = await gatewayClient(key).chat.completions.create({
      model: "gpt-free-1",
      messages: HELLO,
      max_completion_tokens: CAP,
    });
    expect(completion.usage?.total_tokens).toBe(MOCK_PROMPT_TOKENS + OUTPUT);
    await settledMeter(id, "gpt_tokens");
    expect(await meterOf(id, "usd_spend")).toMatchObject({ used: 0, held: 0 });
    const [event] = await settles(id, "gpt_tokens");
    expect(event.data.cost).toBeUndefined();
    expect(event.data.usage).toMatchObject({ model: "gpt-free-1", door: "openai" });
  });
});
