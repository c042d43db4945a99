/**
 * Anthropic door test helpers: a policy that maps `claude-*`, customers with a gateway key, and the official
 * `@anthropic-ai/sdk` client pointed at the Worker. The SDK appends `/v1/messages` itself, so its `baseURL`
 * is the door's prefix without `/v1`.
 */

import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import Anthropic from "@anthropic-ai/sdk";
import { putPolicy } from "../support/api";
import { newCustomer as newGatewayCustomer, releaseUpstream, upstreamSaw } from "./helpers";

export const ANTHROPIC_GATE = "http://gate.test/gateway/anthropic";

/** Plans sized in reservations of "Say hello" with `max_tokens: 100`: ceil(9 / 4) + 100 = 103 tokens. */
export const ANTHROPIC_POLICY = `
credits:
  token: {}
  request: {}
plans:
  free:
    default: true
    entitlements:
      claude_tokens:
        limit: { credit: token, value: 100000, reset_inc: 1d }
      api_requests:
        limit: { credit: request, value: 1000, reset_inc: 1d }
  capped:
    entitlements:
      claude_tokens:
        limit: { credit: token, value: 50, reset_inc: 1d }
      api_requests:
        limit: { credit: request, value: 1000, reset_inc: 1d }
  five:
    entitlements:
      claude_tokens:
        limit: { credit: token, value: 515, reset_inc: 1d }
      api_requests:
        limit: { credit: request, value: 1000, reset_inc: 1d }
  rated:
    entitlements:
      claude_tokens:
        limit: { credit: token, value: 100000, reset_inc: 1d }
        rate: { limit: 150, window: 1m }
      api_requests:
        limit: { credit: request, value: 1000, reset_inc: 1d }
gateway:
  default_max_tokens: 100
  requests: api_requests
  models:
    "claude-*": claude_tokens
`;

export const HELLO = [{ role: "user" as const, content: "Say hello" }];
export const HELLO_PROMPT_TOKENS = 3;
export const MAX_TOKENS = 100;
export const HELLO_RESERVATION = HELLO_PROMPT_TOKENS + MAX_TOKENS;
export const MODEL = "claude-sonnet-4-5";

export const storeAnthropicPolicy = () => putPolicy(ANTHROPIC_POLICY);

/** A customer on `plan` with one gateway key (an alternate ID). */
export const newCustomer = (plan: string) => newGatewayCustomer(plan, "gwa");

/** The official client, talking to the Worker in-process. `tag` marks its upstream requests at the mock. */
export function anthropicClient(
  apiKey: string,
  options: { tag?: string; headers?: Record<string, string> } = {},
): Anthropic {
  return new Anthropic({
    baseURL: ANTHROPIC_GATE,
    apiKey,
    maxRetries: 0,
    defaultHeaders: {
      ...(options.tag === undefined ? {} : { "x-mock-tag": options.tag }),
      ...options.headers,
    },
    fetch: (url, init) => exports.default.fetch(url, init),
  });
}

/** The mock Anthropic upstream's origin (its control routes are the OpenAI mock's). */
export function anthropicMockOrigin(): string {
  return new URL(env.ANTHROPIC_BASE_URL).origin;
}

/** What the mock Anthropic upstream saw under `tag`: how many requests, and the last one. */
export const anthropicSaw = (tag: string) => upstreamSaw(tag, anthropicMockOrigin());

/** Let the mock Anthropic upstream's `hold` streams under `tag` go on. */
export const releaseAnthropic = (tag: string) => releaseUpstream(tag, anthropicMockOrigin());
