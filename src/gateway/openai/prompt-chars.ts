/**
 * The OpenAI door's prompt characters (SPEC §6, §11): the text of `messages` (chat), `prompt` (completions),
 * `instructions` + `input` (responses) and `input` (embeddings). Only text counts: image URLs, audio and file
 * data do not.
 * Token-id arrays (completions, embeddings) count 4 characters per token, so `ceil(chars / 4)` gives back
 * the token count.
 */
import { CHARS_PER_TOKEN, countChars, type PromptCounter } from "../core/chars";
import type { MeteredEndpoint } from "./endpoints";

// Fields that hold text a model reads, at any depth of a message, content part or input item.
const TEXT_KEYS = [
  "content",
  "text",
  "arguments",
  "output",
  "refusal",
  "summary",
  "tool_calls",
  "function",
  "function_call",
];
// A prompt nested deeper than this is not a real prompt; the rest is not counted.
const MAX_DEPTH = 16;

function textChars(value: unknown, depth: number): number {
  if (typeof value === "string") return countChars(value);
  if (typeof value === "number") return Number.isInteger(value) ? CHARS_PER_TOKEN : 0;
  if (depth >= MAX_DEPTH || value === null || typeof value !== "object") return 0;
  let total = 0;
  if (Array.isArray(value)) {
    for (const item of value) total += textChars(item, depth + 1);
    return total;
  }
  const record = value as Record<string, unknown>;
  for (const key of TEXT_KEYS) {
    const field = record[key];
    // Numbers only count inside arrays (token ids); a number field is never text.
    if (field !== undefined && typeof field !== "number") total += textChars(field, depth + 1);
  }
  return total;
}

/** The prompt characters of a parsed request body for one metered endpoint (the door's PromptCounter). */
export const promptChars: PromptCounter<MeteredEndpoint> = (endpoint, body) => {
  switch (endpoint) {
    case "chat/completions":
      return textChars(body.messages, 0);
    case "completions":
      return textChars(body.prompt, 0) + (typeof body.suffix === "string" ? countChars(body.suffix) : 0);
    case "responses":
      return textChars(body.instructions, 0) + textChars(body.input, 0);
    case "embeddings":
      return textChars(body.input, 0);
  }
};
