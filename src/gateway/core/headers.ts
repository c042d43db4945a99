/**
 * Which headers cross the gateway, for any door. Upstream gets the client's headers minus credentials,
 * hop-by-hop and edge headers, and what the door names (headers of the client's own provider account), with
 * the gateway's key in the door's auth header. The customer's key never goes upstream (SPEC §11 "Secrets"): a
 * header that carries it anywhere in its value is dropped too. The client gets the upstream's headers minus
 * framing (the body is re-sent), cookies, and what the door names as describing the gateway's own upstream
 * account (its organisation, its quota headers): those are not the caller's.
 */

/** A door's additions to the common rules. Header names are lower case. */
export interface HeaderRules {
  /** Request headers the provider reads as account settings of the caller's own key. */
  droppedRequest: readonly string[];
  /** Response headers that describe the gateway's own upstream account. */
  droppedResponse: readonly string[];
  droppedResponsePrefixes: readonly string[];
  /** The header that carries the gateway's key upstream, and its value. */
  auth(apiKey: string): [name: string, value: string];
}

const DROPPED_REQUEST = [
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
  "forwarded",
  "x-real-ip",
];
const DROPPED_REQUEST_PREFIXES = ["cf-", "x-forwarded-"];

// `x-request-id` is the gateway's own (the entry stamps it); the upstream's is kept under another name.
const DROPPED_RESPONSE = [
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "set-cookie",
  "x-request-id",
];
const DROPPED_RESPONSE_PREFIXES = ["cf-"];

const dropped = (name: string, names: ReadonlySet<string>, prefixes: readonly string[]): boolean =>
  names.has(name) || prefixes.some((prefix) => name.startsWith(prefix));

/** The bearer token of an `Authorization` header, or null. */
export function bearerToken(authorization: string | null): string | null {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "");
  return match?.[1] ?? null;
}

/** The two header filters of a door. */
export interface HeaderFilter {
  /** Headers for the upstream request: the gateway's `apiKey` in, the client's `customerKey` out. */
  upstreamRequest(incoming: Headers, apiKey: string, customerKey: string): Headers;
  /** Headers for the client's response; the upstream's request id is kept as `x-upstream-request-id`. */
  clientResponse(upstream: Headers): Headers;
}

/** The client's copy of the upstream's headers under the common rules, plus what a door drops. */
function clientResponseHeaders(
  upstream: Headers,
  names: ReadonlySet<string>,
  prefixes: readonly string[],
): Headers {
  const out = new Headers();
  for (const [name, value] of upstream) {
    if (!dropped(name, names, prefixes)) out.append(name, value);
  }
  const upstreamId = upstream.get("x-request-id");
  if (upstreamId !== null) out.set("x-upstream-request-id", upstreamId);
  return out;
}

/** The common rules alone: what every door drops from an upstream answer. */
export function commonClientResponseHeaders(upstream: Headers): Headers {
  return clientResponseHeaders(upstream, new Set(DROPPED_RESPONSE), DROPPED_RESPONSE_PREFIXES);
}

/** The header filters of a door's rules (the sets are built once, per door). */
export function headerFilter(rules: HeaderRules): HeaderFilter {
  const request = new Set([...DROPPED_REQUEST, ...rules.droppedRequest]);
  const response = new Set([...DROPPED_RESPONSE, ...rules.droppedResponse]);
  const responsePrefixes = [...DROPPED_RESPONSE_PREFIXES, ...rules.droppedResponsePrefixes];
  return {
    upstreamRequest(incoming, apiKey, customerKey) {
      const out = new Headers();
      for (const [name, value] of incoming) {
        if (dropped(name, request, DROPPED_REQUEST_PREFIXES)) continue;
        if (customerKey !== "" && value.includes(customerKey)) continue;
        out.set(name, value);
      }
      out.set(...rules.auth(apiKey));
      return out;
    },
    clientResponse: (upstream) => clientResponseHeaders(upstream, response, responsePrefixes),
  };
}
