/**
 * Hard caps hold through the gateway under load (SPEC §11 "Output caps", issue 9 finding 4): 50 concurrent
 * gateway calls with no client cap, against a hard token limit, through the official `openai` client over
 * HTTP. With an upstream that honours the cap it is sent, `used` never passes `limit`; with one that ignores
 * it, the same calls pass it (the cap is what bounds the meter).
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { gatewayClient, upstreamSaw } from "./gateway-support";
import { gate, type Json, putLoadPolicy } from "./support";

const client = gate();
const LIMIT = 2000;
const DEFAULT_MAX_TOKENS = 100;
const CALLS = 50;
/** What the mock would report per call without a cap: far more than a reservation. */
const ASKED_TOTAL_TOKENS = 900;
// 52 characters: the estimate (13 tokens) covers the mock's own prompt count (11), so only output can
// exceed a reservation of 13 + 100.
const PROMPT = "Say hello to everyone in the room, politely, please.";

const POLICY = `
credits:
  token: {}
  request: {}
plans:
  metered:
    default: true
    entitlements:
      gpt_tokens:
        limit: { credit: token, value: ${LIMIT} }
      api_requests:
        limit: { credit: request, value: 100000 }
gateway:
  default_max_tokens: ${DEFAULT_MAX_TOKENS}
  requests: api_requests
  models:
    "gpt-*": gpt_tokens
`;

const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** One call of four kinds in turn (chat, chat stream, completions, responses), none with a cap. */
async function oneCall(openai: OpenAI, index: number, headers: Record<string, string>): Promise<string> {
  const model = "gpt-4o";
  try {
    switch (index % 4) {
      case 0:
        await openai.chat.completions.create(
          { model, messages: [{ role: "user", content: PROMPT }] },
          { headers },
        );
        break;
      case 1: {
        const stream = await openai.chat.completions.create(
          { model, messages: [{ role: "user", content: PROMPT }], stream: true },
          { headers },
        );
        for await (const _ of stream);
        break;
      }
      case 2:
        await openai.completions.create({ model, prompt: PROMPT }, { headers });
        break;
      default:
        await openai.responses.create({ model, input: PROMPT }, { headers });
    }
    return "ok";
  } catch (error) {
    return error instanceof OpenAI.RateLimitError && error.code === "insufficient_quota"
      ? "refused"
      : String(error);
  }
}

/** 50 concurrent calls for a fresh customer; answers the outcomes and the settled meter. */
async function burst(name: string, headers: Record<string, string>) {
  const id = `gw_cap_${name}_${run}`;
  const key = `sk-load-${name}-${run}`;
  await client.putCustomer(id, { alternateIds: [key] });
  const tag = `${id}_tag`;
  const openai = gatewayClient(key, tag);
  const outcomes = await Promise.all(Array.from({ length: CALLS }, (_, i) => oneCall(openai, i, headers)));
  // Streams settle after their last byte (in waitUntil): wait until nothing is held.
  const meter: Json = await vi.waitFor(
    async () => {
      const view = await client.getCustomer(id);
      const tokens = view.meters.gpt_tokens;
      expect(tokens.held).toBe(0);
      return tokens;
    },
    { timeout: 20_000, interval: 100 },
  );
  return { outcomes, meter, forwarded: (await upstreamSaw(tag)).count };
}

describe("gateway calls without a client cap against a hard limit", () => {
  beforeAll(async () => {
    await client.putPolicy(POLICY);
  });
  afterAll(async () => {
    await putLoadPolicy(client);
  });

  it("an upstream that honours the forwarded cap never takes used above limit", async () => {
    const { outcomes, meter, forwarded } = await burst("honour", {
      "x-mock-total-tokens": String(ASKED_TOTAL_TOKENS),
    });
    expect(outcomes.filter((o) => o !== "ok" && o !== "refused")).toEqual([]);
    const admitted = outcomes.filter((o) => o === "ok").length;
    // Oversubscribed: each call reserves 113, so at most 17 fit in 2000 and the rest are refused.
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThan(CALLS);
    expect(forwarded).toBe(admitted);
    expect(meter.used).toBeLessThanOrEqual(LIMIT);
    expect(meter.overage).toBe(0);
  });

  it("an upstream that ignores it passes the limit: the forwarded cap is what bounds the meter", async () => {
    const { outcomes, meter } = await burst("ignore", {
      "x-mock-total-tokens": String(ASKED_TOTAL_TOKENS),
      "x-mock-cap": "ignore",
    });
    expect(outcomes.filter((o) => o !== "ok" && o !== "refused")).toEqual([]);
    expect(meter.used).toBeGreaterThan(LIMIT);
  });
});
