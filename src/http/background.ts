/** The request's `waitUntil` as a `Background` for the policy store; undefined when there is no ExecutionContext. */
import type { Context } from "hono";
import type { Background } from "../policy/store";

export function background(c: Context): Background | undefined {
  try {
    const ctx = c.executionCtx;
    return (promise) => ctx.waitUntil(promise);
  } catch {
    // An app called without one (`app.fetch(request, env)`): the store reads KV when its cache expires.
    return undefined;
  }
}
