/**
 * What the core knows of a call's usage, whichever door read it (SPEC §6, §11): the total the upstream
 * reported, or else the characters of generated text seen, and the amount a call settles with: the reported
 * total, else the estimate `ceil(prompt chars / 4) + ceil(generated chars / 4)`.
 */
import { tokensFromChars } from "./chars";

/**
 * The token classes of one call (SPEC §6): `input` (uncached), `cached_input` (cache reads), `cache_write`
 * (cache creation), `output` (reasoning included) and `reasoning` (reported apart, part of `output`).
 */
export interface TokenClasses {
  input: number;
  cached_input: number;
  cache_write: number;
  output: number;
  reasoning: number;
}

/** What the token meter records for a call's classes: their sum, reasoning counted once (inside `output`). */
export function classTotal(classes: TokenClasses): number {
  return classes.input + classes.cached_input + classes.cache_write + classes.output;
}

/** The usage read from a complete response body. */
export interface ObservedUsage {
  /** The upstream's total, when it reported a sane one. */
  reported: number | null;
  /** The upstream's usage split into classes, when it reported them (`classTotal` equals `reported`). */
  classes: TokenClasses | null;
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
  /** The upstream's usage in classes once it reported them. */
  readonly classes: TokenClasses | null;
  /** Characters of generated text seen so far. */
  readonly generatedChars: number;
}

/** What a call settles with: the upstream's total when it reported one, else the character estimate. */
export function settleAmount(promptTokens: number, reported: number | null, generatedChars: number): number {
  return reported ?? promptTokens + tokensFromChars(generatedChars);
}
