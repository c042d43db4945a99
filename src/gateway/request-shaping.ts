/**
 * Request shaping (SPEC §6, §11): parse a metered request, work out what to reserve, and make a stream report
 * its usage. Reserve = `ceil(prompt chars / 4)` + the output budget: chat `max_completion_tokens ?? max_tokens
 * ?? default`, completions `max_tokens ?? default`, responses `max_output_tokens ?? default`, embeddings 0.
 * Chat and completions generate `n` choices (completions: `max(n, best_of)`), so their budget is per choice.
 */
import { canStream, type MeteredEndpoint } from "./endpoints";
import { promptChars, tokensFromChars } from "./prompt-chars";

export interface ShapedRequest {
  endpoint: MeteredEndpoint;
  model: string;
  /** The client asked for an SSE stream. */
  stream: boolean;
  /** The gateway added `stream_options.include_usage` (the client did not ask for it). */
  addedUsage: boolean;
  promptTokens: number;
  outputBudget: number;
  /** What to reserve on the model's entitlement before forwarding. */
  reserveAmount: number;
  /** The body to send upstream: the client's own bytes unless the gateway changed something. */
  body: string;
}

export interface ShapeError {
  status: 400;
  code: "invalid_json" | "invalid_request";
  param: string | null;
  message: string;
}

export type ShapeResult = { ok: true; request: ShapedRequest } | { ok: false; error: ShapeError };

// Upstream caps `n` at 128; a larger value is refused there, and must not make the reservation absurd here.
const MAX_CHOICES = 128;

function invalid(message: string, param: string | null = null): ShapeResult {
  return { ok: false, error: { status: 400, code: "invalid_request", param, message } };
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

/** Parse and shape one metered request body (JSON text, at most the gateway's body limit). */
export function shapeRequest(endpoint: MeteredEndpoint, text: string, defaultMaxTokens: number): ShapeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      error: {
        status: 400,
        code: "invalid_json",
        param: null,
        message: `the body is not valid JSON: ${(error as Error).message}`,
      },
    };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return invalid("the body must be a JSON object");
  }
  const body = parsed as Record<string, unknown>;
  if (typeof body.model !== "string" || body.model === "") {
    return invalid("you must provide a model parameter", "model");
  }
  const stream = canStream(endpoint) && body.stream === true;
  const addedUsage = stream && needsUsageOption(endpoint, body);
  const promptTokens = tokensFromChars(promptChars(endpoint, body));
  const budget = outputBudget(endpoint, body, defaultMaxTokens);
  let forwarded = text;
  if (addedUsage) {
    const options = body.stream_options;
    const kept = options !== null && typeof options === "object" && !Array.isArray(options) ? options : {};
    forwarded = JSON.stringify({ ...body, stream_options: { ...kept, include_usage: true } });
  }
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
