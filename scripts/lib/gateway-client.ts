/** The official `openai` client pointed at a running gate's gateway, as a user sets it up (SPEC §6). */
import OpenAI from "openai";
import { CheckFailed, show } from "./expect";

/** Only `baseURL` and `apiKey` (a customer's alternate ID) differ from talking to OpenAI itself. */
export function gatewayClient(gateBaseUrl: string, apiKey: string): OpenAI {
  return new OpenAI({
    baseURL: `${gateBaseUrl}/gateway/openai/v1`,
    apiKey,
    maxRetries: 0, // a retry would call the upstream twice and hide the first answer
    timeout: 30_000,
  });
}

/** Request headers for the mock upstream of test/support (the gateway forwards `x-` headers it does not own). */
export function mockHeaders(tag: string, totalTokens: number): Record<string, string> {
  return {
    "x-mock-tag": tag,
    // A distinct total per call: a meter can only match it by reading the upstream's usage.
    "x-mock-total-tokens": String(totalTokens),
  };
}

/** Run an `openai` client call; an SDK error becomes a check failure that shows the gateway's answer. */
export async function viaGateway<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof OpenAI.APIError)) throw error;
    const answer = show(error.error ?? error.message);
    throw new CheckFailed(
      `${what}: the openai client raised ${error.constructor.name} (status ${error.status}): ${answer}`,
    );
  }
}
