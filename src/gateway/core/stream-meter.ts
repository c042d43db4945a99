/**
 * Reads a metered SSE stream as it passes through: bytes decoded, events parsed (sse.ts), each event's data
 * read as JSON objects and handed to the door's reader, which keeps the reported usage and the generated characters seen.
 */
import { SseParser } from "./sse";
import type { StreamUsage, TokenClasses } from "./usage";

/** A StreamUsage over SSE: a door supplies `readObject` for its own event shapes. */
export abstract class SseStreamMeter implements StreamUsage {
  private readonly parser = new SseParser();
  private readonly decoder = new TextDecoder();
  /** The upstream's reported total once it reported one. */
  reported: number | null = null;
  /** The upstream's usage in classes once it reported them. */
  classes: TokenClasses | null = null;
  /** Characters of generated text seen so far. */
  generatedChars = 0;

  /** Feed raw bytes exactly as they went to the client. */
  pushBytes(chunk: Uint8Array): void {
    this.pushText(this.decoder.decode(chunk, { stream: true }));
  }

  /** Feed decoded text. */
  pushText(text: string): void {
    for (const event of this.parser.push(text)) this.readEvent(event.data, event.event);
  }

  /** The stream is over (completely or not). */
  end(): void {
    this.pushText(this.decoder.decode());
    this.parser.end();
  }

  /** One complete event: its `data` read as a JSON object (anything else carries no usage and is skipped). */
  private readEvent(data: string, event: string | null): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return; // e.g. OpenAI's closing `[DONE]`
    }
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
      this.readObject(parsed as Record<string, unknown>, event);
    }
  }

  /** One event whose data is a JSON object, and its `event:` name (null for the default). */
  protected abstract readObject(data: Record<string, unknown>, event: string | null): void;
}
