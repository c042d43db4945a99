/**
 * The one error catalogue (SPEC §5.3, §6, §11; STYLE.md "Errors"): every code the gate answers, written once,
 * with its status and default message. Everything below the edge returns a `Failure` value; the edges render
 * it: the admin envelope (`src/http`), OpenAI's and Anthropic's shapes (the gateway doors). Imports nothing.
 */

export const errors = {
  // 400
  invalid_json: { status: 400, message: "the body is not valid JSON" },
  invalid_request: { status: 400, message: "the request is invalid" },
  invalid_amount: { status: 400, message: "the amount is not a valid amount of this credit" },
  invalid_policy: { status: 400, message: "the policy is invalid" },
  unknown_entitlement: { status: 400, message: "no plan of the policy has this entitlement" },
  unknown_plan: { status: 400, message: "the policy has no such plan" },
  unknown_org: { status: 400, message: "no customer of type org has this id" },
  unknown_topup: { status: 400, message: "the customer's effective plan has no such top-up" },
  // 401, 403
  unauthorized: { status: 401, message: "a valid bearer token is required" },
  invalid_api_key: {
    status: 401,
    message: "Incorrect API key provided. Use an API key issued for this gateway.",
  },
  not_entitled: { status: 403, message: "the customer's plan does not include this entitlement" },
  no_org: { status: 403, message: "the entitlement is org-scoped and the customer has no org" },
  plan_not_found: { status: 403, message: "the customer has no plan and the policy no default plan" },
  model_not_allowed: { status: 403, message: "the model is not mapped to an entitlement by the policy" },
  model_not_priced: {
    status: 403,
    message: "the model has no cost in the policy, and the gateway's spend is metered (gateway.spend)",
  },
  // 404, 405
  not_found: { status: 404, message: "no such route" },
  unknown_url: { status: 404, message: "the gateway does not serve this path" },
  customer_not_found: { status: 404, message: "no customer has this id or alternate ID" },
  hold_not_found: { status: 404, message: "no live or settleable hold of this customer has this id" },
  event_not_found: { status: 404, message: "no event of this customer has this seq" },
  grant_not_found: { status: 404, message: "this customer holds no live grant with this id" },
  method_not_allowed: { status: 405, message: "the route does not take this method" },
  // 409, 412, 413, 415
  alternate_id_taken: { status: 409, message: "the string is another customer's id or alternate ID" },
  too_many_alternate_ids: { status: 409, message: "a customer holds at most 100 alternate IDs" },
  org_has_members: { status: 409, message: "an org with members cannot change type" },
  idempotency_key_reused: { status: 409, message: "the idempotency key was used with a different body" },
  event_not_redeliverable: { status: 409, message: "the event was skipped and is never delivered" },
  webhooks_off: { status: 409, message: "webhooks are off or misconfigured: nothing can be delivered" },
  conflict: { status: 409, message: "the object holds another customer" },
  precondition_failed: { status: 412, message: "the precondition does not hold" },
  payload_too_large: { status: 413, message: "the body is too large" },
  unsupported_media_type: { status: 415, message: "the body's content type is not accepted" },
  // 429
  insufficient_quota: { status: 429, message: "the limit is reached" },
  rate_limit_exceeded: { status: 429, message: "the rate limit is reached" },
  // 5xx
  internal: { status: 500, message: "internal error; quote the request id when reporting it" },
  upstream_unreachable: { status: 502, message: "the upstream could not be reached" },
  upstream_incomplete: { status: 502, message: "the upstream's answer was cut short" },
  upstream_auth_failed: { status: 502, message: "the upstream refused the gateway's own credentials" },
  policy_unavailable: { status: 503, message: "no valid policy is loaded; PUT /v1/policy first" },
  not_configured: { status: 503, message: "the gate is not configured" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errors;

/** What a layer below the edge answers instead of throwing. */
export interface Failure {
  ok: false;
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** A value, or the failure a layer below answered instead of throwing. */
export type Result<T> = { ok: true; value: T } | Failure;

/** A failure with the catalogue's message unless a more specific one is given. */
export function fail(code: ErrorCode, message?: string, details?: Record<string, unknown>): Failure {
  return {
    ok: false,
    code,
    message: message ?? errors[code].message,
    ...(details === undefined ? {} : { details }),
  };
}

/** The HTTP status of a code. */
export function statusOf(code: ErrorCode): number {
  return errors[code].status;
}
