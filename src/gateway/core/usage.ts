/**
 * What the core knows of a call's usage, whichever door read it (SPEC §6, §11): the upstream's usage in token
 * classes (their sum is the reported total), or else the characters of generated text seen, and what a call
 * settles with: the classes and their sum, else the estimate `ceil(prompt chars / 4)` as `input` plus
 * `ceil(generated chars / 4)` as `output`.
 */
import { classTotal, type TokenClasses } from "../../domain/token-usage";
import { tokensFromChars } from "./chars";

export { classTotal, type TokenClasses };

/** The usage read from a complete response body. */
export interface ObservedUsage {
  /**
   * The total the meter records from the upstream's report: `classTotal(classes)` when it reported classes,
   * else its bare total when it reported only that and it is sane; null when it reported nothing usable.
   */
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
  /** The recorded total once the upstream reported usage (as `ObservedUsage.reported`). */
  readonly reported: number | null;
  /** The upstream's usage in classes once it reported them. */
  readonly classes: TokenClasses | null;
  /** Characters of generated text seen so far. */
  readonly generatedChars: number;
}

/** What a call settles: the amount the meter records and the classes it is made of. */
export interface Settlement {
  amount: number;
  classes: TokenClasses;
  /** The classes are the gateway's estimate (or its split of a bare total), not the upstream's report. */
  estimated: boolean;
}

const NO_TOKENS: TokenClasses = { input: 0, cached_input: 0, cache_write: 0, output: 0, reasoning: 0 };

/**
 * What a call settles with. The upstream's classes when it reported them; a bare total (no classes) is
 * recorded as reported and split by the estimate (output: the generated characters' tokens, at most the
 * total; input: the rest); nothing reported: the estimate of SPEC §11, as `input` and `output`.
 */
export function settlement(
  promptTokens: number,
  usage: { reported: number | null; classes: TokenClasses | null },
  generatedChars: number,
): Settlement {
  if (usage.classes !== null)
    return { amount: classTotal(usage.classes), classes: usage.classes, estimated: false };
  const output = tokensFromChars(generatedChars);
  if (usage.reported !== null) {
    const split = Math.min(usage.reported, output);
    const classes = { ...NO_TOKENS, input: usage.reported - split, output: split };
    return { amount: usage.reported, classes, estimated: true };
  }
  const classes = { ...NO_TOKENS, input: promptTokens, output };
  return { amount: promptTokens + output, classes, estimated: true };
}
