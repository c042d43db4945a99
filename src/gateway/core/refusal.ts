/**
 * What a denied decision becomes at the gateway, whichever door answers (SPEC §6): a catalogue failure and the
 * headers its answer carries. A door only writes it in its provider's shape.
 */
import type { Decision } from "../../domain/types";
import { type Failure, fail } from "../../errors/catalogue";

export interface Refusal {
  failure: Failure;
  headers: Record<string, string>;
}

// The official SDKs obey `x-should-retry` before their own rules (which retry every 429 and 5xx): a refusal
// that waiting cannot fix says so, which saves the client its backoff and the gate a reservation.
const NO_RETRY = { "x-should-retry": "false" };

/** The refusal a denied decision becomes, or null when the decision allows the call. */
export function refusalOf(decision: Decision): Refusal | null {
  if (decision.allowed) return null;
  const message = decision.message;
  switch (decision.reason) {
    case "rate_limited": {
      const retry = decision.retryAfterSeconds;
      // null: the amount exceeds the bucket's burst and will never fit.
      const headers = retry === null ? NO_RETRY : { "Retry-After": String(retry) };
      return { failure: fail("rate_limit_exceeded", message), headers };
    }
    case "limit_exceeded":
      return { failure: fail("insufficient_quota", message), headers: NO_RETRY };
    case "too_many_holds":
      // The object's 1,000 live holds are taken by calls in flight: retryable once some settle.
      return { failure: fail("rate_limit_exceeded", message), headers: { "Retry-After": "1" } };
    case "unknown_customer":
      return { failure: fail("invalid_api_key"), headers: {} };
    case "not_entitled":
    case "no_org":
    case "plan_not_found":
      return { failure: fail(decision.reason, message), headers: {} };
    default:
      // No other reason denies a reserve or a consume; should one, the call is refused all the same.
      return { failure: fail("internal", message), headers: {} };
  }
}
