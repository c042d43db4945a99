/**
 * The Anthropic door through the official `@anthropic-ai/sdk` (SPEC §6): calls metered exactly by the
 * upstream's usage classes, forwarded endpoints counted as one request, and refusals the SDK raises as its
 * usual error classes.
 */
import Anthropic from "@anthropic-ai/sdk";
import { beforeAll, describe, expect, it } from "vitest";
import {
  MOCK_CACHE_READ_TOKENS,
  MOCK_CACHE_WRITE_TOKENS,
  MOCK_COUNTED_TOKENS,
  MOCK_INPUT_TOKENS,
  MOCK_MESSAGE_TOTAL,
  MOCK_TEXT,
} from "../support/mock-anthropic";
import {
  anthropicClient,
  anthropicSaw,
  HELLO,
  HELLO_RESERVATION,
  MAX_TOKENS,
  MODEL,
  newCustomer,
  storeAnthropicPolicy,
} from "./anthropic-helpers";
import { meterOf, newTag, settledMeter } from "./helpers";

beforeAll(async () => {
  await storeAnthropicPolicy();
});

const refusal = async (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

describe("messages", () => {
  it("messages.create is metered by the usage classes the upstream reported, cache included", async () => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    const client = anthropicClient(key, { tag, headers: { "anthropic-beta": "prompt-caching-2024-07-31" } });
    const message = await client.messages.create({ model: MODEL, max_tokens: MAX_TOKENS, messages: HELLO });
    expect(message.content).toEqual([{ type: "text", text: MOCK_TEXT }]);
    expect(message.usage).toMatchObject({
      input_tokens: MOCK_INPUT_TOKENS,
      cache_creation_input_tokens: MOCK_CACHE_WRITE_TOKENS,
      cache_read_input_tokens: MOCK_CACHE_READ_TOKENS,
    });
    const u = message.usage;
    const sum =
      u.input_tokens +
      (u.cache_creation_input_tokens ?? 0) +
      (u.cache_read_input_tokens ?? 0) +
      u.output_tokens;
    expect(sum).toBe(MOCK_MESSAGE_TOTAL);
    expect(await meterOf(id, "claude_tokens")).toMatchObject({ used: MOCK_MESSAGE_TOTAL, held: 0 });
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 1 });
    // The gateway's key went upstream as x-api-key; the customer's key did not; the version passed through.
    const { last } = await anthropicSaw(tag);
    expect(last.headers["x-api-key"]).toBe("sk-ant-test-upstream");
    expect(JSON.stringify(last.headers)).not.toContain(key);
    expect(last.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(last.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
    expect(last.body).toMatchObject({ model: MODEL, max_tokens: MAX_TOKENS, messages: HELLO });
  });

  it("messages.stream is metered by message_start's input classes and the last message_delta", async () => {
    const { id, key } = await newCustomer("free");
    const stream = anthropicClient(key).messages.stream({
      model: MODEL,
      max_tokens: MAX_TOKENS,
      messages: HELLO,
    });
    const final = await stream.finalMessage();
    expect(final.content).toMatchObject([{ type: "text", text: MOCK_TEXT }]);
    expect(await settledMeter(id, "claude_tokens")).toMatchObject({ used: MOCK_MESSAGE_TOTAL, held: 0 });
  });

  it("a message_delta that carries output_tokens only keeps message_start's input classes", async () => {
    const { id, key } = await newCustomer("free");
    const client = anthropicClient(key, { headers: { "x-mock-delta-usage": "output" } });
    const stream = await client.messages.create({
      model: MODEL,
      max_tokens: MAX_TOKENS,
      messages: HELLO,
      stream: true,
    });
    for await (const _ of stream) {
      // drain
    }
    expect(await settledMeter(id, "claude_tokens")).toMatchObject({ used: MOCK_MESSAGE_TOTAL, held: 0 });
  });

  it("the upstream honours max_tokens: a short cap reports and meters less", async () => {
    const { id, key } = await newCustomer("free");
    const message = await anthropicClient(key).messages.create({
      model: MODEL,
      max_tokens: 2,
      messages: HELLO,
    });
    expect(message.stop_reason).toBe("max_tokens");
    expect(message.usage.output_tokens).toBe(2);
    expect(await meterOf(id, "claude_tokens")).toMatchObject({
      used: MOCK_INPUT_TOKENS + MOCK_CACHE_WRITE_TOKENS + MOCK_CACHE_READ_TOKENS + 2,
    });
  });
});

describe("forwarded endpoints", () => {
  it("count_tokens is forwarded and counted as one request, no tokens", async () => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    const counted = await anthropicClient(key, { tag }).messages.countTokens({
      model: MODEL,
      messages: HELLO,
    });
    expect(counted).toEqual({ input_tokens: MOCK_COUNTED_TOKENS });
    expect(await anthropicSaw(tag)).toMatchObject({ count: 1, last: { path: "/v1/messages/count_tokens" } });
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 1 });
    expect(await meterOf(id, "claude_tokens")).toMatchObject({ used: 0, held: 0 });
  });

  it("models and models/{id} are forwarded, one request each", async () => {
    const { id, key } = await newCustomer("free");
    const client = anthropicClient(key);
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toContain(MODEL);
    expect(await client.models.retrieve(MODEL)).toMatchObject({ id: MODEL, type: "model" });
    expect(await refusal(client.models.retrieve("claude-nope"))).toBeInstanceOf(Anthropic.NotFoundError);
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 3 });
  });
});

describe("refusals", () => {
  it("over the cap: RateLimitError in Anthropic's shape, upstream never called", async () => {
    const { id, key } = await newCustomer("capped");
    const tag = newTag();
    const error = await refusal(
      anthropicClient(key, { tag }).messages.create({
        model: MODEL,
        max_tokens: MAX_TOKENS,
        messages: HELLO,
      }),
    );
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const e = error as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.error).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(e.headers.get("x-should-retry")).toBe("false");
    expect(e.headers.get("ratelimit-policy")).toContain('"claude_tokens";q=50');
    expect((await anthropicSaw(tag)).count).toBe(0);
    expect(await meterOf(id, "claude_tokens")).toMatchObject({ used: 0, held: 0 });
  });

  it("a rate refusal is 429 rate_limit_error with Retry-After", async () => {
    const { key } = await newCustomer("rated");
    const client = anthropicClient(key);
    await client.messages.create({ model: MODEL, max_tokens: MAX_TOKENS, messages: HELLO });
    const error = await refusal(
      client.messages.create({ model: MODEL, max_tokens: MAX_TOKENS, messages: HELLO }),
    );
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const e = error as InstanceType<typeof Anthropic.RateLimitError>;
    expect(Number(e.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(e.headers.get("ratelimit")).toContain('"claude_tokens.rate";r=0');
  });

  it("an unknown key: AuthenticationError", async () => {
    const error = await refusal(
      anthropicClient("sk-tg-nobody").messages.create({
        model: MODEL,
        max_tokens: MAX_TOKENS,
        messages: HELLO,
      }),
    );
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "authentication_error" },
    });
  });

  it("an unmapped model: PermissionDeniedError, upstream never called", async () => {
    const { key } = await newCustomer("free");
    const tag = newTag();
    const error = await refusal(
      anthropicClient(key, { tag }).messages.create({
        model: "mistral-large",
        max_tokens: MAX_TOKENS,
        messages: HELLO,
      }),
    );
    expect(error).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      error: { type: "permission_error" },
    });
    expect((await anthropicSaw(tag)).count).toBe(0);
  });

  it("an unknown path: NotFoundError in Anthropic's shape", async () => {
    const { key } = await newCustomer("free");
    const client = anthropicClient(key);
    const error = await refusal(client.get("/v1/files"));
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "not_found_error" },
    });
  });

  it("max_tokens missing or not a positive integer: BadRequestError, nothing reserved", async () => {
    const { id, key } = await newCustomer("free");
    const client = anthropicClient(key);
    for (const max_tokens of [undefined, 0, -1, 1.5, "100"]) {
      const error = await refusal(
        client.messages.create({
          model: MODEL,
          messages: HELLO,
          max_tokens,
        } as unknown as Anthropic.MessageCreateParamsNonStreaming),
      );
      expect(error).toBeInstanceOf(Anthropic.BadRequestError);
      expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
        error: { type: "invalid_request_error" },
      });
    }
    expect(await meterOf(id, "claude_tokens")).toMatchObject({ used: 0, held: 0 });
  });

  it("an upstream error settles 0 and reaches the client without the gateway's key", async () => {
    const { id, key } = await newCustomer("free");
    const client = anthropicClient(key, { headers: { "x-mock-mode": "error", "x-mock-status": "529" } });
    const error = await refusal(
      client.messages.create({ model: MODEL, max_tokens: MAX_TOKENS, messages: HELLO }),
    );
    expect(error).toBeInstanceOf(Anthropic.APIError);
    const e = error as InstanceType<typeof Anthropic.APIError>;
    expect(e.status).toBe(529);
    expect(JSON.stringify(e.error)).not.toContain("sk-ant-test-upstream");
    expect(JSON.stringify(e.error)).toContain("[redacted]");
    expect(e.headers?.get("x-mock-echo")).toBe("x-api-key=[redacted]");
    expect(e.headers?.get("anthropic-ratelimit-tokens-remaining")).toBeNull();
    expect(await meterOf(id, "claude_tokens")).toMatchObject({ used: 0, held: 0 });
  });
});

describe("reservation", () => {
  it("reserves ceil(prompt chars / 4) + max_tokens while the call is in flight", async () => {
    const { id, key } = await newCustomer("free");
    const stream = await anthropicClient(key, {
      headers: { "x-mock-mode": "slow", "x-mock-delay-ms": "30" },
    }).messages.create({
      model: MODEL,
      max_tokens: MAX_TOKENS,
      messages: HELLO,
      stream: true,
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    expect(await meterOf(id, "claude_tokens")).toMatchObject({ used: 0, held: HELLO_RESERVATION });
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      // drain
    }
    expect(await settledMeter(id, "claude_tokens")).toMatchObject({ used: MOCK_MESSAGE_TOTAL, held: 0 });
  });
});
