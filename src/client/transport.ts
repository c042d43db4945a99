/**
 * One client call over HTTP: the request, its retries (network errors, 429, retryable 5xx; never another
 * 4xx), the caller's `AbortSignal`, and the answer turned into a `TollgateResult`. Knows no route: the
 * client (client.ts) says what to send. Uses only the platform (`fetch`, `AbortSignal`, timers), so it runs
 * in a browser, Node or a Worker.
 */
import type { TollgateErrorCode, TollgateFailure, TollgateResult } from "./result";
import { backoffMs, isRetryableStatus, RETRY_DEFAULTS, type RetryOptions, retryAfterMs } from "./retry";

/** The `fetch` the client calls: the platform's, or any function of that shape (a service binding's, a test's). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** How the client reaches the API. */
export interface TransportOptions extends RetryOptions {
  /** Where the Worker answers, e.g. `https://tollgate.example.workers.dev` (a trailing `/` is fine). */
  baseUrl: string;
  /** The deployment's `ADMIN_TOKEN`, sent as `Authorization: Bearer …`. */
  token: string;
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
  /** The jitter's random source in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** How the client waits between attempts; it must return early when the signal aborts. Default: a timer. */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

/** Per-call settings. */
export interface CallOptions {
  /** Cancels the call: the request in flight and any wait for a retry. The call then answers `aborted`. */
  signal?: AbortSignal;
  /** Overrides the client's `maxAttempts` for this call. */
  maxAttempts?: number;
}

/** What to send. */
export interface Call {
  method: "GET" | "PUT" | "POST" | "DELETE";
  /** The path, its segments already encoded. */
  path: string;
  query?: Record<string, string | number | undefined>;
  /** A JSON body, or a text body with its media type. */
  body?: { json: unknown } | { text: string; contentType: string };
  headers?: Record<string, string>;
  /** The key the body carries, reported on the result. */
  idempotencyKey?: string;
}

const ABORTED = "the call was aborted by its signal";

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A timer that ends early when the signal aborts. */
function sleepFor(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function urlOf(baseUrl: string, call: Call): string {
  const url = `${baseUrl.replace(/\/+$/, "")}${call.path}`;
  const query = Object.entries(call.query ?? {}).filter(
    (entry): entry is [string, string | number] => entry[1] !== undefined,
  );
  return query.length === 0 ? url : `${url}?${new URLSearchParams(query.map(([k, v]) => [k, String(v)]))}`;
}

/** The envelope's `error`, or null when the body is not the API's envelope. */
function envelopeOf(
  text: string,
): { code: string; message: string; details?: Record<string, unknown> } | null {
  try {
    const error = (JSON.parse(text) as { error?: unknown }).error as Record<string, unknown> | undefined;
    if (typeof error?.code !== "string" || typeof error.message !== "string") return null;
    const details = error.details;
    return {
      code: error.code,
      message: error.message,
      ...(typeof details === "object" && details !== null
        ? { details: details as Record<string, unknown> }
        : {}),
    };
  } catch {
    return null;
  }
}

/** Sends calls for one client. */
export class Transport {
  readonly #options: TransportOptions;
  readonly #retry: Required<RetryOptions>;

  constructor(options: TransportOptions) {
    this.#options = options;
    this.#retry = {
      maxAttempts: options.maxAttempts ?? RETRY_DEFAULTS.maxAttempts,
      baseDelayMs: options.baseDelayMs ?? RETRY_DEFAULTS.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs,
      maxRetryAfterMs: options.maxRetryAfterMs ?? RETRY_DEFAULTS.maxRetryAfterMs,
    };
  }

  /**
   * Send a call, again after a network error, a lost body or a retryable status, with the same request
   * (so the same idempotency key) each time. A 2xx answers its JSON body (`undefined` for an empty one).
   */
  async send(call: Call, options: CallOptions = {}): Promise<TollgateResult<unknown>> {
    const { signal } = options;
    const maxAttempts = Math.max(1, options.maxAttempts ?? this.#retry.maxAttempts);
    const fetchFn: FetchLike = this.#options.fetch ?? ((input, init) => fetch(input, init));
    const sleep = this.#options.sleep ?? sleepFor;
    const random = this.#options.random ?? Math.random;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#options.token}`,
      accept: "application/json",
      ...call.headers,
    };
    let body: string | undefined;
    if (call.body !== undefined && "json" in call.body) {
      body = JSON.stringify(call.body.json);
      headers["content-type"] = "application/json";
    } else if (call.body !== undefined) {
      body = call.body.text;
      headers["content-type"] = call.body.contentType;
    }
    const url = urlOf(this.#options.baseUrl, call);
    const keyed = call.idempotencyKey === undefined ? {} : { idempotencyKey: call.idempotencyKey };

    let lost = false; // an attempt may have reached the server and its answer never came back
    const failure = (
      attempts: number,
      status: number,
      code: TollgateErrorCode,
      message: string,
      extra: { details?: Record<string, unknown> | undefined; requestId?: string | null } = {},
    ): TollgateFailure => ({
      ok: false,
      error: {
        status,
        code,
        message,
        ...(extra.details === undefined ? {} : { details: extra.details }),
        earlierAttemptLost: lost,
      },
      attempts,
      requestId: extra.requestId ?? null,
      ...keyed,
    });

    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) return failure(attempt - 1, 0, "aborted", ABORTED);
      let response: Response;
      let text: string;
      try {
        response = await fetchFn(url, { method: call.method, headers, body, signal });
        text = await response.text();
      } catch (error) {
        lost = true; // sent, perhaps received and applied; the answer (or its body) never arrived
        if (signal?.aborted) return failure(attempt, 0, "aborted", ABORTED);
        if (attempt >= maxAttempts)
          return failure(attempt, 0, "network_error", `no answer: ${messageOf(error)}`);
        await sleep(backoffMs(attempt, this.#retry, random), signal);
        continue;
      }
      const requestId = response.headers.get("x-request-id");
      if (response.ok) {
        if (text === "") return { ok: true, value: undefined, attempts: attempt, requestId, ...keyed };
        try {
          return { ok: true, value: JSON.parse(text) as unknown, attempts: attempt, requestId, ...keyed };
        } catch {
          const message = "a 2xx answer whose body is not JSON";
          return failure(attempt, response.status, "unexpected_response", message, { requestId });
        }
      }
      const envelope = envelopeOf(text);
      const result =
        envelope === null
          ? failure(
              attempt,
              response.status,
              "unexpected_response",
              `HTTP ${response.status} without the API's error envelope`,
              { requestId },
            )
          : failure(attempt, response.status, envelope.code as TollgateErrorCode, envelope.message, {
              details: envelope.details,
              requestId,
            });
      if (!isRetryableStatus(response.status, envelope?.code) || attempt >= maxAttempts) return result;
      const waitMs =
        retryAfterMs(response.headers.get("retry-after"), Date.now()) ??
        backoffMs(attempt, this.#retry, random);
      if (waitMs > this.#retry.maxRetryAfterMs) return result;
      // A 5xx may come after the change was made (an answer lost inside the platform); a 429 never does.
      if (response.status >= 500) lost = true;
      await sleep(waitMs, signal);
    }
  }
}
