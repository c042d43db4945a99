/**
 * The one error type at the admin API's edge and its one renderer, the envelope of SPEC §5:
 * `{ "error": { "code", "message", "details"?, "requestId" } }`. Codes, statuses and default messages come
 * from the catalogue (src/errors/catalogue.ts); layers below answer `Failure` values, which `ApiError.from`
 * lifts here.
 */
import type { Context, ErrorHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ErrorCode, errors, type Failure, type Result, statusOf } from "../errors/catalogue";
import { logUnhandled } from "../lib/unhandled";
import type { Issue } from "../services/request-schemas";
import type { AppEnv } from "./types";

/** A request that fails with a catalogue code. Thrown by route code only; `onError` writes it. */
export class ApiError extends Error {
  /** The catalogue's status for the code. */
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string = errors[code].message,
    readonly details?: Record<string, unknown>,
    /** Extra response headers (`Allow` on 405, `WWW-Authenticate` on 401). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.status = statusOf(code);
    this.name = "ApiError";
  }

  /** The ApiError of a failure a layer below answered. */
  static from(failure: Pick<Failure, "code" | "message" | "details">): ApiError {
    return new ApiError(failure.code, failure.message, failure.details);
  }
}

/** The value of a layer's answer, or its failure thrown as the matching ApiError (rendered by `onError`). */
export function valueOrThrow<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw ApiError.from(result);
}

/** One validation problem: a dotted path (`a.b.0`, "" for the root) and a plain message. */
export type { Issue };

/** `400 invalid_request` with `details.issues`. */
export function invalidRequest(issues: Issue[], message?: string): ApiError {
  return new ApiError("invalid_request", message, { issues });
}

/** `400 invalid_policy` with `details.issues` (SPEC §5.1). */
export function invalidPolicy(issues: Issue[]): ApiError {
  const first = issues[0];
  const summary =
    first === undefined ? "" : `: ${first.path === "" ? "" : `${first.path}: `}${first.message}`;
  return new ApiError("invalid_policy", `${errors.invalid_policy.message}${summary}`, { issues });
}

/** `503 policy_unavailable`: no valid policy has ever been stored; the gate never invents limits (SPEC §1). */
export function policyUnavailable(): ApiError {
  return new ApiError("policy_unavailable");
}

/** Write the error envelope for one ApiError (also usable outside `onError`, e.g. in `notFound`). */
export function errorResponse(c: Context<AppEnv>, error: ApiError): Response {
  const body = {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
      requestId: c.get("requestId") ?? "",
    },
  };
  for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
  return c.json(body, error.status as ContentfulStatusCode);
}

/**
 * `app.onError`: an ApiError becomes its envelope; anything else is a bug or broken infrastructure, logged
 * as one JSON line (secrets redacted, never the request body) and answered `500 internal` without internals.
 */
export const onError: ErrorHandler<AppEnv> = (error, c) => {
  if (error instanceof ApiError) return errorResponse(c, error);
  logUnhandled(error, { requestId: c.get("requestId"), method: c.req.method }, c.env);
  return errorResponse(c, new ApiError("internal"));
};
