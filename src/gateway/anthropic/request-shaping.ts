/**
 * The Anthropic door's request shaping (SPEC §6, §11): parse a `messages` request and work out what to
 * reserve: `ceil(prompt chars / 4) + max_tokens`. `max_tokens` is required by the API and must be a positive
 * integer here (Anthropic's 400 otherwise, before any object call); `stream` must be a boolean. The body is
 * forwarded as the client sent it: the client's cap is the cap reserved, so nothing is added.
 */
import { fail } from "../../errors/catalogue";
import { type PromptCounter, tokensFromChars } from "../core/chars";
import type { ParamFailure, Shaped } from "../core/door";
import { parseJsonObject } from "../core/json-body";
import type { MeteredEndpoint } from "./endpoints";
import { promptChars } from "./prompt-chars";

function invalid(message: string, param: string | null = null): Shaped<MeteredEndpoint> {
  const error: ParamFailure = { ...fail("invalid_request", message), param };
  return { ok: false, error };
}

/** Parse and shape one metered request body (JSON text, at most the gateway's body limit). */
export function shapeRequest(
  endpoint: MeteredEndpoint,
  text: string,
  countPrompt: PromptCounter<MeteredEndpoint> = promptChars,
): Shaped<MeteredEndpoint> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  const body = parsed.body;
  if (typeof body.model !== "string" || body.model === "") return invalid("model: Field required", "model");
  const maxTokens = body.max_tokens;
  if (typeof maxTokens !== "number" || !Number.isSafeInteger(maxTokens) || maxTokens < 1) {
    return invalid("max_tokens: a positive integer is required", "max_tokens");
  }
  if (Object.hasOwn(body, "stream") && typeof body.stream !== "boolean") {
    return invalid("stream: Input should be a valid boolean", "stream");
  }
  const promptTokens = tokensFromChars(countPrompt(endpoint, body));
  return {
    ok: true,
    request: {
      endpoint,
      model: body.model,
      promptTokens,
      reserveAmount: promptTokens + maxTokens,
      body: text,
    },
  };
}
