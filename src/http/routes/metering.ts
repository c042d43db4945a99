/** Metering routes (SPEC §5.3): check, consume, release, reserve and settle; every answer is a decision. */
import type { Hono } from "hono";
import { z } from "zod";
import type { MeterOp } from "../../objects/contract";
import { getActivePolicy } from "../../policy/store";
import { readJson } from "../body";
import { policyUnavailable } from "../errors";
import { meter } from "../metering-service";
import { registerRoute } from "../openapi";
import { amountSchema, decisionSchema, identifierSchema, requestObject } from "../schemas";
import type { AppEnv } from "../types";

const base = {
  customer: identifierSchema.openapi({ description: "Customer id or any of its alternate IDs" }),
  idempotencyKey: identifierSchema.optional(),
};
const entitlementFields = { ...base, entitlement: identifierSchema, amount: amountSchema.optional() };

export const checkBodySchema = requestObject(entitlementFields).openapi("MeterRequest");
export const reserveBodySchema = requestObject({
  ...entitlementFields,
  ttl: z
    .union([z.number(), z.string().max(64)])
    .optional()
    .openapi({ description: "Hold lifetime: a duration (`10m`) or seconds; default 10 min, at most 7 days" }),
}).openapi("ReserveRequest");
export const settleBodySchema = requestObject({
  ...base,
  holdId: identifierSchema,
  amount: amountSchema.optional(),
}).openapi("SettleRequest");

const ROUTES: { op: MeterOp; schema: z.ZodType; summary: string }[] = [
  { op: "check", schema: checkBodySchema, summary: "Decide without recording anything" },
  { op: "consume", schema: checkBodySchema, summary: "Check and record atomically" },
  {
    op: "release",
    schema: checkBodySchema,
    summary: "Give back usage (a seat freed, a refund); floors at minimum",
  },
  { op: "reserve", schema: reserveBodySchema, summary: "Book an amount against the limit and get a holdId" },
  { op: "settle", schema: settleBodySchema, summary: "Record the actual amount of a hold and free it" },
];

/** Register check, consume, release, reserve and settle on the app. */
export function registerMeteringRoutes(app: Hono<AppEnv>): void {
  for (const route of ROUTES) {
    const path = `/v1/${route.op}`;
    registerRoute({
      method: "post",
      path,
      summary: route.summary,
      tags: ["Metering"],
      body: route.schema,
      responses: { 200: { description: "The decision (denials included)", schema: decisionSchema } },
      errors: {
        400: "invalid_json, invalid_request, unknown_entitlement, invalid_amount (a reserve's must be > 0)",
        404: "hold_not_found (settle)",
        409: "idempotency_key_reused",
      },
    });
    app.post(path, async (c) => {
      const body = await readJson(c, route.schema);
      const active = await getActivePolicy(c.env);
      if (active === null) throw policyUnavailable();
      return c.json(await meter(c.env, route.op, body as Parameters<typeof meter>[2], active));
    });
  }
}
