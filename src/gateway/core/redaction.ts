/**
 * Upstream error answers as the client may see them (SPEC §11 "Secrets"): every non-2xx upstream answer, on
 * every path, is read (up to 1 MiB) and every occurrence of the upstream key in its headers and body is
 * replaced by `[redacted]`. Some upstreams echo the request's headers in their errors; the gateway's key is
 * among them.
 */
import { concatBytes } from "../../lib/read-capped";
import { commonClientResponseHeaders } from "./headers";

/** How much of an upstream error body reaches the client. */
export const UPSTREAM_ERROR_LIMIT_BYTES = 1024 * 1024;

const REDACTED = new TextEncoder().encode("[redacted]");

/** Text with every occurrence of `secret` replaced (an empty secret changes nothing). */
function redactKey(text: string, secret: string): string {
  return secret === "" ? text : text.split(secret).join("[redacted]");
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Bytes with every occurrence of `secret` replaced, byte for byte elsewhere (an error body need not be UTF-8).
 * When `truncated`, a tail that could be the start of the secret is dropped too.
 */
export function redactBytes(bytes: Uint8Array, secret: string, truncated = false): Uint8Array {
  if (secret === "") return bytes;
  const needle = new TextEncoder().encode(secret);
  const parts: Uint8Array[] = [];
  let total = 0;
  let from = 0;
  for (let at = indexOfBytes(bytes, needle, 0); at >= 0; at = indexOfBytes(bytes, needle, from)) {
    parts.push(bytes.subarray(from, at), REDACTED);
    total += at - from + REDACTED.length;
    from = at + needle.length;
  }
  let end = bytes.length;
  if (truncated) {
    for (let keep = Math.min(needle.length - 1, end - from); keep > 0; keep--) {
      if (indexOfBytes(bytes.subarray(end - keep), needle.subarray(0, keep), 0) === 0) {
        end -= keep;
        break;
      }
    }
  }
  parts.push(bytes.subarray(from, end));
  total += end - from;
  return concatBytes(parts, total);
}

/** At most `limitBytes` of a body; `truncated` when more was there (the rest is cancelled). */
export async function readAtMost(
  stream: ReadableStream<Uint8Array> | null,
  limitBytes: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (stream === null) return { bytes: new Uint8Array(0), truncated: false };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = limitBytes - total;
      chunks.push(value.byteLength > room ? value.subarray(0, room) : value);
      total += Math.min(value.byteLength, room);
      if (value.byteLength > room) {
        await reader.cancel().catch(() => undefined);
        return { bytes: concatBytes(chunks, total), truncated: true };
      }
    }
  } catch {
    // A connection that died mid-error: what arrived is what the client gets.
  }
  return { bytes: concatBytes(chunks, total), truncated: false };
}

/**
 * The client's copy of a non-2xx upstream answer: body and headers read, capped and redacted. The door's
 * `clientResponse` filter says which upstream headers the client may see.
 */
export async function redactedUpstreamError(
  upstream: Response,
  secret: string,
  extraHeaders: Record<string, string> = {},
  clientResponse: (upstream: Headers) => Headers = commonClientResponseHeaders,
): Promise<Response> {
  const { bytes, truncated } = await readAtMost(upstream.body, UPSTREAM_ERROR_LIMIT_BYTES);
  const headers = new Headers();
  for (const [name, value] of clientResponse(upstream.headers)) {
    headers.append(name, redactKey(value, secret));
  }
  for (const [name, value] of Object.entries(extraHeaders)) headers.set(name, value);
  const body = redactBytes(bytes, secret, truncated);
  // A null-body status (304) cannot carry one.
  const nullBody = upstream.status === 204 || upstream.status === 205 || upstream.status === 304;
  return new Response(nullBody ? null : body, {
    status: upstream.status,
    statusText: redactKey(upstream.statusText, secret),
    headers,
  });
}
