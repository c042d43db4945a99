/**
 * Anthropic streams through the gateway (SPEC §6, §11): what a stream settles when it ends early. Cut short
 * (upstream died, client went away) after `message_start`: the input classes seen + max(output seen,
 * ceil(streamed chars / 4)); an `error` event: what was reported. Every end frees the hold. And 20 concurrent
 * streams against a cap that fits 5 admit exactly 5.
 */
import Anthropic from "@anthropic-ai/sdk";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CUTOFF_CHUNKS,
  MOCK_CHUNKS,
  MOCK_INPUT_CLASSES,
  MOCK_START_OUTPUT_TOKENS,
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
  releaseAnthropic,
  storeAnthropicPolicy,
} from "./anthropic-helpers";
import { meterOf, newTag, settledMeter } from "./helpers";

const heldTags: string[] = [];

beforeAll(async () => {
  await storeAnthropicPolicy();
});

// A test that fails midway must not leave a mock stream waiting forever.
afterEach(async () => {
  for (const tag of heldTags.splice(0)) await releaseAnthropic(tag);
});

/** What a stream cut after `text` settles: the input classes seen and the larger output. */
const cutEstimate = (text: string) =>
  MOCK_INPUT_CLASSES + Math.max(MOCK_START_OUTPUT_TOKENS, Math.ceil(text.length / 4));

const request = { model: MODEL, max_tokens: MAX_TOKENS, messages: HELLO, stream: true as const };

async function drain(
  stream: AsyncIterable<Anthropic.RawMessageStreamEvent>,
): Promise<{ text: string; error: unknown }> {
  let text = "";
  try {
    for await (const event of stream) {
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
    }
    return { text, error: null };
  } catch (error) {
    return { text, error };
  }
}

describe("streams that end early", () => {
  it("an upstream that dies midway settles the input classes and the estimated output, freeing the hold", async () => {
    const { id, key } = await newCustomer("free");
    const client = anthropicClient(key, { headers: { "x-mock-mode": "cutoff" } });
    const { text, error } = await drain(await client.messages.create(request));
    expect(error).not.toBeNull();
    const streamed = MOCK_CHUNKS.slice(0, CUTOFF_CHUNKS).join("");
    expect(text).toBe(streamed);
    expect(await settledMeter(id, "claude_tokens")).toMatchObject({ used: cutEstimate(streamed), held: 0 });
  });

  it("a client that goes away mid-stream is settled with what it was sent", async () => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    heldTags.push(tag);
    const stream = await anthropicClient(key, { tag, headers: { "x-mock-mode": "hold" } }).messages.create(
      request,
    );
    let text = "";
    for await (const event of stream) {
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
      // Leaving the loop aborts the request (the SDK cancels the body).
      if (text !== "") break;
    }
    expect(text).toBe(MOCK_CHUNKS[0]);
    expect(await settledMeter(id, "claude_tokens")).toMatchObject({ used: cutEstimate(text), held: 0 });
  });

  it("an error event settles what was reported (input classes and message_start's output)", async () => {
    const { id, key } = await newCustomer("free");
    const client = anthropicClient(key, { headers: { "x-mock-mode": "error-event" } });
    const { error } = await drain(await client.messages.create(request));
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(await settledMeter(id, "claude_tokens")).toMatchObject({
      used: MOCK_INPUT_CLASSES + MOCK_START_OUTPUT_TOKENS,
      held: 0,
    });
  });

  it("messages.stream aborted by the client settles and frees the hold", async () => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    heldTags.push(tag);
    const stream = anthropicClient(key, { tag, headers: { "x-mock-mode": "hold" } }).messages.stream(request);
    const first = await new Promise<string>((resolve) => stream.on("text", (delta) => resolve(delta)));
    stream.abort();
    await stream.done().catch(() => undefined);
    expect(first).toBe(MOCK_CHUNKS[0]);
    expect(await settledMeter(id, "claude_tokens")).toMatchObject({ used: cutEstimate(first), held: 0 });
  });

  it("a non-streaming body cut short is 502 api_error and frees the hold", async () => {
    const { id, key } = await newCustomer("free");
    const client = anthropicClient(key, { headers: { "x-mock-mode": "cutoff" } });
    const error = await client.messages.create({ ...request, stream: false }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      error: { type: "api_error" },
    });
    const meter = await meterOf(id, "claude_tokens");
    expect(meter.held).toBe(0);
    expect(meter.used).toBeGreaterThan(0);
  });
});

describe("concurrency", () => {
  it("20 concurrent streams against a cap that fits 5 admit exactly 5", async () => {
    // Plan "five": 515 tokens = 5 reservations of 103. Each upstream call reports 150 output tokens beyond
    // its cap (`x-mock-cap: ignore`), so a stream that ends early frees no room for a sixth.
    const { id, key } = await newCustomer("five");
    const tag = newTag();
    const output = 150;
    const client = anthropicClient(key, {
      tag,
      headers: { "x-mock-output-tokens": String(output), "x-mock-cap": "ignore" },
    });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async () => {
        try {
          const { text, error } = await drain(await client.messages.create(request));
          if (error !== null) return String(error);
          return text === MOCK_TEXT ? "streamed" : `partial: ${text}`;
        } catch (error) {
          return error instanceof Anthropic.RateLimitError ? "refused" : String(error);
        }
      }),
    );
    expect(outcomes.filter((o) => o === "streamed")).toHaveLength(5);
    expect(outcomes.filter((o) => o === "refused")).toHaveLength(15);
    expect((await anthropicSaw(tag)).count).toBe(5);
    const each = MOCK_INPUT_CLASSES + output;
    expect(await settledMeter(id, "claude_tokens")).toMatchObject({
      used: 5 * each,
      held: 0,
      overage: 5 * each - 515,
    });
    expect(HELLO_RESERVATION * 5).toBe(515);
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 5 });
  });
});
