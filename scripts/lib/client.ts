/** A minimal admin client for a running gate (dev seeding, the e2e script). */

export type Json = Record<string, unknown>;

export interface ApiResponse {
  status: number;
  /** The parsed JSON body; `{}` for an empty body (204). */
  body: Json;
}

export interface RawBody {
  text: string;
  contentType: string;
}

export type ApiClient = (
  method: string,
  path: string,
  body?: unknown | RawBody,
  /** More request headers (e.g. If-Match). */
  extraHeaders?: Record<string, string>,
) => Promise<ApiResponse>;

const isRawBody = (body: unknown): body is RawBody =>
  typeof body === "object" && body !== null && "text" in body && "contentType" in body;

/** Requests with `Authorization: Bearer <token>`; a plain object body is sent as JSON. */
export function createClient(baseUrl: string, token: string): ApiClient {
  return async function request(method, path, body, extraHeaders = {}) {
    const headers: Record<string, string> = { ...extraHeaders, authorization: `Bearer ${token}` };
    let payload: string | undefined;
    if (isRawBody(body)) {
      headers["content-type"] = body.contentType;
      payload = body.text;
    } else if (body !== undefined) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: payload,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let parsed: Json = {};
    if (text !== "") {
      try {
        parsed = JSON.parse(text) as Json;
      } catch {
        parsed = { nonJsonBody: text.slice(0, 500) };
      }
    }
    return { status: response.status, body: parsed };
  };
}

/** The `error.code` of an error envelope, if the body is one. */
export function errorCode(body: Json): string | undefined {
  const error = body.error;
  return typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined;
}
