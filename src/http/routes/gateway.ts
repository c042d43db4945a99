/**
 * The OpenAI-compatible gateway (SPEC §6): every method under `/gateway/openai/v1/*`. Not under `/v1`, so the
 * admin token does not apply: callers authenticate with their own key (an alternate ID). Errors here are in
 * OpenAI's shape, not the `/v1` envelope, so an unexpected exception is answered here too.
 */
import type { Hono } from "hono";
import { errorResponse } from "../../gateway/gateway-response";
import { gatewayError } from "../../gateway/openai-errors";
import { GATEWAY_PREFIX, handleGatewayRequest } from "../../gateway/proxy";
import { redactSecrets } from "../errors";
import type { AppEnv } from "../types";

/** Mount the gateway on the app. */
export function registerGatewayRoutes(app: Hono<AppEnv>): void {
  app.all(`${GATEWAY_PREFIX}/*`, async (c) => {
    const requestId = c.get("requestId");
    try {
      return await handleGatewayRequest(c.req.raw, {
        env: c.env,
        waitUntil: (promise) => c.executionCtx.waitUntil(promise),
        requestId,
      });
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      console.error(
        JSON.stringify({
          level: "error",
          msg: "unhandled exception",
          requestId,
          method: c.req.method,
          error: err.name,
          message: redactSecrets(err.message, c.env),
          stack: redactSecrets(err.stack ?? "", c.env),
        }),
      );
      return errorResponse(
        gatewayError(500, "internal", "internal error; quote the request id when reporting it"),
      );
    }
  });
}
