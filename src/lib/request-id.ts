/**
 * Request ids and the access log (SPEC §11 "HTTP"): every response carries `X-Request-Id`, and every
 * request yields exactly one JSON log line `{ requestId, method, path, status, ms }`.
 */
import type { MiddlewareHandler } from "hono";

/** The Hono environment of any app behind this middleware: the Worker's bindings and the request id. */
export type RequestIdEnv = { Bindings: Env; Variables: { requestId: string } };

/** A client-sent id is echoed only when it is short and harmless to put in logs and headers. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Segments that follow these may be alternate IDs, which can be credentials (SPEC §11 "Secrets"). */
const SENSITIVE_PARENTS = new Set(["alternate-ids", "customers"]);
const KEPT_CHARS = 6;

/** The id to use for a request: the client's when sane, else a fresh UUID. */
function chooseRequestId(incoming: string | undefined): string {
  return incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}

/**
 * The path as it may be logged: a segment after `/customers/` or `/alternate-ids/` is clipped to its first
 * 6 characters, because every customer route accepts an alternate ID in place of the id (SPEC §3.4) and
 * logs may show at most 6 characters of one.
 */
function loggablePath(path: string): string {
  // Most paths name no such segment: no split, no join.
  if (!path.includes("/customers/") && !path.includes("/alternate-ids/")) return path;
  const segments = path.split("/");
  for (let i = 1; i < segments.length; i++) {
    const parent = segments[i - 1];
    const segment = segments[i] ?? "";
    if (parent !== undefined && SENSITIVE_PARENTS.has(parent) && segment.length > KEPT_CHARS) {
      segments[i] = `${segment.slice(0, KEPT_CHARS)}…`;
    }
  }
  return segments.join("/");
}

/** Middleware factory: set `requestId`, stamp `X-Request-Id` on the response, log one line. */
export function requestId(): MiddlewareHandler<RequestIdEnv> {
  return async function requestIdMiddleware(c, next) {
    const startedMs = Date.now();
    const id = chooseRequestId(c.req.header("x-request-id"));
    c.set("requestId", id);
    // Hono's compose catches handler errors and runs onError, so c.res is final after next() resolves.
    await next();
    // Stamped on the final response in place: a response this Worker built has mutable headers. Not set before
    // the handler (`c.header`), which would make every `c.json` build and copy a Headers object of its own.
    try {
      c.res.headers.set("X-Request-Id", id);
    } catch {
      // Immutable headers (a response passed on as fetched): Hono copies the response to set it.
      c.header("X-Request-Id", id);
    }
    // Never the query string, headers or body: they may carry tokens or alternate IDs.
    console.log(
      JSON.stringify({
        requestId: id,
        method: c.req.method,
        path: loggablePath(c.req.path),
        status: c.res.status,
        ms: Date.now() - startedMs,
      }),
    );
  };
}
