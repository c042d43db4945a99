/**
 * Refusals in OpenAI's error shape (SPEC §6, §11), so official SDKs raise their usual errors:
 * `{ "error": { "message", "type", "code", "param": null } }`. A denial is a Decision, mapped here to its
 * status: a limit is `429 insufficient_quota`, a rate `429 rate_limit_exceeded` with `Retry-After`, a plan
 * that lacks the entitlement `403` with code = the reason.
 */
import type { Decision } from "../domain/types";

export interface GatewayError {
  status: number;
  type: string;
  code: string;
  message: string;
  param: string | null;
  headers: Record<string, string>;
}

/** The OpenAI error body. */
export function errorBody(error: GatewayError): {
  error: { message: string; type: string; code: string; param: string | null };
} {
  return { error: { message: error.message, type: error.type, code: error.code, param: error.param } };
}

/** A gateway error with OpenAI's `type` for its status. */
export function gatewayError(
  status: number,
  code: string,
  message: string,
  extra: { param?: string | null; type?: string; headers?: Record<string, string> } = {},
): GatewayError {
  const type = extra.type ?? (status >= 500 ? "server_error" : "invalid_request_error");
  return { status, type, code, message, param: extra.param ?? null, headers: extra.headers ?? {} };
}

// The official SDKs obey `x-should-retry` before their own rules (which retry every 429 and 5xx): a
// refusal that waiting cannot fix says so, which saves the client its backoff and the gate a reservation.
const NO_RETRY = { "x-should-retry": "false" };

/** The refusal a denied decision becomes, or null when the decision allows the call. */
export function refusalFor(decision: Decision): GatewayError | null {
  if (decision.allowed) return null;
  const message = decision.message;
  switch (decision.reason) {
    case "rate_limited": {
      const retry = decision.retryAfterSeconds;
      // null: the amount exceeds the bucket's burst and will never fit.
      const headers: Record<string, string> = retry === null ? NO_RETRY : { "Retry-After": String(retry) };
      return gatewayError(429, "rate_limit_exceeded", message, { type: "rate_limit_exceeded", headers });
    }
    case "limit_exceeded":
      return gatewayError(429, "insufficient_quota", message, {
        type: "insufficient_quota",
        headers: NO_RETRY,
      });
    case "too_many_holds":
      // The object's 1,000 live holds are taken by calls in flight: retryable once some settle.
      return gatewayError(429, "rate_limit_exceeded", message, {
        type: "rate_limit_exceeded",
        headers: { "Retry-After": "1" },
      });
    case "unknown_customer":
      return unauthorized();
    default:
      // not_entitled, no_org, plan_not_found.
      return gatewayError(403, decision.reason, message);
  }
}

/** `401`: no bearer token, or one that is no customer's alternate ID. Never echoes the key. */
export function unauthorized(): GatewayError {
  return gatewayError(
    401,
    "invalid_api_key",
    "Incorrect API key provided. Use an API key issued for this gateway.",
  );
}
