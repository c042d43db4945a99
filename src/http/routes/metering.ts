/** Metering routes (SPEC §5.3): check, consume, release, reserve and settle; every answer is a decision. */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { MeterOp } from "../../objects/contract";
import { getActivePolicy } from "../../policy/store";
import { policyUnavailable } from "../errors";
import { type MeterBody, meter } from "../metering-service";
import { errorDoc, jsonBody, jsonDoc, serve } from "../openapi";
import { amountSchema, decisionSchema, identifierSchema, requestObject } from "../schemas";
import type { AppEnv } from "../types";

const base = {
  customer: identifierSchema.openapi({ description: "Customer id or any of its alternate IDs" }),
  idempotencyKey: identifierSchema.optional(),
};
const entitlementFields = { ...base, entitlement: identifierSchema, amount: amountSchema.optional() };

export const checkBodySchema = requestObject(entitlementFields).openapi("MeterRequest");
const reserveBodySchema = requestObject({
  ...entitlementFields,
  ttl: z
    .union([z.number(), z.string().max(64)])
    .optional()
    .openapi({ description: "Hold lifetime: a duration (`10m`) or seconds; default 10 min, at most 7 days" }),
}).openapi("ReserveRequest");
const settleBodySchema = requestObject({
  ...base,
  holdId: identifierSchema,
  amount: amountSchema.optional(),
}).openapi("SettleRequest");

/** One metering operation's route: its body schema, the decision as the answer. */
function meteringRoute<S extends z.ZodType<MeterBody>>(op: MeterOp, schema: S, summary: string) {
  const route = createRoute({
    method: "post",
    path: `/v1/${op}`,
    summary,
    tags: ["Metering"],
    request: { body: jsonBody(schema) },
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
  meteringRoute("check", checkBodySchema, "Decide without recording anything"),
  meteringRoute("consume", checkBodySchema, "Check and record atomically"),
  meteringRoute("release", checkBodySchema, "Give back usage (a seat freed, a refund); floors at minimum"),
  meteringRoute("reserve", reserveBodySchema, "Book an amount against the limit and get a holdId"),
  meteringRoute("settle", settleBodySchema, "Record the actual amount of a hold and free it"),
];

/** Register check, consume, release, reserve and settle on the app. */
export function registerMeteringRoutes(app: OpenAPIHono<AppEnv>): void {
  for (const { op, route } of ROUTES) {
    serve(app, route, async (c) => {
      const active = await getActivePolicy(c.env);
      if (active === null) throw policyUnavailable();
      return c.json(await meter(c.env, op, c.req.valid("json"), active), 200);
    });
  }
}
