/**
 * The gateway driven by the official `openai` client against the mock upstream: each endpoint is metered by
 * the usage the upstream reported (SPEC §6, §11), and every answer carries the RateLimit headers.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { MOCK_CHUNKS, MOCK_TEXT, MOCK_TOTAL_TOKENS } from "../support/mock-upstream";
import {
  gatewayClient,
  HELLO,
  HELLO_PROMPT_TOKENS,
  HELLO_RESERVATION,
  meterOf,
  newCustomer,
  newTag,
  settledMeter,
  storeGatewayPolicy,
  upstreamSaw,
} from "./helpers";

beforeAll(async () => {
  await storeGatewayPolicy();
});

describe("chat completions", () => {
  it("a non-streaming call is settled with the upstream's usage", async () => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    const { data, response } = await gatewayClient(key, { tag })
      .chat.completions.create({ model: "gpt-4o-mini", messages: HELLO })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(MOCK_TEXT);
    expect(data.usage?.total_tokens).toBe(MOCK_TOTAL_TOKENS);
    // The settle leaves before the answer but is not waited for (README "Gateway"): wait for the hold to go.
    expect(await settledMeter(id, "gpt4o_tokens")).toMatchObject({ used: MOCK_TOTAL_TOKENS, held: 0 });
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 1, held: 0 });

    const saw = await upstreamSaw(tag);
    expect(saw.count).toBe(1);
    expect(saw.last.path).toBe("/v1/chat/completions");
    expect(saw.last.headers.authorization).toBe("Bearer sk-test-upstream");
    expect(JSON.stringify(saw.last.headers)).not.toContain(key);
    // What describes the gateway's own upstream account stays behind.
    expect(response.headers.get("x-ratelimit-remaining-tokens")).toBeNull();
    expect(response.headers.get("openai-organization")).toBeNull();
    expect(response.headers.get("x-upstream-request-id")).toMatch(/^req_mock_/);
  });

  it("carries IETF RateLimit headers for the model's entitlement and gateway.requests, as at admission", async () => {
    const { id, key } = await newCustomer("free");
    const { response } = await gatewayClient(key)
      .chat.completions.create({ model: "gpt-4o", messages: HELLO })
      .withResponse();
    const policy = response.headers.get("ratelimit-policy") ?? "";
    expect(policy).toMatch(/^"gpt4o_tokens";q=100000;w=\d+, "api_requests";q=1000;w=86400$/);
    // A calendar month: 28 to 31 days.
    const window = Number(/w=(\d+)/.exec(policy)?.[1]);
    expect(window).toBeGreaterThanOrEqual(28 * 86400);
    expect(window).toBeLessThanOrEqual(31 * 86400);
    // A non-streaming answer, like a stream, shows the state at admission: the whole reservation held.
    const limits = response.headers.get("ratelimit") ?? "";
    expect(limits).toMatch(
      new RegExp(`^"gpt4o_tokens";r=${100000 - HELLO_RESERVATION};t=\\d+, "api_requests";r=999;t=86400$`),
    );
    // The settle then brings the meter to what the upstream reported.
    expect(await settledMeter(id, "gpt4o_tokens")).toMatchObject({ used: MOCK_TOTAL_TOKENS });
  });

  it("a stream is metered by its final usage chunk, which the gateway asked for", async () => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    const stream = await gatewayClient(key, { tag }).chat.completions.create({
      model: "gpt-4o-mini",
      messages: HELLO,
      stream: true,
    });
    let text = "";
    const usages: number[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usages.push(chunk.usage.total_tokens);
    }
    expect(text).toBe(MOCK_TEXT);
    // The added usage chunk passes through (SPEC §11); a client that did not ask for it just sees empty choices.
    expect(usages).toEqual([MOCK_TOTAL_TOKENS]);
    const saw = await upstreamSaw(tag);
    expect(saw.last.body.stream_options).toEqual({ include_usage: true });
    expect(await settledMeter(id, "gpt4o_tokens")).toMatchObject({ used: MOCK_TOTAL_TOKENS, held: 0 });
  });

  it("a client that asked for usage itself has its body forwarded untouched", async () => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    const stream = await gatewayClient(key, { tag }).chat.completions.create({
      model: "gpt-4o-mini",
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 50,
    });
    for await (const _ of stream) {
      // drain
    }
    const saw = await upstreamSaw(tag);
    expect(saw.last.body).toMatchObject({
      stream_options: { include_usage: true },
      max_completion_tokens: 50,
    });
    expect(await settledMeter(id, "gpt4o_tokens")).toMatchObject({ used: MOCK_TOTAL_TOKENS });
  });

  it("a 2xx without usage settles the character estimate", async () => {
    const { id, key } = await newCustomer("free");
    const client = gatewayClient(key);
    const estimate = HELLO_PROMPT_TOKENS + Math.ceil(MOCK_TEXT.length / 4);
    await client.chat.completions.create(
      { model: "gpt-4o-mini", messages: HELLO },
      { headers: { "x-mock-mode": "nousage" } },
    );
    expect(await meterOf(id, "gpt4o_tokens")).toMatchObject({ used: estimate, held: 0 });
    const stream = await client.chat.completions.create(
      { model: "gpt-4o-mini", messages: HELLO, stream: true },
      { headers: { "x-mock-mode": "nousage" } },
    );
    for await (const _ of stream) {
      // drain
    }
    expect(await settledMeter(id, "gpt4o_tokens")).toMatchObject({ used: 2 * estimate, held: 0 });
  });
});

describe("the other metered endpoints", () => {
  it("Responses API, streaming and not, is metered by response.usage", async () => {
    const { id, key } = await newCustomer("free");
    const client = gatewayClient(key);
    const response = await client.responses.create({
      model: "gpt-4o-mini",
      instructions: "Be brief.",
      input: "Say hello",
      max_output_tokens: 64,
    });
    expect(response.output_text).toBe(MOCK_TEXT);
    expect(await meterOf(id, "gpt4o_tokens")).toMatchObject({ used: MOCK_TOTAL_TOKENS, held: 0 });

    const stream = await client.responses.create({ model: "gpt-4o-mini", input: "Say hello", stream: true });
    const deltas: string[] = [];
    let completed = false;
    for await (const event of stream) {
      if (event.type === "response.output_text.delta") deltas.push(event.delta);
      if (event.type === "response.completed") completed = true;
    }
    expect(deltas).toEqual(MOCK_CHUNKS);
    expect(completed).toBe(true);
    expect(await settledMeter(id, "gpt4o_tokens")).toMatchObject({ used: 2 * MOCK_TOTAL_TOKENS });
  });

  it("embeddings reserve the prompt only and settle usage.total_tokens", async () => {
    const { id, key } = await newCustomer("free");
    const result = await gatewayClient(key).embeddings.create({
      model: "text-embedding-3-small",
      input: ["first text", "second text"],
    });
    // The SDK asked for base64 and decoded it: the body passed through byte for byte.
    expect(result.data).toHaveLength(2);
    expect(result.data[0]?.embedding[0]).toBeCloseTo(0.125);
    expect(await meterOf(id, "embed_tokens")).toMatchObject({ used: 10, held: 0 });
  });

  it("legacy completions, streaming and not", async () => {
    const { id, key } = await newCustomer("free");
    const client = gatewayClient(key);
    const done = await client.completions.create({
      model: "gpt-4o-mini",
      prompt: "Say hello",
      max_tokens: 20,
    });
    expect(done.choices[0]?.text).toBe(MOCK_TEXT);
    const stream = await client.completions.create({
      model: "gpt-4o-mini",
      prompt: "Say hello",
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe(MOCK_TEXT);
    expect(await settledMeter(id, "gpt4o_tokens")).toMatchObject({ used: 2 * MOCK_TOTAL_TOKENS });
  });

  it("GET models is forwarded and counts only gateway.requests", async () => {
    const { id, key } = await newCustomer("free");
    const { data, response } = await gatewayClient(key).models.list().withResponse();
    expect(data.data.map((model) => model.id)).toContain("gpt-4o");
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 1 });
    expect(await meterOf(id, "gpt4o_tokens")).toMatchObject({ used: 0, held: 0 });
    expect(response.headers.get("ratelimit")).toMatch(/^"api_requests";r=999;t=86400$/);
  });
});
