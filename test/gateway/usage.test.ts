/** Usage extraction (pure): the SSE parser, the stream meter and complete bodies. */
import { describe, expect, it } from "vitest";
import { SseParser } from "../../src/gateway/core/sse";
import { settlement } from "../../src/gateway/core/usage";
import { StreamMeter } from "../../src/gateway/openai/stream-meter";
import { bodyUsage } from "../../src/gateway/openai/usage";

describe("SSE parser", () => {
  it("joins data lines, honours event names, skips comments, and survives any split", () => {
    const text =
      ': keep-alive\r\nevent: one\r\ndata: a\r\ndata: b\r\n\r\ndata: {"x":1}\n\ndata:no-space\rid: 7\r\r';
    const expected = [
      { event: "one", data: "a\nb" },
      { event: null, data: '{"x":1}' },
      { event: null, data: "no-space" },
    ];
    expect(new SseParser().push(text)).toEqual(expected);
    for (let size = 1; size <= 7; size++) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...parser.push(text.slice(i, i + size)));
      expect(events, `pieces of ${size}`).toEqual(expected);
    }
  });

  it("discards an event the stream ended before its blank line", () => {
    const parser = new SseParser();
    expect(parser.push("data: complete\n\ndata: partial")).toEqual([{ event: null, data: "complete" }]);
    expect(parser.end()).toEqual([]);
  });
});

const sse = (...events: unknown[]) =>
  events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`).join("");

describe("stream meter", () => {
  it("chat: counts delta text and tool arguments, and reads the final usage", () => {
    const meter = new StreamMeter("chat/completions");
    const bytes = new TextEncoder().encode(
      sse(
        { choices: [{ delta: { role: "assistant", content: "" } }], usage: null },
        { choices: [{ delta: { content: "Héllo" } }], usage: null },
        { choices: [{ delta: { tool_calls: [{ index: 0, function: { name: "f", arguments: "{}" } }] } }] },
        { choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } },
        "[DONE]",
      ),
    );
    // Split inside a multi-byte character: the decoder must carry it over.
    const cut = bytes.indexOf(0xc3) + 1;
    meter.pushBytes(bytes.slice(0, cut));
    meter.pushBytes(bytes.slice(cut));
    meter.end();
    expect(meter.reported).toBe(7);
    expect(meter.generatedChars).toBe(5 + 3);
  });

  it("responses: usage from response.completed; text from *.delta events, not audio", () => {
    const meter = new StreamMeter("responses");
    meter.pushText(
      sse(
        { type: "response.output_text.delta", delta: "abc" },
        { type: "response.function_call_arguments.delta", delta: "{}" },
        { type: "response.audio.delta", delta: "AAAAAAAA" },
        { type: "response.completed", response: { usage: { total_tokens: 42 } } },
      ),
    );
    meter.end();
    expect(meter).toMatchObject({ reported: 42, generatedChars: 5 });
  });

  it("a stream without usage leaves reported null: the settle is the estimate", () => {
    const meter = new StreamMeter("completions");
    meter.pushText(sse({ choices: [{ text: "Hello there" }] }, "not json"));
    meter.end();
    expect(meter.reported).toBeNull();
    expect(settlement(3, meter, meter.generatedChars).amount).toBe(3 + 3);
  });
});

describe("complete bodies", () => {
  it("reports usage.total_tokens, or the generated text for the estimate", () => {
    expect(bodyUsage("chat/completions", JSON.stringify({ usage: { total_tokens: 17 } }))).toEqual({
      reported: 17,
      classes: null,
      chars: 0,
    });
    const noUsage = { choices: [{ message: { content: "12345", refusal: null } }] };
    expect(bodyUsage("chat/completions", JSON.stringify(noUsage))).toEqual({
      reported: null,
      classes: null,
      chars: 5,
    });
    const response = {
      output: [{ type: "message", content: [{ type: "output_text", text: "abc" }] }],
      usage: null,
    };
    expect(bodyUsage("responses", JSON.stringify(response))).toEqual({
      reported: null,
      classes: null,
      chars: 3,
    });
    expect(bodyUsage("embeddings", JSON.stringify({ data: [] }))).toEqual({
      reported: null,
      classes: null,
      chars: 0,
    });
    expect(
      bodyUsage("chat/completions", JSON.stringify({ usage: { total_tokens: -1 } })).reported,
    ).toBeNull();
  });
});
