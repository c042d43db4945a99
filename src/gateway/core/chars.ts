/** Characters and the character estimate of tokens (SPEC §6, §11), the same for every door. */

/**
 * A door's count of the prompt characters of one parsed request body of a metered endpoint `M` (SPEC §6,
 * §11): what its reservation estimates as `ceil(chars / 4)` tokens.
 */
export type PromptCounter<M extends string> = (endpoint: M, body: Record<string, unknown>) => number;

/** Characters per token in every estimate the gateway makes. */
export const CHARS_PER_TOKEN = 4;

/** Characters (Unicode code points, not UTF-16 units) in a string. */
export function countChars(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A low surrogate completes a pair its high surrogate already counted.
    if (unit >= 0xdc00 && unit <= 0xdfff && i > 0) {
      const previous = text.charCodeAt(i - 1);
      if (previous >= 0xd800 && previous <= 0xdbff) count -= 1;
    }
  }
  return count;
}

/** Tokens estimated from characters: `ceil(chars / 4)`. */
export function tokensFromChars(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}
