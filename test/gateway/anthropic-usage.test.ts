/**
 * The Anthropic door's pure parts: prompt characters of a `messages` body (what the reservation stands on),
 * the usage classes of a response, and what a stream settles as it ends (SPEC §6, §11).
 */
import { describe, expect, it } from "vitest";
import { ATTACHMENT_TOKENS, promptChars } from "../../src/gateway/anthropic/prompt-chars";
import { shapeRequest } from "../../src/gateway/anthropic/request-shaping";
import { StreamMeter } from "../../src/gateway/anthropic/stream-meter";
import { bodyUsage } from "../../src/gateway/anthropic/usage";

describe("prompt characters", () => {
  it("count system (string or text blocks) and message text", () => {
    expect(
      promptChars("messages", { system: "Be brief.", messages: [{ role: "user", content: "Hi" }] }),
    ).toBe(11);
    expect(
      promptChars("messages", {
        system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
        messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
      }),
    ).toBe(11);
  });

  it("count tool calls as their name and JSON input, and tool results' content", () => {
    const input = { city: "Paris" };
    const chars = promptChars("messages", {
      messages: [
        { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "weather", input }] },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "t1", content: "sunny" },
            { type: "tool_result", tool_use_id: "t2", content: [{ type: "text", text: "rain" }] },
          ],
        },
      ],
    });
    expect(chars).toBe("weather".length + JSON.stringify(input).length + "sunny".length + "rain".length);
  });

  it("count an image or a PDF as the fixed estimate, a text document as its text", () => {
    const image = {
      type: "image",
      source: { type: "base64", media_type: "image/png", data: "x".repeat(100_000) },
    };
    const pdf = {
      type: "document",
      source: { type: "base64", media_type: "application/pdf", data: "JVBER" },
    };
    const text = { type: "document", source: { type: "text", media_type: "text/plain", data: "notes" } };
    const chars = promptChars("messages", { messages: [{ role: "user", content: [image, pdf, text] }] });
    expect(chars).toBe(2 * ATTACHMENT_TOKENS * 4 + "notes".length);
  });

  it("ignore what is not text (unknown blocks, junk)", () => {
    expect(
      promptChars("messages", {
        messages: [{ role: "user", content: [{ type: "redacted_thinking", data: "zz" }] }],
      }),
    ).toBe(0);
    expect(promptChars("messages", { messages: "nope", system: 42 })).toBe(0);
  });

  it("the reservation is ceil(prompt chars / 4) + max_tokens, and the body goes upstream as sent", () => {
    const text = JSON.stringify({
      model: "claude-x",
      max_tokens: 64,
      system: "Be brief.",
      messages: [{ role: "user", content: "Hi" }],
    });
    const shaped = shapeRequest("messages", text);
    expect(shaped).toEqual({
      ok: true,
      request: { endpoint: "messages", model: "claude-x", promptTokens: 3, reserveAmount: 67, body: text },
    });
  });
});

const usage = {
  input_tokens: 10,
  cache_creation_input_tokens: 20,
  cache_read_input_tokens: 30,
  output_tokens: 5,
};
const CLASSES = { input: 10, cached_input: 30, cache_write: 20, output: 5, reasoning: 0 };

describe("usage of a response", () => {
  it("splits usage into classes; the total is their sum", () => {
    const text = JSON.stringify({ type: "message", content: [{ type: "text", text: "Hello" }], usage });
    expect(bodyUsage("messages", text)).toEqual({ reported: 65, classes: CLASSES, chars: 5 });
  });

  it("missing cache fields count 0; no usage reports nothing", () => {
    const text = JSON.stringify({ content: [], usage: { input_tokens: 4, output_tokens: 2 } });
    expect(bodyUsage("messages", text).classes).toEqual({
      input: 4,
      cached_input: 0,
      cache_write: 0,
      output: 2,
      reasoning: 0,
    });
    expect(bodyUsage("messages", JSON.stringify({ content: [{ type: "text", text: "abc" }] }))).toEqual({
      reported: null,
      classes: null,
      chars: 3,
    });
  });
});

const sse = (type: string, data: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const start = sse("message_start", { message: { usage: { ...usage, output_tokens: 1 } } });
const delta = (text: string) => sse("content_block_delta", { index: 0, delta: { type: "text_delta", text } });

function meterOf(text: string): StreamMeter {
  const meter = new StreamMeter();
  meter.pushBytes(new TextEncoder().encode(text));
  meter.end();
  return meter;
}

describe("usage of a stream", () => {
  it("a complete stream: message_start's input classes, the last message_delta's output (the last wins)", () => {
    const meter = meterOf(
      start +
        delta("Hello there") +
        sse("message_delta", { delta: {}, usage: { output_tokens: 3 } }) +
        sse("message_delta", { delta: {}, usage: { ...usage, cache_read_input_tokens: 31 } }) +
        sse("message_stop", {}),
    );
    expect(meter.classes).toEqual({ ...CLASSES, cached_input: 31 });
    expect(meter.reported).toBe(66);
  });

  it("cut short: the input classes and max(output seen, ceil(streamed chars / 4))", () => {
    expect(meterOf(start + delta("x".repeat(17))).classes).toEqual({ ...CLASSES, output: 5 });
    expect(meterOf(start + delta("x".repeat(17))).reported).toBe(65);
    expect(meterOf(start).classes).toEqual({ ...CLASSES, output: 1 });
  });

  it("an error event: what was reported, nothing estimated", () => {
    const meter = meterOf(
      start + delta("x".repeat(40)) + sse("error", { error: { type: "overloaded_error" } }),
    );
    expect(meter.classes).toEqual({ ...CLASSES, output: 1 });
  });

  it("cut before message_start: nothing reported, the core estimates", () => {
    const meter = meterOf(delta("Hello"));
    expect(meter.reported).toBeNull();
    expect(meter.classes).toBeNull();
    expect(meter.generatedChars).toBe(5);
  });
});
