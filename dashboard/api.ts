/**
 * The admin API from the browser: same origin, the admin token from sessionStorage (asked once per tab,
 * never written anywhere else), errors as the SPEC's envelope.
 */

const TOKEN_KEY = "tollgate.adminToken";

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string): void => sessionStorage.setItem(TOKEN_KEY, value),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

/** An error answer of the API: `{ error: { code, message, details? } }`, or a network failure. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | undefined,
  ) {
    super(message);
  }

  /** `details.issues` of `invalid_policy` / `invalid_request`, each with its path. */
  get issues(): { path: string; message: string }[] {
    const issues = this.details?.issues;
    return Array.isArray(issues) ? (issues as { path: string; message: string }[]) : [];
  }
}

/** Called when the API answers 401, so the app asks for the token again. */
let onUnauthorized: () => void = () => undefined;
export function whenUnauthorized(callback: () => void): void {
  onUnauthorized = callback;
}

export interface CallOptions {
  body?: unknown;
  /** Raw text sent as is (a YAML or JSON policy), with its content type. */
  text?: { content: string; type: string };
  headers?: Record<string, string>;
}

/** Call `/v1…` and answer the parsed JSON body (undefined for 204); throws `ApiFailure` on an error. */
export async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  const current = token.get();
  if (current !== null) headers.Authorization = `Bearer ${current}`;
  let body: string | undefined;
  if (options.text !== undefined) {
    headers["Content-Type"] = options.text.type;
    body = options.text.content;
  } else if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, credentials: "omit", cache: "no-store" });
  } catch (error) {
    throw new ApiFailure(0, "network_error", (error as Error).message, undefined);
  }
  if (res.status === 204) return undefined as T;
  const parsed: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const envelope = (
      parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } }
    )?.error;
    if (res.status === 401) onUnauthorized();
    throw new ApiFailure(
      res.status,
      envelope?.code ?? `http_${res.status}`,
      envelope?.message ?? res.statusText,
      envelope?.details,
    );
  }
  return parsed as T;
}

/** A query string from the set values (empty strings and undefined left out). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

export const enc = encodeURIComponent;
