/** The typed client (`tollgate/client`) wired to the Worker under test: every request goes through its fetch. */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { type ClientOptions, type FetchLike, TollgateClient, type TollgateResult } from "tollgate/client";
import { expect } from "vitest";

export const GATE_URL = "http://gate.test";

/** The Worker's own fetch, as a client's `fetch`. */
export const workerFetch: FetchLike = (input, init) => exports.default.fetch(input, init);

/** A client of the Worker under test with the test admin token; options override the defaults. */
export function gateClient(options: Partial<ClientOptions> = {}): TollgateClient {
  return new TollgateClient({
    baseUrl: GATE_URL,
    token: env.ADMIN_TOKEN ?? "",
    fetch: workerFetch,
    ...options,
  });
}

/** The value of a successful result; fails the test with the error otherwise. */
export function valueIn<T>(result: TollgateResult<T>): T {
  if (!result.ok) expect.fail(`expected a value, got ${JSON.stringify(result.error)}`);
  return result.value;
}

/** The error of a failed result; fails the test with the value otherwise. */
export function errorIn<T>(result: TollgateResult<T>) {
  if (result.ok) expect.fail(`expected an error, got ${JSON.stringify(result.value)}`);
  return result.error;
}
