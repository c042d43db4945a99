/**
 * The gateway as its own Hono app (SPEC §6): every method under `/gateway/openai/v1/*`. Not under `/v1`, so
 * the admin token does not apply: callers authenticate with their own key (an alternate ID). Every answer,
 * an unexpected exception's included, is in the door's shape (OpenAI's). The entry mounts it behind the
 * request-id middleware (src/lib/request-id.ts), which stamps `X-Request-Id` and writes the log line.
 */
import { Hono } from "hono";
import { fail } from "../errors/catalogue";
import type { RequestIdEnv } from "../lib/request-id";
import { logUnhandled } from "../lib/unhandled";
import { OPENAI_DOOR } from "./door";
import { handleGatewayRequest } from "./proxy";

/** Build the gateway app. */
export function createGatewayApp(): Hono<RequestIdEnv> {
  const app = new Hono<RequestIdEnv>();
  const door = OPENAI_DOOR;
  app.all(`${door.prefix}/*`, (c) =>
    handleGatewayRequest(c.req.raw, {
      env: c.env,
      waitUntil: (promise) => c.executionCtx.waitUntil(promise),
      requestId: c.get("requestId"),
    }),
  );
  app.onError((error, c) => {
    logUnhandled(error, { requestId: c.get("requestId"), method: c.req.method }, c.env);
    return door.respond(door.shape(fail("internal")));
  });
  return app;
}
