/**
 * When the client sends a call again, and how long it waits first: exponential backoff with jitter, or the
 * server's `Retry-After`. Pure (the clock and the random source come in as arguments).
 */

/** The retry settings of a client (every field has a default). */
export interface RetryOptions {
  /** Requests per call, the first included. Default 4; 1 turns retries off. */
  maxAttempts?: number;
  /** The backoff before the second attempt; it doubles per attempt. Default 200 ms. */
  baseDelayMs?: number;
  /** The backoff's cap. Default 5 s. */
  maxDelayMs?: number;
  /**
   * The longest `Retry-After` the client waits for. An answer asking for longer is returned as it is (so a
   * caller is never parked for minutes). Default 60 s.
   */
  maxRetryAfterMs?: number;
}

export const RETRY_DEFAULTS = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 60_000,
} as const satisfies Required<RetryOptions>;

/**
 * Whether an error answer may be sent again. 429 and the 5xx of SPEC §5 / §11 (`500 internal`,
 * `503 policy_unavailable`) and of whatever stands in front of the Worker (502, 504); never `503
 * not_configured` (the deployment lacks its token: waiting does not help) and never another 4xx (a decision
 * or a bad request: the same request gets the same answer).
 */
export function isRetryableStatus(status: number, code: string | undefined): boolean {
  if (status === 429) return true;
  if (status === 503) return code !== "not_configured";
  return status === 500 || status === 502 || status === 504;
}

/**
 * The wait before attempt `attempt + 1`: the cap `min(maxDelayMs, baseDelayMs × 2^(attempt − 1))`, half of
 * it fixed and half random ("equal jitter"), so waits grow and concurrent clients spread out.
 */
export function backoffMs(attempt: number, options: Required<RetryOptions>, random: () => number): number {
  const capMs = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return capMs / 2 + (random() * capMs) / 2;
}

/**
 * A `Retry-After` header in milliseconds (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), or null when
 * absent or unreadable. A date in the past is 0.
 */
export function retryAfterMs(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  const dateMs = Date.parse(text);
  return Number.isNaN(dateMs) ? null : Math.max(0, dateMs - nowMs);
}
