/**
 * The Anthropic door's usage extraction (SPEC §6, §11): the token classes of a `usage` object
 * (`input_tokens` → input, `cache_read_input_tokens` → cached_input, `cache_creation_input_tokens` →
 * cache_write, `output_tokens` → output; Anthropic reports no reasoning apart, so reasoning is 0), and the
 * generated text of a response for the estimate when it reported none.
 */
import { countChars } from "../core/chars";
import { classTotal, type ObservedUsage, type TokenClasses } from "../core/usage";
import type { MeteredEndpoint } from "./endpoints";

export type Json = Record<string, unknown>;

/** A plain JSON object (not null, not an array). */
export const isRecord = (value: unknown): value is Json =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** A sane token count, or null (absent, null, negative, not a finite number). */
export function tokenCount(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}

/** The input classes of a usage object (`input_tokens` required; cache fields default to 0), or null. */
export function inputClasses(
  usage: unknown,
): Pick<TokenClasses, "input" | "cached_input" | "cache_write"> | null {
  if (!isRecord(usage)) return null;
  const input = tokenCount(usage.input_tokens);
  if (input === null) return null;
  return {
    input,
    cached_input: tokenCount(usage.cache_read_input_tokens) ?? 0,
    cache_write: tokenCount(usage.cache_creation_input_tokens) ?? 0,
  };
}

/** The classes of a complete usage object (input and output both reported), or null. */
export function usageClasses(usage: unknown): TokenClasses | null {
  const input = inputClasses(usage);
  const output = isRecord(usage) ? tokenCount(usage.output_tokens) : null;
  return input === null || output === null ? null : { ...input, output, reasoning: 0 };
}

const stringChars = (value: unknown): number => (typeof value === "string" ? countChars(value) : 0);

/** Generated characters of one content block of a response: text, thinking, a tool call's input as JSON. */
function blockChars(block: unknown): number {
  if (!isRecord(block)) return 0;
  if (block.type === "text") return stringChars(block.text);
  if (block.type === "thinking") return stringChars(block.thinking);
  if (block.type === "tool_use" || block.type === "server_tool_use")
    return stringChars(block.name) + countChars(JSON.stringify(block.input ?? {}));
  return 0;
}

/** The usage of a complete response body: its classes and their total, and its generated text. */
export function bodyUsage(_endpoint: MeteredEndpoint, text: string): ObservedUsage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not the JSON the endpoint promises: all of it counts as generated text.
    return { reported: null, classes: null, chars: countChars(text) };
  }
  if (!isRecord(parsed)) return { reported: null, classes: null, chars: 0 };
  let chars = 0;
  if (Array.isArray(parsed.content)) for (const block of parsed.content) chars += blockChars(block);
  const classes = usageClasses(parsed.usage);
  return { reported: classes === null ? null : classTotal(classes), classes, chars };
}
