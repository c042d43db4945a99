/** The official `@anthropic-ai/sdk` client pointed at a running gate's Anthropic door, as a user sets it up (SPEC §6). */
import Anthropic from "@anthropic-ai/sdk";
import { CheckFailed, show } from "./expect";

/**
 * Only `baseURL` and `apiKey` (a customer's alternate ID) differ from talking to Anthropic itself. The SDK
 * appends `/v1/messages`, so the base URL is the door without `/v1`.
 */
export function anthropicClient(
  gateBaseUrl: string,
  apiKey: string,
  headers: Record<string, string>,
): Anthropic {
  return new Anthropic({
    baseURL: `${gateBaseUrl}/gateway/anthropic`,
    apiKey,
    maxRetries: 0, // a retry would call the upstream twice and hide the first answer
    timeout: 30_000,
    defaultHeaders: headers,
  });
}

/** Run an Anthropic client call; an SDK error becomes a check failure that shows the gateway's answer. */
export async function viaAnthropic<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof Anthropic.APIError)) throw error;
    const answer = show(error.error ?? error.message);
    throw new CheckFailed(
      `${what}: @anthropic-ai/sdk raised ${error.constructor.name} (status ${error.status}): ${answer}`,
    );
  }
}
