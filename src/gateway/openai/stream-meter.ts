/**
 * The OpenAI door's reading of a metered SSE stream (SPEC §6, §11): the usage the upstream reports at the end,
 * in token classes as usage.ts reads them (chat and completions: the final chunk's `usage`, which
 * `stream_options.include_usage` asks for; responses: `response.usage` of `response.completed`,
 * `.incomplete` or `.failed`) and, for the estimate of a stream cut short, the characters of generated text
 * streamed so far.
 */
import { countChars } from "../core/chars";
import { SseStreamMeter } from "../core/stream-meter";
import type { MeteredEndpoint } from "./endpoints";
import { isRecord, type Json, messageChars, reportedUsage } from "./usage";

// Responses events that end a response and carry its usage.
const FINAL_RESPONSE_EVENTS = new Set(["response.completed", "response.incomplete", "response.failed"]);

export class StreamMeter extends SseStreamMeter {
  constructor(private readonly endpoint: MeteredEndpoint) {
    super();
  }

  protected readObject(data: Json): void {
    if (this.endpoint === "responses") this.readResponsesEvent(data);
    else this.readChunk(data);
  }

  /** Keep the usage an event reported (chunks before the last carry `usage: null`). */
  private readUsage(value: unknown): void {
    const usage = reportedUsage(value, this.endpoint);
    if (usage.reported === null) return;
    this.reported = usage.reported;
    this.classes = usage.classes;
  }

  private readChunk(chunk: Json): void {
    this.readUsage(chunk);
    if (!Array.isArray(chunk.choices)) return;
    for (const choice of chunk.choices) {
      if (!isRecord(choice)) continue;
      if (typeof choice.text === "string") this.generatedChars += countChars(choice.text);
      this.generatedChars += messageChars(choice.delta);
    }
  }

  private readResponsesEvent(event: Json): void {
    const type = typeof event.type === "string" ? event.type : "";
    if (FINAL_RESPONSE_EVENTS.has(type)) {
      this.readUsage(event.response);
      return;
    }
    // Text deltas (output text, refusals, tool arguments, reasoning); audio deltas are not text.
    if (type.endsWith(".delta") && type !== "response.audio.delta" && typeof event.delta === "string") {
      this.generatedChars += countChars(event.delta);
    }
  }
}
