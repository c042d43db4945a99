/**
 * Reads a metered SSE stream as it passes through: bytes decoded, events parsed (sse.ts), each event's data
 * handed to the door's reader, which keeps the reported usage and the generated characters seen.
 */
import { SseParser } from "./sse";
import type { StreamUsage, TokenClasses } from "./usage";

/** A StreamUsage over SSE: a door supplies `readEvent` for its own event shapes. */
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

  /** One complete event: its `data` and its `event:` name (null for the default). */
  protected abstract readEvent(data: string, event: string | null): void;
}
