/** Shared pieces of the load suite's gateway files: the upstream key, the mock's counters, the client. */
import OpenAI from "openai";
import { inject } from "vitest";

/** The gateway's own upstream key in the load suite (the mock accepts any bearer). */
export const LOAD_UPSTREAM_KEY = "sk-load-upstream";

/** The gateway's base URL on the suite's server. */
export function gatewayBase(): string {
  return `${inject("gateUrl")}/gateway/openai/v1`;
}

function mockOrigin(): string {
  const url = inject("loadUpstreamUrl");
  if (url === "") {
    throw new Error(
      "the gateway load files need the mock upstream: set TOLLGATE_LOAD_UPSTREAM_URL to the server's OPENAI_BASE_URL",
    );
  }
  return new URL(url).origin;
}

/** How many requests the mock upstream saw under `tag`, and the last one. */
// biome-ignore lint/suspicious/noExplicitAny: the recorded request is checked field by field
export async function upstreamSaw(tag: string): Promise<{ count: number; last: any }> {
  const res = await fetch(`${mockOrigin()}/__mock/requests?tag=${encodeURIComponent(tag)}`);
  // biome-ignore lint/suspicious/noExplicitAny: as above
  return (await res.json()) as { count: number; last: any };
}

/** The official client against the suite's server, marking its upstream requests with `tag`. */
export function gatewayClient(apiKey: string, tag: string): OpenAI {
  return new OpenAI({
    baseURL: gatewayBase(),
    apiKey,
    maxRetries: 0,
    defaultHeaders: { "x-mock-tag": tag },
  });
}
