/**
 * The Anthropic door's error shape (SPEC §6, §11), so `@anthropic-ai/sdk` raises its usual errors:
 * `{ "type": "error", "error": { "type", "message" } }`. The `type` follows the status, as Anthropic's does
 * (400 `invalid_request_error`, 401 `authentication_error`, 403 `permission_error`, 404 `not_found_error`,
 * 413 `request_too_large`, 429 `rate_limit_error`, 5xx `api_error`); codes, statuses and default messages
 * come from the catalogue. A limit is `429` with `x-should-retry: false`, a rate `429` with `Retry-After`.
 */
import type { Decision } from "../../domain/types";
import { type ErrorCode, fail, statusOf } from "../../errors/catalogue";
import type { ParamFailure } from "../core/door";

/** A failure as Anthropic writes it, with the headers its answer carries. */
export interface AnthropicError {
  status: number;
  type: string;
  /** The catalogue's code: not on the wire (Anthropic's shape has no place for it), kept for logs and tests. */
  code: ErrorCode;
  message: string;
  headers: Record<string, string>;
}

const TYPES_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
};

/** A failure in Anthropic's shape: its `type` by status, `api_error` for any 5xx. */
export function anthropicError(failure: ParamFailure, headers: Record<string, string> = {}): AnthropicError {
  const status = statusOf(failure.code);
  const type = TYPES_BY_STATUS[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
  return { status, type, code: failure.code, message: failure.message, headers };
}

/** The Anthropic error body. */
export function errorBody(error: AnthropicError): {
  type: "error";
  error: { type: string; message: string };
} {
  return { type: "error", error: { type: error.type, message: error.message } };
}

/** An Anthropic-shaped error response. */
export function errorResponse(error: AnthropicError, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(errorBody(error)), {
    status: error.status,
    headers: { "content-type": "application/json", ...headers, ...error.headers },
  });
}

// The official SDK obeys `x-should-retry` before its own rules (which retry every 429 and 5xx): a refusal
// that waiting cannot fix says so.
const NO_RETRY = { "x-should-retry": "false" };

/** The refusal a denied decision becomes, or null when the decision allows the call. */
export function refusalFor(decision: Decision): AnthropicError | null {
  if (decision.allowed) return null;
  const message = decision.message;
  switch (decision.reason) {
    case "rate_limited": {
      const retry = decision.retryAfterSeconds;
      // null: the amount exceeds the bucket's burst and will never fit.
      const headers: Record<string, string> = retry === null ? NO_RETRY : { "Retry-After": String(retry) };
      return anthropicError(fail("rate_limit_exceeded", message), headers);
    }
    case "limit_exceeded":
      return anthropicError(fail("insufficient_quota", message), NO_RETRY);
    case "too_many_holds":
      return anthropicError(fail("rate_limit_exceeded", message), { "Retry-After": "1" });
    case "unknown_customer":
      return anthropicError(fail("invalid_api_key"));
    case "not_entitled":
    case "no_org":
    case "plan_not_found":
      return anthropicError(fail(decision.reason, message));
    default:
      return anthropicError(fail("internal", message));
  }
}
