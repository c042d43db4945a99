/**
 * An incremental Server-Sent Events parser (the WHATWG `text/event-stream` rules that matter here): lines end
 * in CRLF, LF or CR; `data:` lines of one event are joined with LF; a blank line dispatches the event;
 * comments and other fields are ignored. Text arrives in arbitrary pieces, split anywhere.
 */

export interface SseEvent {
  /** The `event:` field, or null for the default `message`. */
  event: string | null;
  data: string;
}

// An event larger than this is dropped from parsing (the bytes still pass through to the client).
const MAX_EVENT_CHARS = 8 * 1024 * 1024;

export class SseParser {
  private pending = "";
  private data: string[] = [];
  private dataChars = 0;
  private eventName: string | null = null;
  private overflow = false;
  /** A CR ended the last piece: an LF starting the next one belongs to it. */
  private skipLeadingLf = false;

  /** Feed decoded text; answers the events it completed. */
  push(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    if (this.skipLeadingLf && text.startsWith("\n")) start = 1;
    this.skipLeadingLf = false;
    for (let i = start; i < text.length; i++) {
      const char = text.charCodeAt(i);
      if (char !== 0x0a && char !== 0x0d) continue;
      this.line(this.pending + text.slice(start, i), events);
      this.pending = "";
      if (char === 0x0d) {
        if (i + 1 === text.length) this.skipLeadingLf = true;
        else if (text.charCodeAt(i + 1) === 0x0a) i += 1;
      }
      start = i + 1;
    }
    const rest = text.slice(start);
    if (this.pending.length + rest.length > MAX_EVENT_CHARS) {
      this.overflow = true;
      this.pending = "";
    } else {
      this.pending += rest;
    }
    return events;
  }

  /** The stream ended: an event without its closing blank line is discarded, as the SSE rules say. */
  end(): SseEvent[] {
    this.pending = "";
    this.reset();
    return [];
  }

  private reset(): void {
    this.data = [];
    this.dataChars = 0;
    this.eventName = null;
    this.overflow = false;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === "") {
      if (this.data.length > 0 && !this.overflow)
        events.push({ event: this.eventName, data: this.data.join("\n") });
      this.reset();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      this.dataChars += value.length;
      if (this.dataChars > MAX_EVENT_CHARS) this.overflow = true;
      else this.data.push(value);
    } else if (field === "event") {
      this.eventName = value;
    }
  }
}
