/**
 * Which headers cross the gateway. Upstream gets the client's headers minus credentials, hop-by-hop and
 * edge headers, and the client's OpenAI organisation/project (they belong to the client's own account, not
 * to the gateway's key), with the gateway's key in `Authorization`. The customer's key never goes upstream
 * (SPEC §11 "Secrets"): a header that carries it anywhere in its value is dropped too. The client gets the
 * upstream's headers minus framing (the body is re-sent), cookies, and what describes the gateway's own
 * upstream account (its organisation, project and `x-ratelimit-*` quota): those are not the caller's.
 */

const DROPPED_REQUEST = new Set([
  "authorization",
  "api-key",
  "x-api-key",
  "cookie",
  "host",
  "content-length",
  "connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "accept-encoding",
  "openai-organization",
  "openai-project",
  "forwarded",
  "x-real-ip",
]);
const DROPPED_REQUEST_PREFIXES = ["cf-", "x-forwarded-"];

const DROPPED_RESPONSE = new Set([
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "set-cookie",
  "openai-organization",
  "openai-project",
  "x-request-id",
]);
const DROPPED_RESPONSE_PREFIXES = ["x-ratelimit-", "cf-"];

const dropped = (name: string, names: Set<string>, prefixes: string[]): boolean =>
  names.has(name) || prefixes.some((prefix) => name.startsWith(prefix));

/** The bearer token of an `Authorization` header, or null. */
export function bearerToken(authorization: string | null): string | null {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "");
  return match?.[1] ?? null;
}

/** Headers for the upstream request: the gateway's `apiKey` in, the client's `customerKey` out. */
export function upstreamRequestHeaders(incoming: Headers, apiKey: string, customerKey: string): Headers {
  const out = new Headers();
  for (const [name, value] of incoming) {
    if (dropped(name, DROPPED_REQUEST, DROPPED_REQUEST_PREFIXES)) continue;
    if (customerKey !== "" && value.includes(customerKey)) continue;
    out.set(name, value);
  }
  out.set("authorization", `Bearer ${apiKey}`);
  return out;
}

/** Headers for the client's response; the upstream's request id is kept as `x-upstream-request-id`. */
export function clientResponseHeaders(upstream: Headers): Headers {
  const out = new Headers();
  for (const [name, value] of upstream) {
    if (!dropped(name, DROPPED_RESPONSE, DROPPED_RESPONSE_PREFIXES)) out.append(name, value);
  }
  const upstreamId = upstream.get("x-request-id");
  if (upstreamId !== null) out.set("x-upstream-request-id", upstreamId);
  return out;
}
