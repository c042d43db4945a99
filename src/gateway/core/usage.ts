/**
 * What the core knows of a call's usage, whichever door read it (SPEC §6, §11): the total the upstream
 * reported, or else the characters of generated text seen, and the amount a call settles with: the reported
 * total, else the estimate `ceil(prompt chars / 4) + ceil(generated chars / 4)`.
 */
import { tokensFromChars } from "./chars";

/** The usage read from a complete response body. */
export interface ObservedUsage {
  /** The upstream's total, when it reported a sane one. */
  reported: number | null;
  /** Characters of generated text, for the estimate when nothing was reported. */
  chars: number;
}

/** The usage read from a streamed response as it passes through (a door's reader of its events). */
export interface StreamUsage {
  /** Feed raw bytes exactly as they went to the client. */
  pushBytes(chunk: Uint8Array): void;
  /** The stream is over (completely or not). */
  end(): void;
  /** The upstream's total once it reported one. */
  readonly reported: number | null;
  /** Characters of generated text seen so far. */
  readonly generatedChars: number;
}

/** What a call settles with: the upstream's total when it reported one, else the character estimate. */
export function settleAmount(promptTokens: number, reported: number | null, generatedChars: number): number {
  return reported ?? promptTokens + tokensFromChars(generatedChars);
}
