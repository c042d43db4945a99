/**
 * Refusals through the official client (SPEC §6, §11): the SDK raises its usual error classes, the upstream
 * is never called for a refused request, and nothing stays held.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import OpenAI, { type APIError } from "openai";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/index";
import { call, ok, unique } from "../support/api";
import { MOCK_TOTAL_TOKENS } from "../support/mock-upstream";
import {
  GATEWAY_BASE,
  gatewayClient,
  HELLO,
  meterOf,
  newCustomer,
  newTag,
  storeGatewayPolicy,
  upstreamSaw,
} from "./helpers";

beforeAll(async () => {
  await storeGatewayPolicy();
});

afterEach(() => vi.restoreAllMocks());

/** The error a call rejects with. */
async function failure(promise: Promise<unknown>): Promise<APIError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as APIError;
}

/** The official client over an app whose bindings differ from the test's (`overrides`). */
function clientWithEnv(apiKey: string, overrides: Record<string, string | undefined>): OpenAI {
  const app = createApp();
  return new OpenAI({
    baseURL: GATEWAY_BASE,
    apiKey,
    maxRetries: 0,
    fetch: async (url, init) =>
      app.fetch(new Request(url, init), { ...env, ...overrides }, createExecutionContext()),
  });
}

describe("limits and rates", () => {
  it("a request over the cap is a RateLimitError (insufficient_quota); the upstream is never called", async () => {
    const { id, key } = await newCustomer("capped");
    const tag = newTag();
    // The SDK's default retries stay on: the gate tells it (x-should-retry: false) that waiting will not help.
    let sent = 0;
    const client = gatewayClient(key, {
      tag,
      maxRetries: 2,
      fetch: (url, init) => {
        sent += 1;
        return exports.default.fetch(url, init);
      },
    });
    const error = await failure(
      client.chat.completions.create({ model: "gpt-4o", messages: HELLO, max_completion_tokens: 500 }),
    );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error).toMatchObject({
      status: 429,
      code: "insufficient_quota",
      type: "insufficient_quota",
      param: null,
    });
    expect(sent).toBe(1);
    expect(error.headers?.get("ratelimit")).toMatch(/^"gpt4o_tokens";r=200;t=\d+$/);
    expect(error.headers?.get("retry-after")).toBeNull();
    expect((await upstreamSaw(tag)).count).toBe(0);
    expect(await meterOf(id, "gpt4o_tokens")).toMatchObject({ used: 0, held: 0 });
    // The model's entitlement is checked first; a refused call counts no request.
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 0 });
  });

  it("a rate refusal is rate_limit_exceeded with Retry-After", async () => {
    const { key } = await newCustomer("rated");
    const tag = newTag();
    const client = gatewayClient(key, { tag });
    await client.chat.completions.create({ model: "gpt-4o", messages: HELLO });
    // The bucket (150 a minute) had 150; the first call drew 103; 103 more do not fit.
    const error = await failure(client.chat.completions.create({ model: "gpt-4o", messages: HELLO }));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error).toMatchObject({ code: "rate_limit_exceeded", type: "rate_limit_exceeded" });
    const retryAfter = Number(error.headers?.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(error.headers?.get("ratelimit")).toContain(`"gpt4o_tokens.rate";r=0;t=${retryAfter}`);
    expect(error.headers?.get("ratelimit-policy")).toContain('"gpt4o_tokens.rate";q=150;w=60');
    expect((await upstreamSaw(tag)).count).toBe(1);
  });

  it("a denial of gateway.requests cancels the model's reservation", async () => {
    const { id, key } = await newCustomer("one_request");
    const tag = newTag();
    const client = gatewayClient(key, { tag });
    await client.chat.completions.create({ model: "gpt-4o", messages: HELLO });
    const error = await failure(client.chat.completions.create({ model: "gpt-4o", messages: HELLO }));
    expect(error).toMatchObject({ status: 429, code: "insufficient_quota" });
    expect(error.message).toContain("api_requests");
    expect((await upstreamSaw(tag)).count).toBe(1);
    expect(await meterOf(id, "gpt4o_tokens")).toMatchObject({ used: MOCK_TOTAL_TOKENS, held: 0 });
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 1 });
  });

  it("an org-scoped model reserves on the org; a denial of the member's requests cancels it there", async () => {
    const org = unique("gw_org");
    await ok("PUT", `/v1/customers/${org}`, { type: "org", plan: "team" });
    const id = unique("gw_member");
    const key = `sk-tg-${unique("key")}`;
    await ok("PUT", `/v1/customers/${id}`, { plan: "team", org, alternateIds: [key] });
    const tag = newTag();
    const client = gatewayClient(key, { tag });
    await client.chat.completions.create({ model: "gpt-4o", messages: HELLO });
    expect(await meterOf(org, "gpt4o_tokens")).toMatchObject({ used: MOCK_TOTAL_TOKENS, held: 0 });
    const error = await failure(client.chat.completions.create({ model: "gpt-4o", messages: HELLO }));
    expect(error).toMatchObject({ status: 429, code: "insufficient_quota" });
    expect(error.message).toContain("api_requests");
    expect((await upstreamSaw(tag)).count).toBe(1);
    expect(await meterOf(org, "gpt4o_tokens")).toMatchObject({ used: MOCK_TOTAL_TOKENS, held: 0 });
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 1 });
  });
});

describe("models and plans", () => {
  it("a model mapped to an entitlement outside the plan is a PermissionDeniedError (not_entitled)", async () => {
    const { key } = await newCustomer("free");
    const tag = newTag();
    const error = await failure(
      gatewayClient(key, { tag }).chat.completions.create({ model: "o1-mini", messages: HELLO }),
    );
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(error).toMatchObject({ status: 403, code: "not_entitled" });
    expect((await upstreamSaw(tag)).count).toBe(0);
  });

  it("a model no gateway.models pattern matches is a PermissionDeniedError (model_not_allowed)", async () => {
    const { key } = await newCustomer("premium");
    const tag = newTag();
    const client = gatewayClient(key, { tag });
    // Globs are whole-name and case-sensitive: "GPT-4o" is not "gpt-4o*".
    for (const model of ["claude-3-opus", "GPT-4o", "xgpt-4o"]) {
      const error = await failure(client.chat.completions.create({ model, messages: HELLO }));
      expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(error).toMatchObject({ code: "model_not_allowed", param: "model" });
    }
    // The same plan may use the model its entitlement covers.
    await client.chat.completions.create({ model: "o1-mini", messages: HELLO });
    expect((await upstreamSaw(tag)).count).toBe(1);
  });
});

describe("keys", () => {
  it("a key removed a moment ago is refused on the next call (AuthenticationError)", async () => {
    const { id, key } = await newCustomer("free");
    const client = gatewayClient(key);
    await client.chat.completions.create({ model: "gpt-4o", messages: HELLO });
    await ok("DELETE", `/v1/customers/${id}/alternate-ids/${encodeURIComponent(key)}`);
    const error = await failure(client.chat.completions.create({ model: "gpt-4o", messages: HELLO }));
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: "invalid_api_key" });
    expect(error.message).not.toContain(key);
    // Pass-through paths check the key too.
    expect(await failure(client.models.list())).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("a customer's canonical id is not a gateway key, and neither is an unknown one", async () => {
    const { id } = await newCustomer("free");
    for (const key of [id, "sk-nobody"]) {
      const client = gatewayClient(key);
      expect(
        await failure(client.chat.completions.create({ model: "gpt-4o", messages: HELLO })),
      ).toBeInstanceOf(OpenAI.AuthenticationError);
      // 401 comes before 403 and 400: an unknown key learns nothing about models or bodies.
      expect(
        await failure(client.chat.completions.create({ model: "nope", messages: HELLO })),
      ).toBeInstanceOf(OpenAI.AuthenticationError);
    }
  });

  it("a request without a bearer token is 401 in OpenAI's shape", async () => {
    const res = await exports.default.fetch(`${GATEWAY_BASE}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "gpt-4o", messages: HELLO }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: {
        message: expect.any(String),
        type: "invalid_request_error",
        code: "invalid_api_key",
        param: null,
      },
    });
    expect(res.headers.get("x-request-id")).not.toBeNull();
  });
});

describe("bad requests and broken infrastructure", () => {
  it("invalid JSON and a missing model are 400 (BadRequestError) for a known key", async () => {
    const { key } = await newCustomer("free");
    const bad = await exports.default.fetch(`${GATEWAY_BASE}/chat/completions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: "{",
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { code: "invalid_json", type: "invalid_request_error" },
    });
    const client = gatewayClient(key);
    const error = await failure(client.chat.completions.create({ messages: HELLO } as never));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ param: "model" });
  });

  it("a body over 16 MiB is 413", async () => {
    const { key } = await newCustomer("free");
    const res = await exports.default.fetch(`${GATEWAY_BASE}/embeddings`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify({ model: "text-embedding-3-small", input: "x".repeat(16 * 1024 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "payload_too_large" } });
  });

  it("without OPENAI_API_KEY the gateway answers 503 not_configured", async () => {
    const { key } = await newCustomer("free");
    const error = await failure(
      clientWithEnv(key, { OPENAI_API_KEY: undefined }).chat.completions.create({
        model: "gpt-4o",
        messages: HELLO,
      }),
    );
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error).toMatchObject({ status: 503, code: "not_configured" });
  });

  it("an unreachable upstream is 502, settles 0, and no log shows a key", async () => {
    const { id, key } = await newCustomer("free");
    const lines: string[] = [];
    for (const level of ["log", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.join(" ")));
    }
    const client = clientWithEnv(key, { OPENAI_BASE_URL: "http://127.0.0.1:9/v1" });
    const error = await failure(client.chat.completions.create({ model: "gpt-4o", messages: HELLO }));
    expect(error).toMatchObject({ status: 502, code: "upstream_unreachable" });
    expect(await meterOf(id, "gpt4o_tokens")).toMatchObject({ used: 0, held: 0 });
    expect(lines.some((line) => line.includes("gateway upstream unreachable"))).toBe(true);
    const logged = lines.join("\n");
    expect(logged).not.toContain(key);
    expect(logged).toContain(key.slice(0, 6));
    expect(logged).not.toContain("sk-test-upstream");
  });

  it("an upstream error passes through and settles 0", async () => {
    const { id, key } = await newCustomer("free");
    const client = gatewayClient(key);
    const error = await failure(
      client.chat.completions.create(
        { model: "gpt-4o", messages: HELLO },
        { headers: { "x-mock-mode": "error" } },
      ),
    );
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error).toMatchObject({ status: 500, code: "mock_error" });
    expect(error.message).toContain("mock upstream error 500 for Bearer [redacted]");
    expect(error.headers?.get("ratelimit")).toMatch(/^"gpt4o_tokens";r=100000;t=\d+, "api_requests";r=999;/);
    const bad = await failure(
      client.chat.completions.create(
        { model: "gpt-4o", messages: HELLO, stream: true },
        { headers: { "x-mock-mode": "error", "x-mock-status": "400" } },
      ),
    );
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(await meterOf(id, "gpt4o_tokens")).toMatchObject({ used: 0, held: 0 });
    // Each call still counted as a request.
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 2 });
  });

  it("an upstream that refuses the gateway's own key is 502, not the caller's AuthenticationError", async () => {
    const { id, key } = await newCustomer("free");
    const refused = { headers: { "x-mock-mode": "error", "x-mock-status": "401" } };
    const client = gatewayClient(key);
    const error = await failure(
      client.chat.completions.create({ model: "gpt-4o", messages: HELLO }, refused),
    );
    expect(error).toMatchObject({ status: 502, code: "upstream_auth_failed" });
    expect(error.message).not.toContain("sk-test-upstream");
    expect(await meterOf(id, "gpt4o_tokens")).toMatchObject({ used: 0, held: 0 });
    expect(await failure(client.models.list(refused))).toMatchObject({
      status: 502,
      code: "upstream_auth_failed",
    });
  });

  it("the admin token is not a gateway key and /gateway needs no admin token", async () => {
    const res = await call("POST", "/gateway/openai/v1/chat/completions", {
      model: "gpt-4o",
      messages: HELLO,
    });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: { code: "invalid_api_key", param: null } });
  });
});
