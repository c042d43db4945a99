/**
 * The OpenAI door's usage extraction (SPEC §6, §11): what the upstream reported (`usage.total_tokens`), and
 * the generated text when it reported nothing (the core settles with the estimate then).
 */
import { countChars } from "../core/chars";
import type { ObservedUsage } from "../core/usage";
import type { MeteredEndpoint } from "./endpoints";

export type Json = Record<string, unknown>;

/** A plain JSON object (not null, not an array). */
export const isRecord = (value: unknown): value is Json =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** `usage.total_tokens` of an object when it is a sane count, else null. */
export function reportedTotal(value: unknown): number | null {
  if (!isRecord(value) || !isRecord(value.usage)) return null;
  const total = value.usage.total_tokens;
  return typeof total === "number" && Number.isFinite(total) && total >= 0 ? total : null;
}

const stringChars = (value: unknown): number => (typeof value === "string" ? countChars(value) : 0);

function toolCallChars(calls: unknown): number {
  if (!Array.isArray(calls)) return 0;
  let total = 0;
  for (const call of calls) {
    if (isRecord(call) && isRecord(call.function))
      total += stringChars(call.function.name) + stringChars(call.function.arguments);
  }
  return total;
}

/** Generated characters of a chat message or stream delta: content, refusal and tool-call arguments. */
export function messageChars(message: unknown): number {
  if (!isRecord(message)) return 0;
  return stringChars(message.content) + stringChars(message.refusal) + toolCallChars(message.tool_calls);
}

function responsesOutputChars(output: unknown): number {
  if (!Array.isArray(output)) return 0;
  let total = 0;
  for (const item of output) {
    if (!isRecord(item)) continue;
    total += stringChars(item.arguments);
    if (!Array.isArray(item.content)) continue;
    for (const part of item.content)
      if (isRecord(part)) total += stringChars(part.text) + stringChars(part.refusal);
  }
  return total;
}

/** Generated characters of a complete (non-streamed) response body. */
function outputChars(endpoint: MeteredEndpoint, body: unknown): number {
  if (!isRecord(body)) return 0;
  if (endpoint === "responses") return responsesOutputChars(body.output);
  if (endpoint === "embeddings" || !Array.isArray(body.choices)) return 0;
  let total = 0;
  for (const choice of body.choices) {
    if (!isRecord(choice)) continue;
    total += endpoint === "completions" ? stringChars(choice.text) : messageChars(choice.message);
  }
  return total;
}

/** The usage of a complete response body: its reported total and, for the estimate, its generated text. */
export function bodyUsage(endpoint: MeteredEndpoint, text: string): ObservedUsage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not the JSON the endpoint promises: all of it counts as generated text.
    return { reported: null, classes: null, chars: countChars(text) };
  }
  return { reported: reportedTotal(parsed), classes: null, chars: outputChars(endpoint, parsed) };
}
