/** Metering routes (SPEC §5.3): check, consume, release, reserve and settle; every answer is a decision. */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { MeterOp } from "../../objects/contract";
import { getActivePolicy } from "../../policy/store";
import { meter } from "../../services/metering";
import { meterBodySchemas } from "../../services/request-schemas";
import { background } from "../background";
import { policyUnavailable, valueOrThrow } from "../errors";
import { errorDoc, jsonBody, jsonDoc, serve } from "../openapi";
import { decisionSchema } from "../schemas";
import type { AppEnv } from "../types";

/** One metering operation's route: its body schema (shared with the RPC edge), the decision as the answer. */
function meteringRoute(op: MeterOp, summary: string) {
  const route = createRoute({
    method: "post",
    path: `/v1/${op}`,
    summary,
    tags: ["Metering"],
    request: { body: jsonBody(meterBodySchemas[op]) },
    responses: {
      200: jsonDoc("The decision (denials included)", decisionSchema),
      400: errorDoc(
        "invalid_json, invalid_request, unknown_entitlement, invalid_amount (a reserve's must be > 0)",
      ),
      404: errorDoc("hold_not_found (settle)"),
      409: errorDoc("idempotency_key_reused"),
    },
  });
  return { op, route };
}

const ROUTES = [
  meteringRoute("check", "Decide without recording anything"),
  meteringRoute("consume", "Check and record atomically"),
  meteringRoute("release", "Give back usage (a seat freed, a refund); floors at minimum"),
  meteringRoute("reserve", "Book an amount against the limit and get a holdId"),
  meteringRoute("settle", "Record the actual amount of a hold and free it"),
];

/** Register check, consume, release, reserve and settle on the app. */
export function registerMeteringRoutes(app: OpenAPIHono<AppEnv>): void {
  for (const { op, route } of ROUTES) {
    serve(app, route, async (c) => {
      const active = await getActivePolicy(c.env, Date.now(), background(c));
      if (active === null) throw policyUnavailable();
      return c.json(valueOrThrow(await meter(c.env, op, c.req.valid("json"), active)), 200);
    });
  }
}
