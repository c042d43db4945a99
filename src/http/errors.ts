/**
 * The one error type at the HTTP boundary and the handler that turns it into the envelope of SPEC §5:
 * `{ "error": { "code", "message", "details"?, "requestId" } }`.
 */
import type { Context, ErrorHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type Failure, statusOf } from "../errors/catalogue";
import type { AppEnv } from "./types";

/** A request that fails with a known status and code. Thrown anywhere below a route; `onError` writes it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Extra response headers (`Allow` on 405, `WWW-Authenticate` on 401). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** A failure from below the edge (an object's answer), to throw. */
  static from(failure: Failure): ApiError {
    return new ApiError(statusOf(failure.code), failure.code, failure.message, failure.details);
  }
}

/** One validation problem: a dotted path (`a.b.0`, "" for the root) and a plain message. */
export interface Issue {
  path: string;
  message: string;
}

/** `400 invalid_request` with `details.issues`. */
export function invalidRequest(issues: Issue[], message = "the request is invalid"): ApiError {
  return new ApiError(400, "invalid_request", message, { issues });
}

/** `400 invalid_policy` with `details.issues` (SPEC §5.1). */
export function invalidPolicy(issues: Issue[]): ApiError {
  const first = issues[0];
  const summary =
    first === undefined ? "" : `: ${first.path === "" ? "" : `${first.path}: `}${first.message}`;
  return new ApiError(400, "invalid_policy", `the policy is invalid${summary}`, { issues });
}

/** `503 policy_unavailable`: no valid policy has ever been stored; the gate never invents limits (SPEC §1). */
export function policyUnavailable(): ApiError {
  return new ApiError(503, "policy_unavailable", "no policy is loaded; PUT /v1/policy first");
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

const SECRET_NAMES = ["ADMIN_TOKEN", "OPENAI_API_KEY", "WEBHOOK_SECRET"] as const;
const MAX_LOGGED_CHARS = 2000;

/** Remove configured secret values from text bound for a log line (defence in depth: SPEC §8). */
export function redactSecrets(text: string, env: Partial<Env> | undefined): string {
  let out = text;
  for (const name of SECRET_NAMES) {
    const secret = env?.[name];
    if (typeof secret === "string" && secret.length > 0) out = out.split(secret).join("[redacted]");
  }
  return out.length > MAX_LOGGED_CHARS ? `${out.slice(0, MAX_LOGGED_CHARS)}…` : out;
}

/**
 * `app.onError`: an ApiError becomes its envelope; anything else is a bug or broken infrastructure, logged
 * as one JSON line (name, message, stack; secrets redacted, never the request body) and answered `500
 * internal` without internals.
 */
export const onError: ErrorHandler<AppEnv> = (error, c) => {
  if (error instanceof ApiError) return errorResponse(c, error);
  const err = error instanceof Error ? error : new Error(String(error));
  console.error(
    JSON.stringify({
      level: "error",
      msg: "unhandled exception",
      requestId: c.get("requestId"),
      method: c.req.method,
      error: err.name,
      message: redactSecrets(err.message, c.env),
      stack: redactSecrets(err.stack ?? "", c.env),
    }),
  );
  return errorResponse(
    c,
    new ApiError(500, "internal", "internal error; quote the request id when reporting it"),
  );
};
