/**
 * The OpenAI door's request shaping (SPEC §6, §11): parse a metered request, work out what to reserve, and
 * make a stream report its usage. Reserve = `ceil(prompt chars / 4)` + the output budget: chat `max_completion_tokens ?? max_tokens
 * ?? default`, completions `max_tokens ?? default`, responses `max_output_tokens ?? default`, embeddings 0.
 * Chat and completions generate `n` choices (completions: `max(n, best_of)`), so their budget is per choice.
 * With no client cap the forwarded body gets the cap that was reserved (SPEC §11 "Output caps"), so an upstream
 * that honours it cannot take a hard meter past its limit. `stream` must be a boolean; a Responses call with
 * `background: true` is refused (its usage never comes back on this connection).
 */
import { fail } from "../../errors/catalogue";
import { type PromptCounter, tokensFromChars } from "../core/chars";
import type { MeteredRequest, ParamFailure } from "../core/door";
import { parseJsonObject } from "../core/json-body";
import { canStream, type MeteredEndpoint } from "./endpoints";
import { promptChars } from "./prompt-chars";

export interface ShapedRequest extends MeteredRequest<MeteredEndpoint> {
  /** The client asked for an SSE stream. */
  stream: boolean;
  /** The gateway added `stream_options.include_usage` (the client did not ask for it). */
  addedUsage: boolean;
  outputBudget: number;
}

export type ShapeResult = { ok: true; request: ShapedRequest } | { ok: false; error: ParamFailure };

// Upstream caps `n` at 128; a larger value is refused there, and must not make the reservation absurd here.
const MAX_CHOICES = 128;

function invalid(message: string, param: string | null = null): ShapeResult {
  return { ok: false, error: { ...fail("invalid_request", message), param } };
}

/** A token count the client set: a finite number ≥ 0 (rounded up), else undefined (absent, null, junk). */
function tokenCount(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.ceil(value) : undefined;
}

function choices(value: unknown): number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1
    ? Math.min(value, MAX_CHOICES)
    : 1;
}

/** The output budget of one request, in tokens. */
export function outputBudget(
  endpoint: MeteredEndpoint,
  body: Record<string, unknown>,
  defaultMaxTokens: number,
): number {
  switch (endpoint) {
    case "chat/completions":
      return (
        (tokenCount(body.max_completion_tokens) ?? tokenCount(body.max_tokens) ?? defaultMaxTokens) *
        choices(body.n)
      );
    case "completions":
      return (
        (tokenCount(body.max_tokens) ?? defaultMaxTokens) * Math.max(choices(body.n), choices(body.best_of))
      );
    case "responses":
      return tokenCount(body.max_output_tokens) ?? defaultMaxTokens;
    case "embeddings":
      return 0;
  }
}

/** The body field that caps output on each endpoint (chat's older `max_tokens` counts as a client cap too). */
const CAP_FIELD: Record<MeteredEndpoint, string | null> = {
  "chat/completions": "max_completion_tokens",
  completions: "max_tokens",
  responses: "max_output_tokens",
  embeddings: null,
};

/** Whether the client capped the output itself (a cap it set is forwarded unchanged). */
function clientCapped(endpoint: MeteredEndpoint, body: Record<string, unknown>): boolean {
  const field = CAP_FIELD[endpoint];
  if (field === null) return true;
  if (tokenCount(body[field]) !== undefined) return true;
  return endpoint === "chat/completions" && tokenCount(body.max_tokens) !== undefined;
}

/**
 * `text` (a JSON object) with `fields` set. A field the body lacks is spliced in after the opening brace, so
 * the client's bytes (large integers, key order) reach the upstream as sent; only a body that already has
 * one of them (null, or junk the budget ignored) is re-serialised, since a duplicate key would let the
 * client's value win.
 */
function withFields(text: string, body: Record<string, unknown>, fields: Record<string, unknown>): string {
  const names = Object.keys(fields);
  if (names.length === 0) return text;
  if (names.some((name) => Object.hasOwn(body, name))) return JSON.stringify({ ...body, ...fields });
  const brace = text.indexOf("{");
  const added = names.map((name) => `${JSON.stringify(name)}:${JSON.stringify(fields[name])},`).join("");
  return `${text.slice(0, brace + 1)}${added}${text.slice(brace + 1)}`;
}

/** Whether a stream of this endpoint needs `stream_options.include_usage` to report usage. */
function needsUsageOption(endpoint: MeteredEndpoint, body: Record<string, unknown>): boolean {
  if (endpoint !== "chat/completions" && endpoint !== "completions") return false;
  const options = body.stream_options;
  return !(
    options !== null &&
    typeof options === "object" &&
    (options as Record<string, unknown>).include_usage === true
  );
}

/**
 * Parse and shape one metered request body (JSON text, at most the gateway's body limit); `countPrompt` is
 * the door's prompt counter (the door passes its own).
 */
export function shapeRequest(
  endpoint: MeteredEndpoint,
  text: string,
  defaultMaxTokens: number,
  countPrompt: PromptCounter<MeteredEndpoint> = promptChars,
): ShapeResult {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  const body = parsed.body;
  if (typeof body.model !== "string" || body.model === "") {
    return invalid("you must provide a model parameter", "model");
  }
  if (Object.hasOwn(body, "stream") && typeof body.stream !== "boolean") {
    return invalid("stream must be true or false", "stream");
  }
  if (endpoint === "responses" && body.background === true) {
    return invalid(
      "background responses are not available through this gateway: their usage cannot be metered",
      "background",
    );
  }
  const stream = canStream(endpoint) && body.stream === true;
  const addedUsage = stream && needsUsageOption(endpoint, body);
  const promptTokens = tokensFromChars(countPrompt(endpoint, body));
  const budget = outputBudget(endpoint, body, defaultMaxTokens);
  const added: Record<string, unknown> = {};
  const capField = CAP_FIELD[endpoint];
  if (capField !== null && !clientCapped(endpoint, body)) added[capField] = defaultMaxTokens;
  if (addedUsage) {
    const options = body.stream_options;
    const kept = options !== null && typeof options === "object" && !Array.isArray(options) ? options : {};
    added.stream_options = { ...kept, include_usage: true };
  }
  const forwarded = withFields(text, body, added);
  return {
    ok: true,
    request: {
      endpoint,
      model: body.model,
      stream,
      addedUsage,
      promptTokens,
      outputBudget: budget,
      reserveAmount: promptTokens + budget,
      body: forwarded,
    },
  };
}
