/**
 * Streams through the gateway (SPEC §6, §11): unbuffered pass-through, reservations that hold under
 * concurrency, and the three abnormal ends (upstream cut, client gone, no usage) settled with the estimate
 * `ceil(prompt chars / 4) + ceil(streamed chars / 4)`, freeing the hold.
 */
import OpenAI from "openai";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CUTOFF_CHUNKS, MOCK_CHUNKS, MOCK_TEXT, MOCK_TOTAL_TOKENS } from "../support/mock-upstream";
import {
  gatewayClient,
  HELLO,
  HELLO_PROMPT_TOKENS,
  HELLO_RESERVATION,
  meterOf,
  newCustomer,
  newTag,
  releaseUpstream,
  settledMeter,
  storeGatewayPolicy,
  upstreamSaw,
} from "./helpers";

const heldTags: string[] = [];

beforeAll(async () => {
  await storeGatewayPolicy();
});

// A test that fails midway must not leave a mock stream waiting forever.
afterEach(async () => {
  for (const tag of heldTags.splice(0)) await releaseUpstream(tag);
});

const estimate = (streamedText: string) => HELLO_PROMPT_TOKENS + Math.ceil(streamedText.length / 4);

describe("pass-through", () => {
  it("the first chunk reaches the client while the upstream is still generating", async () => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    heldTags.push(tag);
    const stream = await gatewayClient(key, { tag }).chat.completions.create(
      { model: "gpt-4o", messages: HELLO, stream: true },
      { headers: { "x-mock-mode": "hold" } },
    );
    const iterator = stream[Symbol.asyncIterator]();
    let text = "";
    // The mock sends its role chunk and one content chunk, then waits for a release that has not happened.
    while (text === "") {
      const next = await iterator.next();
      expect(next.done).toBe(false);
      text += next.value.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe(MOCK_CHUNKS[0]);
    // Still generating: the reservation is held.
    expect(await meterOf(id, "gpt4o_tokens")).toMatchObject({ used: 0, held: HELLO_RESERVATION });
    await releaseUpstream(tag);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      text += next.value.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe(MOCK_TEXT);
    expect(await settledMeter(id, "gpt4o_tokens")).toMatchObject({ used: MOCK_TOTAL_TOKENS, held: 0 });
  });
});

describe("concurrency", () => {
  it("20 concurrent streams against a cap that fits 5 admit exactly 5", async () => {
    // Plan "five": 515 tokens = 5 reservations of 103. Each upstream call then reports 150 tokens, more
    // than its reservation: the cap is passed by exactly what the upstream returned beyond the reservations.
    // Since issue 9 the gateway sends the reserved output cap, so only an upstream that ignores it
    // (`x-mock-cap: ignore`) can return that much.
    const { id, key } = await newCustomer("five");
    const tag = newTag();
    const client = gatewayClient(key, { tag });
    const reported = 150;
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async () => {
        try {
          const stream = await client.chat.completions.create(
            { model: "gpt-4o", messages: HELLO, stream: true },
            { headers: { "x-mock-total-tokens": String(reported), "x-mock-cap": "ignore" } },
          );
          let text = "";
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
          return text === MOCK_TEXT ? "streamed" : `partial: ${text}`;
        } catch (error) {
          return error instanceof OpenAI.RateLimitError && error.code === "insufficient_quota"
            ? "refused"
            : String(error);
        }
      }),
    );
    expect(outcomes.filter((o) => o === "streamed")).toHaveLength(5);
    expect(outcomes.filter((o) => o === "refused")).toHaveLength(15);
    expect((await upstreamSaw(tag)).count).toBe(5);
    expect(await settledMeter(id, "gpt4o_tokens")).toMatchObject({
      used: 5 * reported,
      held: 0,
      overage: 5 * (reported - HELLO_RESERVATION),
    });
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 5 });
  });
});

describe("streams cut short", () => {
  it("an upstream that dies midway settles the estimate and frees the hold", async () => {
    const { id, key } = await newCustomer("free");
    const stream = await gatewayClient(key).chat.completions.create(
      { model: "gpt-4o", messages: HELLO, stream: true },
      { headers: { "x-mock-mode": "cutoff" } },
    );
    let text = "";
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    })().then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).not.toBeNull();
    const streamed = MOCK_CHUNKS.slice(0, CUTOFF_CHUNKS).join("");
    expect(text).toBe(streamed);
    expect(await settledMeter(id, "gpt4o_tokens")).toMatchObject({ used: estimate(streamed), held: 0 });
  });

  it("a Responses stream that dies midway is estimated from its text deltas", async () => {
    const { id, key } = await newCustomer("free");
    const stream = await gatewayClient(key).responses.create(
      { model: "gpt-4o", input: "Say hello", stream: true },
      { headers: { "x-mock-mode": "cutoff" } },
    );
    await (async () => {
      for await (const _ of stream) {
        // drain until the connection dies
      }
    })().catch(() => undefined);
    const streamed = MOCK_CHUNKS.slice(0, CUTOFF_CHUNKS).join("");
    expect(await settledMeter(id, "gpt4o_tokens")).toMatchObject({ used: estimate(streamed), held: 0 });
  });

  it("a client that disconnects mid-stream is settled with the estimate of what it was sent", async () => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    heldTags.push(tag);
    const stream = await gatewayClient(key, { tag }).chat.completions.create(
      { model: "gpt-4o", messages: HELLO, stream: true },
      { headers: { "x-mock-mode": "hold" } },
    );
    let text = "";
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      // Leaving the loop aborts the request (the SDK cancels the body).
      if (text !== "") break;
    }
    expect(text).toBe(MOCK_CHUNKS[0]);
    expect(await settledMeter(id, "gpt4o_tokens")).toMatchObject({ used: estimate(text), held: 0 });
  });

  it("a non-streaming body cut short is 502 and settles the estimate of what arrived", async () => {
    const { id, key } = await newCustomer("free");
    const error = await gatewayClient(key)
      .chat.completions.create({ model: "gpt-4o", messages: HELLO }, { headers: { "x-mock-mode": "cutoff" } })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ status: 502, code: "upstream_incomplete" });
    const meter = await meterOf(id, "gpt4o_tokens");
    expect(meter.held).toBe(0);
    expect(meter.used).toBeGreaterThan(HELLO_PROMPT_TOKENS);
  });
});
