/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): `webhook-signature: v1,<base64 HMAC-SHA256>`
 * over `<webhook-id>.<webhook-timestamp>.<body>`, keyed by the base64 bytes after `whsec_`. Web Crypto only,
 * so it runs the same in Workers and Node.
 */

const PREFIX = "whsec_";

/** The key bytes of a `whsec_…` secret, or null when it is not one (SPEC §11: then nothing is delivered). */
export function decodeWebhookSecret(secret: string | undefined): Uint8Array | null {
  if (secret === undefined || !secret.startsWith(PREFIX)) return null;
  const encoded = secret.slice(PREFIX.length);
  if (encoded.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  try {
    const binary = atob(encoded);
    if (binary.length < 16) return null;
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function toBase64(bytes: ArrayBuffer): string {
  let binary = "";
  for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** The `webhook-signature` header value for one attempt. */
export async function signWebhook(
  key: Uint8Array,
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key as unknown as ArrayBuffer,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signed = new TextEncoder().encode(`${id}.${timestampSeconds}.${body}`);
  return `v1,${toBase64(await crypto.subtle.sign("HMAC", cryptoKey, signed))}`;
}

/** Backoff before attempt `attempts + 1`: 1 s doubling, capped at 5 min, with jitter in [50%, 100%]. */
export function backoffMs(attempts: number, random: number): number {
  const base = Math.min(300_000, 1000 * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.5 + random / 2));
}
