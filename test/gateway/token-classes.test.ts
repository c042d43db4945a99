/**
 * Token classes (pure): the OpenAI door's reading of `usage` and its `_details` (SPEC §6), in bodies and
 * streams, what a call settles with when classes are missing, and the event's `data.usage`.
 */
import { describe, expect, it } from "vitest";
import { classTotal, usageEventData } from "../../src/domain/token-usage";
import { settlement } from "../../src/gateway/core/usage";
import { StreamMeter } from "../../src/gateway/openai/stream-meter";
import { bodyUsage, reportedUsage, usageClasses } from "../../src/gateway/openai/usage";
import { readSettleUsage } from "../../src/objects/metering/settle-usage";

const sse = (...events: unknown[]) =>
  events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`).join("");

const CHAT_USAGE = {
  prompt_tokens: 100,
  completion_tokens: 40,
  total_tokens: 140,
  prompt_tokens_details: { cached_tokens: 64, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 25, audio_tokens: 0 },
};
const CHAT_CLASSES = { input: 36, cached_input: 64, cache_write: 0, output: 40, reasoning: 25 };

const RESPONSES_USAGE = {
  input_tokens: 50,
  input_tokens_details: { cached_tokens: 20 },
  output_tokens: 30,
  output_tokens_details: { reasoning_tokens: 12 },
  total_tokens: 80,
};
const RESPONSES_CLASSES = { input: 30, cached_input: 20, cache_write: 0, output: 30, reasoning: 12 };

describe("OpenAI usage in classes", () => {
  it("chat and completions: prompt − cached is input, completion is output with reasoning inside", () => {
    expect(usageClasses(CHAT_USAGE, "chat/completions")).toEqual(CHAT_CLASSES);
    expect(usageClasses(CHAT_USAGE, "completions")).toEqual(CHAT_CLASSES);
    expect(classTotal(CHAT_CLASSES)).toBe(140);
  });

  it("responses: input_tokens and output_tokens with their _details", () => {
    expect(usageClasses(RESPONSES_USAGE, "responses")).toEqual(RESPONSES_CLASSES);
    // Chat's names are not Responses' names.
    expect(usageClasses(CHAT_USAGE, "responses")).toBeNull();
  });

  it("embeddings: prompt_tokens alone, no output", () => {
    expect(usageClasses({ prompt_tokens: 8, total_tokens: 8 }, "embeddings")).toEqual({
      input: 8,
      cached_input: 0,
      cache_write: 0,
      output: 0,
      reasoning: 0,
    });
  });

  it("details that are missing or not sane count 0; details larger than their count are cut to it", () => {
    const plain = { prompt_tokens: 10, completion_tokens: 5 };
    expect(usageClasses(plain, "chat/completions")).toEqual(plainClasses(10, 5));
    const junk = {
      ...plain,
      prompt_tokens_details: { cached_tokens: -3 },
      completion_tokens_details: { reasoning_tokens: Number.NaN },
    };
    expect(usageClasses(junk, "chat/completions")).toEqual(plainClasses(10, 5));
    const tooMany = {
      ...plain,
      prompt_tokens_details: { cached_tokens: 99 },
      completion_tokens_details: { reasoning_tokens: 99 },
    };
    expect(usageClasses(tooMany, "chat/completions")).toEqual({
      input: 0,
      cached_input: 10,
      cache_write: 0,
      output: 5,
      reasoning: 5,
    });
  });

  it("a count that is not a finite number ≥ 0 makes the classes unreadable", () => {
    expect(usageClasses({ prompt_tokens: -1, completion_tokens: 5 }, "chat/completions")).toBeNull();
    expect(usageClasses({ completion_tokens: 5 }, "chat/completions")).toBeNull();
    expect(usageClasses({ prompt_tokens: 1, completion_tokens: "5" }, "chat/completions")).toBeNull();
    expect(usageClasses({ prompt_tokens: 1, completion_tokens: Infinity }, "chat/completions")).toBeNull();
    expect(usageClasses(null, "chat/completions")).toBeNull();
  });

  it("the recorded total is the classes' sum, whatever total_tokens says", () => {
    const disagreeing = { usage: { ...CHAT_USAGE, total_tokens: 1000 } };
    expect(reportedUsage(disagreeing, "chat/completions")).toEqual({ reported: 140, classes: CHAT_CLASSES });
    // Classes whose sum overflows are no report; a bare total then stands.
    const huge = { prompt_tokens: 1e308, completion_tokens: 1e308, total_tokens: 5 };
    expect(reportedUsage({ usage: huge }, "chat/completions")).toEqual({ reported: 5, classes: null });
    // A bare total (no classes to read) is still the upstream's report.
    expect(reportedUsage({ usage: { total_tokens: 17 } }, "chat/completions")).toEqual({
      reported: 17,
      classes: null,
    });
  });

  it("complete bodies carry the classes and their sum", () => {
    const chat = { choices: [{ message: { content: "12345" } }], usage: CHAT_USAGE };
    expect(bodyUsage("chat/completions", JSON.stringify(chat))).toEqual({
      reported: 140,
      classes: CHAT_CLASSES,
      chars: 5,
    });
    const response = { output: [], usage: RESPONSES_USAGE };
    expect(bodyUsage("responses", JSON.stringify(response))).toEqual({
      reported: 80,
      classes: RESPONSES_CLASSES,
      chars: 0,
    });
  });

  it("streams: the final chunk's usage (chat) and response.completed's (responses)", () => {
    const chat = new StreamMeter("chat/completions");
    chat.pushText(
      sse(
        { choices: [{ delta: { content: "Hi" } }], usage: null },
        { choices: [], usage: CHAT_USAGE },
        "[DONE]",
      ),
    );
    chat.end();
    expect(chat).toMatchObject({ reported: 140, classes: CHAT_CLASSES, generatedChars: 2 });
    const responses = new StreamMeter("responses");
    responses.pushText(
      sse(
        { type: "response.created", response: { usage: null } },
        { type: "response.output_text.delta", delta: "abc" },
        { type: "response.completed", response: { usage: RESPONSES_USAGE } },
      ),
    );
    responses.end();
    expect(responses).toMatchObject({ reported: 80, classes: RESPONSES_CLASSES, generatedChars: 3 });
  });
});

function plainClasses(input: number, output: number) {
  return { input, cached_input: 0, cache_write: 0, output, reasoning: 0 };
}

describe("what a call settles with", () => {
  it("reported classes: their sum, not estimated", () => {
    expect(settlement(3, { reported: 140, classes: CHAT_CLASSES }, 999)).toEqual({
      amount: 140,
      classes: CHAT_CLASSES,
      estimated: false,
    });
  });

  it("nothing reported: the prompt estimate as input, the generated text's as output (SPEC §11)", () => {
    expect(settlement(3, { reported: null, classes: null }, 9)).toEqual({
      amount: 3 + 3,
      classes: plainClasses(3, 3),
      estimated: true,
    });
  });

  it("a bare total: recorded as reported, split by the estimate of the output", () => {
    expect(settlement(3, { reported: 17, classes: null }, 9)).toEqual({
      amount: 17,
      classes: plainClasses(14, 3),
      estimated: true,
    });
    expect(settlement(3, { reported: 2, classes: null }, 9)).toEqual({
      amount: 2,
      classes: plainClasses(0, 2),
      estimated: true,
    });
  });
});

describe("the settle's usage at the object's boundary", () => {
  const usage = { classes: CHAT_CLASSES, model: "gpt-4o", door: "openai", estimated: false };

  it("accepts a well-formed usage and copies only its fields", () => {
    expect(readSettleUsage({ ...usage, extra: "dropped", classes: { ...CHAT_CLASSES, x: 1 } })).toEqual({
      ok: true,
      value: usage,
    });
    expect(readSettleUsage(undefined)).toEqual({ ok: true, value: null });
    expect(readSettleUsage(null)).toEqual({ ok: true, value: null });
  });

  it.each([
    ["a negative class", { ...usage, classes: { ...CHAT_CLASSES, input: -1 } }],
    ["an infinite class", { ...usage, classes: { ...CHAT_CLASSES, output: Infinity } }],
    ["a NaN class", { ...usage, classes: { ...CHAT_CLASSES, cached_input: Number.NaN } }],
    ["a missing class", { ...usage, classes: { input: 1, cached_input: 0, output: 1, reasoning: 0 } }],
    ["a string class", { ...usage, classes: { ...CHAT_CLASSES, cache_write: "0" } }],
    ["reasoning beyond output", { ...usage, classes: { ...CHAT_CLASSES, reasoning: 41 } }],
    ["an unknown door", { ...usage, door: "gemini" }],
    ["no model", { ...usage, model: undefined }],
    ["a huge model name", { ...usage, model: "m".repeat(257) }],
    ["estimated not a boolean", { ...usage, estimated: "yes" }],
    ["no classes", { model: "gpt-4o", door: "openai", estimated: false }],
    ["not an object", 42],
  ])("refuses %s", (_, value) => {
    expect(readSettleUsage(value)).toMatchObject({ ok: false, code: "invalid_request" });
  });

  it("the event's data.usage: classes flat, the model and the door, `estimated` only when true", () => {
    expect(usageEventData(usage as never)).toEqual({ ...CHAT_CLASSES, model: "gpt-4o", door: "openai" });
    expect(usageEventData({ ...usage, estimated: true } as never)).toEqual({
      ...CHAT_CLASSES,
      estimated: true,
      model: "gpt-4o",
      door: "openai",
    });
  });
});
