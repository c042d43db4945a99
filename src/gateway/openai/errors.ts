/**
 * The OpenAI door's error shape (SPEC §6, §11), so official SDKs raise their usual errors:
 * `{ "error": { "message", "type", "code", "param" } }`. Codes, statuses and default messages come from the
 * catalogue (src/errors/catalogue.ts); this module only says how OpenAI writes them. A denial is a Decision,
 * mapped here to its failure: a limit is `429 insufficient_quota`, a rate `429 rate_limit_exceeded` with
 * `Retry-After`, a plan that lacks the entitlement `403` with code = the reason.
 */
import type { Decision } from "../../domain/types";
import { type ErrorCode, fail, statusOf } from "../../errors/catalogue";
import type { ParamFailure } from "../core/door";

/** A failure as OpenAI writes it, with the headers its answer carries. */
export interface OpenAiError {
  status: number;
  type: string;
  code: ErrorCode;
  message: string;
  param: string | null;
  headers: Record<string, string>;
}

/** OpenAI's `type` where it is not the status class's. */
const OPENAI_TYPES: Partial<Record<ErrorCode, string>> = {
  insufficient_quota: "insufficient_quota",
  rate_limit_exceeded: "rate_limit_exceeded",
};

/** A failure in OpenAI's shape: its `type` by code, else `server_error` (5xx) or `invalid_request_error`. */
export function openAiError(failure: ParamFailure, headers: Record<string, string> = {}): OpenAiError {
  const status = statusOf(failure.code);
  const type = OPENAI_TYPES[failure.code] ?? (status >= 500 ? "server_error" : "invalid_request_error");
  return {
    status,
    type,
    code: failure.code,
    message: failure.message,
    param: failure.param ?? null,
    headers,
  };
}

/** The OpenAI error body. */
export function errorBody(error: OpenAiError): {
  error: { message: string; type: string; code: string; param: string | null };
} {
  return { error: { message: error.message, type: error.type, code: error.code, param: error.param } };
}

/** An OpenAI-shaped error response. */
export function errorResponse(error: OpenAiError, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(errorBody(error)), {
    status: error.status,
    headers: { "content-type": "application/json", ...headers, ...error.headers },
  });
}

// The official SDKs obey `x-should-retry` before their own rules (which retry every 429 and 5xx): a
// refusal that waiting cannot fix says so, which saves the client its backoff and the gate a reservation.
const NO_RETRY = { "x-should-retry": "false" };

/** The refusal a denied decision becomes, or null when the decision allows the call. */
export function refusalFor(decision: Decision): OpenAiError | null {
  if (decision.allowed) return null;
  const message = decision.message;
  switch (decision.reason) {
    case "rate_limited": {
      const retry = decision.retryAfterSeconds;
      // null: the amount exceeds the bucket's burst and will never fit.
      const headers: Record<string, string> = retry === null ? NO_RETRY : { "Retry-After": String(retry) };
      return openAiError(fail("rate_limit_exceeded", message), headers);
    }
    case "limit_exceeded":
      return openAiError(fail("insufficient_quota", message), NO_RETRY);
    case "too_many_holds":
      // The object's 1,000 live holds are taken by calls in flight: retryable once some settle.
      return openAiError(fail("rate_limit_exceeded", message), { "Retry-After": "1" });
    case "unknown_customer":
      return unauthorized();
    case "not_entitled":
    case "no_org":
    case "plan_not_found":
      return openAiError(fail(decision.reason, message));
    default:
      // No other reason denies a reserve or a consume; should one, the call is refused all the same.
      return openAiError(fail("internal", message));
  }
}

/** `401`: no bearer token, or one that is no customer's alternate ID. Never echoes the key. */
export function unauthorized(): OpenAiError {
  return openAiError(fail("invalid_api_key"));
}
