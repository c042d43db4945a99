/** Ports and readiness for the local dev server. */
import { createServer } from "node:net";

/** Whether `port` can be bound on `host` right now. */
export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS considers free now (bind port 0, read it back, release it). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/** The first free port in [start, start + count), as wrangler itself probes from 8787; null if none. */
export async function firstFreePort(
  start: number,
  count: number,
  host = "127.0.0.1",
): Promise<number | null> {
  for (let port = start; port < start + count; port++) {
    if (await isPortFree(port, host)) return port;
  }
  return null;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface PollOptions {
  /** Give up after this long. */
  timeoutMs: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what: string;
  /** Checked before each attempt: a reason to stop waiting (e.g. the server exited), or undefined. */
  abortReason?: () => string | undefined;
}

/** Call `probe` until it returns a value other than undefined; throws on timeout or abort. */
export async function pollUntil<T>(probe: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const aborted = options.abortReason?.();
    if (aborted !== undefined) throw new Error(`stopped waiting for ${options.what}: ${aborted}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${options.what}`,
      );
    }
    await sleep(options.intervalMs ?? 250);
  }
}

/** Wait until `GET <baseUrl>/healthz` answers 200. */
export function waitForHealth(baseUrl: string, options: Omit<PollOptions, "what">): Promise<true> {
  return pollUntil(
    async () => {
      const response = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(5000) });
      await response.body?.cancel();
      return response.status === 200 ? true : undefined;
    },
    { ...options, what: `${baseUrl}/healthz` },
  );
}
