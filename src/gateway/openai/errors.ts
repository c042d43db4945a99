/**
 * The OpenAI door's error shape (SPEC §6, §11), so official SDKs raise their usual errors:
 * `{ "error": { "message", "type", "code", "param" } }`. Codes, statuses and default messages come from the
 * catalogue (src/errors/catalogue.ts); this module only says how OpenAI writes them. A denial is a Decision,
 * mapped here to its failure: a limit is `429 insufficient_quota`, a rate `429 rate_limit_exceeded` with
 * `Retry-After`, a plan that lacks the entitlement `403` with code = the reason.
 */
import type { Decision } from "../../domain/types";
import { type ErrorCode, statusOf } from "../../errors/catalogue";
import type { ParamFailure } from "../core/door";
import { refusalOf } from "../core/refusal";

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

/** The refusal a denied decision becomes (core/refusal.ts), in this door's shape; null when allowed. */
export function refusalFor(decision: Decision): OpenAiError | null {
  const refusal = refusalOf(decision);
  return refusal === null ? null : openAiError(refusal.failure, refusal.headers);
}
