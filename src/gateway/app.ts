/**
 * The gateway as its own Hono app (SPEC §6): one door per provider, each mounted at its prefix over the same
 * core (src/gateway/core). Not under `/v1`, so the admin token does not apply: callers authenticate with
 * their own key (an alternate ID). Every answer, an unexpected exception's included, is in the door's shape.
 * The entry mounts it behind the request-id middleware (src/lib/request-id.ts), which stamps `X-Request-Id`
 * and writes the log line.
 */
import { Hono } from "hono";
import { fail } from "../errors/catalogue";
import type { RequestIdEnv } from "../lib/request-id";
import { logUnhandled } from "../lib/unhandled";
import { ANTHROPIC_DOOR } from "./anthropic/door";
import type { Door } from "./core/door";
import { handleGatewayRequest } from "./core/proxy";
import { OPENAI_DOOR } from "./openai/door";

/** Mount one door: every method under its prefix, and its answer to what was thrown. */
function mountDoor<M extends string, E>(app: Hono<RequestIdEnv>, door: Door<M, E>): void {
  const doorApp = new Hono<RequestIdEnv>();
  // Every answer is built by the gateway (mutable headers): the entry's request-id middleware stamps the id in
  // place, without copying the response.
  doorApp.all("/*", (c) =>
    handleGatewayRequest(door, c.req.raw, {
      env: c.env,
      waitUntil: (promise) => c.executionCtx.waitUntil(promise),
      requestId: c.get("requestId"),
    }),
  );
  doorApp.onError((error, c) => {
    logUnhandled(error, { requestId: c.get("requestId"), method: c.req.method }, c.env);
    return door.respond(door.error(fail("internal")));
  });
  app.route(door.prefix, doorApp);
}

/** Build the gateway app. */
export function createGatewayApp(): Hono<RequestIdEnv> {
  const app = new Hono<RequestIdEnv>();
  mountDoor(app, OPENAI_DOOR);
  mountDoor(app, ANTHROPIC_DOOR);
  return app;
}
