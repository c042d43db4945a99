/**
 * What every client call answers: a value or an error, never a throw (SPEC §13.3). A denied decision is a
 * value (`ok: true`, the API answers it with 200); an error is the API's envelope, or one of the client's own
 * codes when no usable answer came back.
 */
import type { ErrorCode } from "../errors/catalogue";

/**
 * The client's own codes, with `status` 0 unless a response was received:
 * - `network_error`: every attempt failed before an answer (or its body) arrived;
 * - `aborted`: the caller's `AbortSignal` fired;
 * - `unexpected_response`: an answer that is not the API's (a proxy's HTML page, a body that is not JSON);
 *   `status` is its HTTP status.
 */
export type ClientErrorCode = "network_error" | "aborted" | "unexpected_response";

/** Every code a call can fail with: the catalogue's (src/errors/catalogue.ts) and the client's own. */
export type TollgateErrorCode = ErrorCode | ClientErrorCode;

/** An error answer (the envelope of SPEC §5), or the client's own failure. */
export interface TollgateError {
  /** The HTTP status; 0 when no answer was received (`network_error`, `aborted`). */
  status: number;
  /** A catalogue code (a code a newer server adds passes through as sent), or the client's own. */
  code: TollgateErrorCode;
  message: string;
  /** `issues` for `invalid_request` / `invalid_policy`, `currentVersion` for `precondition_failed`, … */
  details?: Record<string, unknown>;
  /**
   * An earlier attempt of this call may have reached the server and its answer was lost (a network error or
   * a 5xx). This error may then be that attempt's consequence: `412` on a retried `If-None-Match: *` put, `404`
   * on a retried delete.
   */
  earlierAttemptLost: boolean;
}

/** What a call reports beside its value or error. */
interface CallFacts {
  /** How many requests were sent (1 when the first answer was final). */
  attempts: number;
  /** The `X-Request-Id` of the last answer (quote it when reporting a problem); null with no answer. */
  requestId: string | null;
  /**
   * The idempotency key this call carried (the caller's, or the one the client generated), on every call
   * that takes one. After a `network_error`, send the call again with this key to learn its outcome without
   * applying it twice.
   */
  idempotencyKey?: string;
}

/** A successful call. */
export interface TollgateOk<T> extends CallFacts {
  ok: true;
  value: T;
}

/** A failed call. */
export interface TollgateFailure extends CallFacts {
  ok: false;
  error: TollgateError;
}

/** The answer of every client method. */
export type TollgateResult<T> = TollgateOk<T> | TollgateFailure;

/**
 * The value of a delete (a customer, a grant). `confirmed`: the server answered `204` to this call.
 * `unconfirmed`: an earlier attempt's answer was lost and a retry found nothing to delete (`404`): that
 * attempt most likely deleted it, but a concurrent delete (or it never existing) would look the same.
 */
export type Removal = { removed: "confirmed" } | { removed: "unconfirmed"; message: string };
