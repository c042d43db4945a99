/**
 * The Anthropic door's reading of a `messages` stream (SPEC §6, §11). `message_start` carries the input
 * classes (and a first `output_tokens`); each `message_delta` carries cumulative usage: its `output_tokens`
 * replaces the last one, and input fields it repeats replace those of `message_start`. Text, thinking and
 * tool-input deltas are counted as generated characters.
 *
 * What the stream settles with, decided when it ends:
 * - it ended with `message_stop`, or with an `error` event: the classes as last reported;
 * - it was cut short (upstream died, client went away) after `message_start`: the input classes seen, and as
 *   output `max(output_tokens seen, ceil(streamed chars / 4))`;
 * - nothing was reported (cut before `message_start`): no classes; the core settles the §11 estimate
 *   `ceil(prompt chars / 4) + ceil(streamed chars / 4)`.
 */
import { countChars, tokensFromChars } from "../core/chars";
import { SseStreamMeter } from "../core/stream-meter";
import { classTotal, type TokenClasses } from "../core/usage";
import { inputClasses, isRecord, type Json, tokenCount } from "./usage";

export class StreamMeter extends SseStreamMeter {
  private input: Pick<TokenClasses, "input" | "cached_input" | "cache_write"> | null = null;
  private output = 0;
  /** The upstream said the message is over (`message_stop`) or failed (`error`): its usage is final. */
  private final = false;

  protected readObject(parsed: Record<string, unknown>, event: string | null): void {
    const type = typeof parsed.type === "string" ? parsed.type : event;
    switch (type) {
      case "message_start":
        if (isRecord(parsed.message)) this.readUsage(parsed.message.usage);
        return;
      case "message_delta":
        this.readUsage(parsed.usage);
        return;
      case "content_block_delta":
        this.readDelta(parsed.delta);
        return;
      case "message_stop":
      case "error":
        this.final = true;
        return;
    }
  }

  private readUsage(usage: unknown): void {
    if (!isRecord(usage)) return;
    const input = inputClasses(usage);
    // A delta may repeat only some input fields: keep the rest from `message_start`.
    if (input !== null) this.input = input;
    else if (this.input !== null) {
      const cached = tokenCount(usage.cache_read_input_tokens);
      const write = tokenCount(usage.cache_creation_input_tokens);
      if (cached !== null) this.input.cached_input = cached;
      if (write !== null) this.input.cache_write = write;
    }
    const output = tokenCount(usage.output_tokens);
    if (output !== null) this.output = output;
  }

  private readDelta(delta: unknown): void {
    if (!isRecord(delta)) return;
    const d: Json = delta;
    for (const field of ["text", "thinking", "partial_json"]) {
      const value = d[field];
      if (typeof value === "string") this.generatedChars += countChars(value);
    }
  }

  override end(): void {
    super.end();
    if (this.input === null) return;
    const output = this.final ? this.output : Math.max(this.output, tokensFromChars(this.generatedChars));
    this.classes = { ...this.input, output, reasoning: 0 };
    this.reported = classTotal(this.classes);
  }
}
