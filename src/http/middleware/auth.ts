/** Admin bearer-token authentication for every `/v1/*` path (SPEC §5, §11 "HTTP"). */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors";
import type { AppEnv } from "../types";

const encoder = new TextEncoder();

async function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

/**
 * Constant-time string equality. Both sides are hashed first so the comparison runs over 32 bytes
 * whatever the lengths (timingSafeEqual itself throws on unequal lengths and leaks length otherwise).
 */
async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), expectedDigest(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

// The configured token's digest, computed once per isolate (and again only if the secret changes).
let expectedCache: { token: string; digest: Promise<ArrayBuffer> } | null = null;

function expectedDigest(token: string): Promise<ArrayBuffer> {
  if (expectedCache?.token !== token) expectedCache = { token, digest: sha256(token) };
  return expectedCache.digest;
}

/** The token of an `Authorization: Bearer <token>` header, or null. The scheme is case-insensitive (RFC 9110). */
function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
  return match?.[1] ?? null;
}

/**
 * Middleware factory: `503 not_configured` when no ADMIN_TOKEN is set, `401 unauthorized` when the bearer
 * token is missing or wrong. Mounted before any route, so an unknown `/v1` path is 401 before it is 404.
 */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdminMiddleware(c, next) {
    const expected = c.env.ADMIN_TOKEN;
    if (expected === undefined || expected === "") {
      throw new ApiError("not_configured", "ADMIN_TOKEN is not configured; the /v1 API is disabled");
    }
    const given = bearerToken(c.req.header("authorization"));
    if (given === null || !(await tokensEqual(given, expected))) {
      throw new ApiError("unauthorized", "missing or invalid bearer token", undefined, {
        "WWW-Authenticate": 'Bearer realm="tollgate"',
      });
    }
    await next();
  };
}
