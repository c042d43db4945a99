/**
 * Gateway test helpers: a gateway policy, customers with their own gateway key, the official `openai` client
 * pointed at the Worker, and the mock upstream's control routes (counters are per `x-mock-tag`, so test
 * files running in parallel never read each other's requests).
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import OpenAI from "openai";
import { expect, vi } from "vitest";
import { type Json, ok, putPolicy, unique } from "../support/api";

export const GATEWAY_BASE = "http://gate.test/gateway/openai/v1";

/** Plans sized in reservations of "Say hello" with the default budget: ceil(9 / 4) + 100 = 103 tokens. */
export const GATEWAY_POLICY = `
credits:
  token: {}
  request: {}
plans:
  free:
    default: true
    entitlements:
      gpt4o_tokens:
        limit: { credit: token, value: 100000, reset_sch: "monthly:1" }
      embed_tokens:
        limit: { credit: token, value: 100000, reset_inc: 1d }
      api_requests:
        limit: { credit: request, value: 1000, reset_inc: 1d }
  capped:
    entitlements:
      gpt4o_tokens:
        limit: { credit: token, value: 200, reset_inc: 1d }
      api_requests:
        limit: { credit: request, value: 1000, reset_inc: 1d }
  five:
    entitlements:
      gpt4o_tokens:
        limit: { credit: token, value: 515, reset_inc: 1d }
      api_requests:
        limit: { credit: request, value: 1000, reset_inc: 1d }
  one_request:
    entitlements:
      gpt4o_tokens:
        limit: { credit: token, value: 100000, reset_inc: 1d }
      api_requests:
        limit: { credit: request, value: 1, reset_inc: 1d }
  rated:
    entitlements:
      gpt4o_tokens:
        limit: { credit: token, value: 100000, reset_inc: 1d }
        rate: { limit: 150, window: 1m }
      api_requests:
        limit: { credit: request, value: 1000, reset_inc: 1d }
  team:
    entitlements:
      gpt4o_tokens:
        scope: org
        limit: { credit: token, value: 100000, reset_inc: 1d }
      api_requests:
        limit: { credit: request, value: 1, reset_inc: 1d }
  premium:
    entitlements:
      o1_tokens:
        limit: { credit: token, value: 100000, reset_inc: 1d }
      gpt4o_tokens:
        limit: { credit: token, value: 100000, reset_inc: 1d }
      api_requests:
        limit: { credit: request, value: 1000, reset_inc: 1d }
gateway:
  default_max_tokens: 100
  requests: api_requests
  models:
    "gpt-4o*": gpt4o_tokens
    "text-embedding-*": embed_tokens
    "o1*": o1_tokens
`;

/** The prompt every chat test sends, and what the gateway reserves for it with the default budget. */
export const HELLO = [{ role: "user" as const, content: "Say hello" }];
export const HELLO_PROMPT_TOKENS = 3;
export const HELLO_RESERVATION = HELLO_PROMPT_TOKENS + 100;

export const storeGatewayPolicy = () => putPolicy(GATEWAY_POLICY);

/** A customer on `plan` with one gateway key (an alternate ID); `prefix` starts its id. */
export async function newCustomer(plan: string, prefix = "gw"): Promise<{ id: string; key: string }> {
  const id = unique(`${prefix}_${plan}`);
  const key = `sk-tg-${unique("key")}`;
  await ok("PUT", `/v1/customers/${id}`, { plan, alternateIds: [key] });
  return { id, key };
}

/** The official client, talking to the Worker in-process. `tag` marks its upstream requests at the mock. */
export function gatewayClient(
  apiKey: string,
  options: { tag?: string; maxRetries?: number; fetch?: typeof fetch } = {},
): OpenAI {
  return new OpenAI({
    baseURL: GATEWAY_BASE,
    apiKey,
    maxRetries: options.maxRetries ?? 0,
    defaultHeaders: options.tag === undefined ? {} : { "x-mock-tag": options.tag },
    fetch: options.fetch ?? ((url, init) => exports.default.fetch(url, init)),
  });
}

/** One meter of the customer's view (admin API). */
export async function meterOf(id: string, entitlement: string): Promise<Json> {
  const view = await ok("GET", `/v1/customers/${id}`);
  return view.meters[entitlement];
}

/** Wait until nothing is held on the meter (streams settle in `waitUntil`, after the client's last byte). */
export async function settledMeter(id: string, entitlement: string): Promise<Json> {
  return vi.waitFor(
    async () => {
      const meter = await meterOf(id, entitlement);
      expect(meter.held).toBe(0);
      return meter;
    },
    { timeout: 5000, interval: 20 },
  );
}

/** What the mock upstream at `origin` saw under `tag`: how many requests, and the last one. */
export async function upstreamSaw(
  tag: string,
  origin = mockOrigin(),
): Promise<{ count: number; last: Json }> {
  const res = await fetch(`${origin}/__mock/requests?tag=${encodeURIComponent(tag)}`);
  return (await res.json()) as { count: number; last: Json };
}

/** Let the `hold` streams under `tag` of the mock at `origin` go on. */
export async function releaseUpstream(tag: string, origin = mockOrigin()): Promise<void> {
  await fetch(`${origin}/__mock/release?tag=${encodeURIComponent(tag)}`, { method: "POST" });
}

function mockOrigin(): string {
  return new URL(env.OPENAI_BASE_URL).origin;
}

export const newTag = () => unique("tag");
