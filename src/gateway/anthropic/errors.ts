/**
 * The Anthropic door's error shape (SPEC §6, §11), so `@anthropic-ai/sdk` raises its usual errors:
 * `{ "type": "error", "error": { "type", "message" } }`. The `type` follows the status, as Anthropic's does
 * (400 `invalid_request_error`, 401 `authentication_error`, 403 `permission_error`, 404 `not_found_error`,
 * 413 `request_too_large`, 429 `rate_limit_error`, 5xx `api_error`); codes, statuses and default messages
 * come from the catalogue. A limit is `429` with `x-should-retry: false`, a rate `429` with `Retry-After`.
 */
import type { Decision } from "../../domain/types";
import { type ErrorCode, statusOf } from "../../errors/catalogue";
import type { ParamFailure } from "../core/door";
import { refusalOf } from "../core/refusal";

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

/** The refusal a denied decision becomes (core/refusal.ts), in this door's shape; null when allowed. */
export function refusalFor(decision: Decision): AnthropicError | null {
  const refusal = refusalOf(decision);
  return refusal === null ? null : anthropicError(refusal.failure, refusal.headers);
}
