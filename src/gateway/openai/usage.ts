/**
 * The OpenAI door's usage extraction (SPEC §6, §11): the token classes the upstream reported and, when it
 * reported nothing, the generated text (the core settles with the estimate then).
 *
 * Classes: chat/completions, completions and embeddings report `usage.prompt_tokens` (of which
 * `prompt_tokens_details.cached_tokens` were cache reads) and `completion_tokens` (of which
 * `completion_tokens_details.reasoning_tokens` were reasoning); Responses the same as `input_tokens` /
 * `input_tokens_details` and `output_tokens` / `output_tokens_details`. So `input` = prompt − cached,
 * `cached_input` = cached, `output` = completion (reasoning inside), `cache_write` = 0 (OpenAI bills no cache
 * writes). The recorded total is the classes' sum; the upstream's `total_tokens` is read only when there are
 * no classes to read (an upstream that sends a total alone), so a `total_tokens` that disagrees with the
 * classes' sum is ignored. Every count must be a finite number ≥ 0: a prompt count that is not makes the
 * classes unreadable, a detail that is not counts 0, and a detail larger than its count is cut to it.
 */
import { countChars } from "../core/chars";
import { classTotal, type ObservedUsage, type TokenClasses } from "../core/usage";
import type { MeteredEndpoint } from "./endpoints";

export type Json = Record<string, unknown>;

/** A plain JSON object (not null, not an array). */
export const isRecord = (value: unknown): value is Json =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** A sane token count: a finite number ≥ 0. */
const tokenCount = (value: unknown): number | null =>
  typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;

/** The field names of a `usage` object: Responses names them input/output, the others prompt/completion. */
const FIELDS = {
  chat: { input: "prompt_tokens", output: "completion_tokens" },
  responses: { input: "input_tokens", output: "output_tokens" },
} as const;

/** A count's part given in `usage[details][field]`: 0 unless sane, at most the count. */
function detail(usage: Json, details: string, field: string, count: number): number {
  const object = usage[details];
  const part = isRecord(object) ? tokenCount(object[field]) : null;
  return Math.min(part ?? 0, count);
}

/**
 * The token classes of an OpenAI `usage` object, or null when its input count is missing or not sane (or its
 * output count is present and not sane). An absent output count is 0 (embeddings report none).
 */
export function usageClasses(usage: unknown, endpoint: MeteredEndpoint): TokenClasses | null {
  if (!isRecord(usage)) return null;
  const names = FIELDS[endpoint === "responses" ? "responses" : "chat"];
  const prompt = tokenCount(usage[names.input]);
  const rawOutput = usage[names.output];
  const completion = rawOutput === undefined || rawOutput === null ? 0 : tokenCount(rawOutput);
  if (prompt === null || completion === null) return null;
  const cached = detail(usage, `${names.input}_details`, "cached_tokens", prompt);
  return {
    input: prompt - cached,
    cached_input: cached,
    cache_write: 0,
    output: completion,
    reasoning: detail(usage, `${names.output}_details`, "reasoning_tokens", completion),
  };
}

/** What the upstream reported in `value.usage`: its classes and their sum, else a sane bare total, else nulls. */
export function reportedUsage(
  value: unknown,
  endpoint: MeteredEndpoint,
): Pick<ObservedUsage, "reported" | "classes"> {
  if (!isRecord(value) || !isRecord(value.usage)) return { reported: null, classes: null };
  const classes = usageClasses(value.usage, endpoint);
  // Counts so large their sum overflows are no report the meter can record.
  if (classes !== null && Number.isFinite(classTotal(classes)))
    return { reported: classTotal(classes), classes };
  return { reported: tokenCount(value.usage.total_tokens), classes: null };
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

/** The usage of a complete response body: its reported classes and, for the estimate, its generated text. */
export function bodyUsage(endpoint: MeteredEndpoint, text: string): ObservedUsage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not the JSON the endpoint promises: all of it counts as generated text.
    return { reported: null, classes: null, chars: countChars(text) };
  }
  return { ...reportedUsage(parsed, endpoint), chars: outputChars(endpoint, parsed) };
}
