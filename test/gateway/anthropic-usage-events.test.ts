/**
 * Token classes through the Anthropic door (SPEC §6): the mock reports input, cache-creation and cache-read
 * tokens, and the settle's `meter.changed` event carries them class by class in `data.usage` with the model
 * and the door, whether the answer was a whole message or a stream (`message_start` + the last
 * `message_delta`). The meter records their sum.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { allEvents, type Json } from "../support/api";
import {
  MOCK_CACHE_READ_TOKENS,
  MOCK_CACHE_WRITE_TOKENS,
  MOCK_INPUT_TOKENS,
  MOCK_MESSAGE_TOTAL,
} from "../support/mock-anthropic";
import {
  anthropicClient,
  HELLO,
  MAX_TOKENS,
  MODEL,
  newCustomer,
  storeAnthropicPolicy,
} from "./anthropic-helpers";
import { settledMeter } from "./helpers";

beforeAll(async () => {
  await storeAnthropicPolicy();
});

const OUTPUT = MOCK_MESSAGE_TOTAL - MOCK_INPUT_TOKENS - MOCK_CACHE_WRITE_TOKENS - MOCK_CACHE_READ_TOKENS;
const EXPECTED = {
  input: MOCK_INPUT_TOKENS,
  cached_input: MOCK_CACHE_READ_TOKENS,
  cache_write: MOCK_CACHE_WRITE_TOKENS,
  output: OUTPUT,
  reasoning: 0,
  model: MODEL,
  door: "anthropic",
};

async function settleEvent(id: string): Promise<Json> {
  await settledMeter(id, "claude_tokens");
  const settles = (await allEvents(id)).filter(
    (event) =>
      event.type === "meter.changed" &&
      event.entitlement === "claude_tokens" &&
      event.data.operation === "settle",
  );
  expect(settles).toHaveLength(1);
  return settles[0];
}

describe("data.usage on the Anthropic door", () => {
  it("messages.create: the settle event carries each class the upstream reported", async () => {
    expect(OUTPUT).toBeGreaterThan(0);
    const { id, key } = await newCustomer("free");
    const message = await anthropicClient(key).messages.create({
      model: MODEL,
      max_tokens: MAX_TOKENS,
      messages: HELLO,
    });
    expect(message.usage.output_tokens).toBe(OUTPUT);
    const event = await settleEvent(id);
    expect(event.data.usage).toEqual(EXPECTED);
    expect(event.data.amount).toBe(MOCK_MESSAGE_TOTAL);
  });

  it("messages.stream: the same classes, read from message_start and the last message_delta", async () => {
    const { id, key } = await newCustomer("free");
    const stream = anthropicClient(key).messages.stream({
      model: MODEL,
      max_tokens: MAX_TOKENS,
      messages: HELLO,
    });
    await stream.finalMessage();
    const event = await settleEvent(id);
    expect(event.data.usage).toEqual(EXPECTED);
    expect(event.data.used).toBe(MOCK_MESSAGE_TOTAL);
  });
});
