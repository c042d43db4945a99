/** Customer routes (SPEC §5.2): records, plans, alternate IDs, state export/restore and events. */
import type { Hono } from "hono";
import { z } from "zod";
import { getActivePolicy } from "../../policy/store";
import { readJson, STATE_LIMIT_BYTES, toIssues } from "../body";
import {
  customerPatchSchema,
  customerStateSchema,
  customerViewSchema,
  eventPageSchema,
  eventSchema,
} from "../customer-schemas";
import {
  addAlternateId,
  changePlan,
  deleteCustomer,
  exportCustomerState,
  getCustomer,
  listCustomerEvents,
  redeliverCustomerEvent,
  removeAlternateId,
  restoreCustomerState,
  upsertCustomer,
} from "../customer-service";
import { invalidRequest } from "../errors";
import { registerRoute } from "../openapi";
import { identifierSchema, requestObject } from "../schemas";
import type { AppEnv } from "../types";

const idParams = z.object({ id: identifierSchema });
const planBodySchema = requestObject({
  plan: identifierSchema.nullable(),
  keepUsage: z.boolean().optional(),
}).openapi("PlanChange");
const alternateIdBodySchema = requestObject({ alternateId: identifierSchema }).openapi("AlternateIdRequest");
/**
 * A query parameter that is an ASCII decimal integer in `[min, max]` (SPEC §11 "Bounds"): no sign, space,
 * hex, exponent or fraction, and never empty (`z.coerce` would take `0x10`, ` 1`, `1e2` and "" as numbers).
 */
function queryInteger(min: number, max: number) {
  return z
    .string()
    .regex(/^[0-9]{1,16}$/, "must be an ASCII decimal integer")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .openapi({ type: "integer", minimum: min, maximum: max });
}

const eventsQuerySchema = z.strictObject({
  after: queryInteger(0, Number.MAX_SAFE_INTEGER).optional(),
  limit: queryInteger(1, 1000).optional(),
});

/** An event's `seq` in a path: ASCII decimal digits (SPEC §11 "Bounds"), else `400 invalid_request`. */
const seqParamSchema = z.string().regex(/^[0-9]{1,15}$/, "must be a decimal integer (an event's seq)");
const redeliverBodySchema = requestObject({}).openapi("RedeliverRequest");

/** A path parameter checked by the identifier rules of SPEC §5.3. */
function param(value: string | undefined, name: string): string {
  const parsed = identifierSchema.safeParse(value ?? "");
  if (!parsed.success)
    throw invalidRequest([{ path: name, message: parsed.error.issues[0]?.message ?? "invalid" }]);
  return parsed.data;
}

const view = { 200: { description: "The customer view", schema: customerViewSchema } };
const notFound = { 404: "customer_not_found" };

/** Register the `/v1/customers` routes on the app. */
export function registerCustomerRoutes(app: Hono<AppEnv>): void {
  const tags = ["Customers"];
  registerRoute({
    method: "put",
    path: "/v1/customers/:id",
    summary: "Create or update a customer (merging upsert)",
    tags,
    params: idParams,
    body: customerPatchSchema,
    responses: view,
    errors: {
      400: "unknown_plan, unknown_org, invalid_request",
      409: "alternate_id_taken, too_many_alternate_ids (over 100), org_has_members (an org with members)",
    },
  });
  app.put("/v1/customers/:id", async (c) => {
    const body = await readJson(c, customerPatchSchema);
    const id = param(c.req.param("id"), "id");
    return c.json(await upsertCustomer(c.env, id, body, await getActivePolicy(c.env)));
  });

  registerRoute({
    method: "get",
    path: "/v1/customers/:id",
    summary: "A customer by id or alternate ID",
    tags,
    params: idParams,
    responses: view,
    errors: notFound,
  });
  app.get("/v1/customers/:id", async (c) =>
    c.json(await getCustomer(c.env, param(c.req.param("id"), "id"), await getActivePolicy(c.env))),
  );

  registerRoute({
    method: "delete",
    path: "/v1/customers/:id",
    summary: "Delete a customer and free its alternate IDs",
    tags,
    params: idParams,
    responses: { 204: { description: "Deleted" } },
    errors: notFound,
  });
  app.delete("/v1/customers/:id", async (c) => {
    await deleteCustomer(c.env, param(c.req.param("id"), "id"));
    return c.body(null, 204);
  });

  registerRoute({
    method: "put",
    path: "/v1/customers/:id/plan",
    summary: "Change the plan",
    tags,
    params: idParams,
    body: planBodySchema,
    responses: view,
    errors: { ...notFound, 400: "unknown_plan" },
  });
  app.put("/v1/customers/:id/plan", async (c) => {
    const body = await readJson(c, planBodySchema);
    const id = param(c.req.param("id"), "id");
    return c.json(
      await changePlan(c.env, id, body.plan, body.keepUsage ?? true, await getActivePolicy(c.env)),
    );
  });

  registerRoute({
    method: "post",
    path: "/v1/customers/:id/alternate-ids",
    summary: "Add an alternate ID",
    tags,
    params: idParams,
    body: alternateIdBodySchema,
    responses: view,
    errors: { ...notFound, 409: "alternate_id_taken, too_many_alternate_ids (over 100)" },
  });
  app.post("/v1/customers/:id/alternate-ids", async (c) => {
    const body = await readJson(c, alternateIdBodySchema);
    const id = param(c.req.param("id"), "id");
    return c.json(await addAlternateId(c.env, id, body.alternateId, await getActivePolicy(c.env)));
  });

  registerRoute({
    method: "delete",
    path: "/v1/customers/:id/alternate-ids/:alt",
    summary: "Remove an alternate ID (idempotent)",
    tags,
    params: z.object({ id: identifierSchema, alt: identifierSchema }),
    responses: view,
    errors: notFound,
  });
  app.delete("/v1/customers/:id/alternate-ids/:alt", async (c) => {
    const id = param(c.req.param("id"), "id");
    const alt = param(c.req.param("alt"), "alt");
    return c.json(await removeAlternateId(c.env, id, alt, await getActivePolicy(c.env)));
  });

  registerRoute({
    method: "get",
    path: "/v1/customers/:id/state",
    summary: "Export the complete state (format 1)",
    tags,
    params: idParams,
    responses: { 200: { description: "State", schema: customerStateSchema } },
    errors: notFound,
  });
  app.get("/v1/customers/:id/state", async (c) =>
    c.json(await exportCustomerState(c.env, param(c.req.param("id"), "id"))),
  );

  registerRoute({
    method: "put",
    path: "/v1/customers/:id/state",
    summary: "Restore (overwrite) the state",
    tags,
    params: idParams,
    body: customerStateSchema,
    responses: view,
    errors: {
      400: "unknown_plan, unknown_org, invalid_request: checked as PUT /v1/customers/:id checks them",
      409: "alternate_id_taken, too_many_alternate_ids, org_has_members",
    },
  });
  app.put("/v1/customers/:id/state", async (c) => {
    const body = await readJson(c, customerStateSchema, { limitBytes: STATE_LIMIT_BYTES });
    const id = param(c.req.param("id"), "id");
    return c.json(await restoreCustomerState(c.env, id, body, await getActivePolicy(c.env)));
  });

  registerRoute({
    method: "get",
    path: "/v1/customers/:id/events",
    summary: "The event log, oldest first",
    tags,
    params: idParams,
    query: eventsQuerySchema,
    responses: { 200: { description: "A page of events", schema: eventPageSchema } },
    errors: notFound,
  });
  app.get("/v1/customers/:id/events", async (c) => {
    const query = eventsQuerySchema.safeParse(c.req.query());
    if (!query.success) {
      throw invalidRequest(toIssues(query.error));
    }
    const id = param(c.req.param("id"), "id");
    return c.json(await listCustomerEvents(c.env, id, query.data.after ?? 0, query.data.limit ?? 100));
  });

  registerRoute({
    method: "post",
    path: "/v1/customers/:id/events/:seq/redeliver",
    summary: "Queue a failed or delivered event for webhook delivery again",
    description:
      "The event keeps its id (receivers de-duplicate on `webhook-id`) and answers with its new delivery state: `pending`, due now. A `pending` event is answered as it stands, unchanged.",
    tags,
    params: z.object({ id: identifierSchema, seq: seqParamSchema }),
    body: redeliverBodySchema,
    responses: { 200: { description: "The event with its new delivery state", schema: eventSchema } },
    errors: {
      404: "customer_not_found, event_not_found (no such seq, or pruned)",
      409: "event_not_redeliverable (a skipped event), webhooks_off",
    },
  });
  app.post("/v1/customers/:id/events/:seq/redeliver", async (c) => {
    await readJson(c, redeliverBodySchema);
    const id = param(c.req.param("id"), "id");
    const seq = seqParamSchema.safeParse(c.req.param("seq"));
    if (!seq.success) throw invalidRequest(toIssues(seq.error).map((i) => ({ ...i, path: "seq" })));
    return c.json(await redeliverCustomerEvent(c.env, id, Number(seq.data)));
  });
}
