/** Customer routes (SPEC §5.2): records, plans, alternate IDs, state export/restore and events. */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { getActivePolicy } from "../../policy/store";
import { STATE_LIMIT_BYTES } from "../body";
import {
  customerPatchSchema,
  customerStateSchema,
  customerViewSchema,
  eventPageSchema,
  eventSchema,
  grantListSchema,
  marginSchema,
  topupRequestSchema,
  topupResponseSchema,
} from "../customer-schemas";
import {
  addAlternateId,
  buyTopup,
  changePlan,
  customerMargin,
  deleteCustomer,
  exportCustomerState,
  getCustomer,
  listCustomerEvents,
  listGrants,
  redeliverCustomerEvent,
  removeAlternateId,
  restoreCustomerState,
  revokeGrant,
  upsertCustomer,
} from "../customer-service";
import { errorDoc, jsonBody, jsonDoc, serve } from "../openapi";
import { identifierSchema, queryInteger, requestObject } from "../schemas";
import type { AppEnv } from "../types";

const planBodySchema = requestObject({
  plan: identifierSchema.nullable(),
  keepUsage: z.boolean().optional(),
}).openapi("PlanChange");
const alternateIdBodySchema = requestObject({ alternateId: identifierSchema }).openapi("AlternateIdRequest");
const eventsQuerySchema = z.strictObject({
  after: queryInteger(0, Number.MAX_SAFE_INTEGER).optional(),
  limit: queryInteger(1, 1000).optional(),
});

/** An event's `seq` in a path: ASCII decimal digits (SPEC §11 "Bounds"), else `400 invalid_request`. */
const seqParamSchema = z.string().regex(/^[0-9]{1,15}$/, "must be a decimal integer (an event's seq)");
const redeliverBodySchema = requestObject({}).openapi("RedeliverRequest");

const idParam = z.object({ id: identifierSchema });
const view = jsonDoc("The customer view", customerViewSchema);
const notFound = errorDoc("customer_not_found");
const tags = ["Customers"];

const upsertRoute = createRoute({
  method: "put",
  path: "/v1/customers/{id}",
  summary: "Create or update a customer (merging upsert)",
  tags,
  request: { params: idParam, body: jsonBody(customerPatchSchema) },
  responses: {
    200: view,
    400: errorDoc("unknown_plan, unknown_org, invalid_request"),
    409: errorDoc(
      "alternate_id_taken, too_many_alternate_ids (over 100), org_has_members (an org with members)",
    ),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/customers/{id}",
  summary: "A customer by id or alternate ID",
  tags,
  request: { params: idParam },
  responses: { 200: view, 404: notFound },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/v1/customers/{id}",
  summary: "Delete a customer and free its alternate IDs",
  tags,
  request: { params: idParam },
  responses: { 204: { description: "Deleted" }, 404: notFound },
});

const planRoute = createRoute({
  method: "put",
  path: "/v1/customers/{id}/plan",
  summary: "Change the plan",
  tags,
  request: { params: idParam, body: jsonBody(planBodySchema) },
  responses: { 200: view, 404: notFound, 400: errorDoc("unknown_plan") },
});

const addAlternateIdRoute = createRoute({
  method: "post",
  path: "/v1/customers/{id}/alternate-ids",
  summary: "Add an alternate ID",
  tags,
  request: { params: idParam, body: jsonBody(alternateIdBodySchema) },
  responses: {
    200: view,
    404: notFound,
    409: errorDoc("alternate_id_taken, too_many_alternate_ids (over 100)"),
  },
});

const removeAlternateIdRoute = createRoute({
  method: "delete",
  path: "/v1/customers/{id}/alternate-ids/{alt}",
  summary: "Remove an alternate ID (idempotent)",
  tags,
  request: { params: z.object({ id: identifierSchema, alt: identifierSchema }) },
  responses: { 200: view, 404: notFound },
});

const exportRoute = createRoute({
  method: "get",
  path: "/v1/customers/{id}/state",
  summary: "Export the complete state (format 1)",
  tags,
  request: { params: idParam },
  responses: { 200: jsonDoc("State", customerStateSchema), 404: notFound },
});

const restoreRoute = createRoute({
  method: "put",
  path: "/v1/customers/{id}/state",
  summary: "Restore (overwrite) the state",
  tags,
  request: { params: idParam, body: jsonBody(customerStateSchema) },
  responses: {
    200: view,
    400: errorDoc("unknown_plan, unknown_org, invalid_request: checked as PUT /v1/customers/:id checks them"),
    409: errorDoc("alternate_id_taken, too_many_alternate_ids, org_has_members"),
  },
});

const eventsRoute = createRoute({
  method: "get",
  path: "/v1/customers/{id}/events",
  summary: "The event log, oldest first",
  tags,
  request: { params: idParam, query: eventsQuerySchema },
  responses: { 200: jsonDoc("A page of events", eventPageSchema), 404: notFound },
});

const redeliverRoute = createRoute({
  method: "post",
  path: "/v1/customers/{id}/events/{seq}/redeliver",
  summary: "Queue a failed or delivered event for webhook delivery again",
  description:
    "The event keeps its id (receivers de-duplicate on `webhook-id`) and answers with its new delivery state: `pending`, due now. A `pending` event is answered as it stands, unchanged.",
  tags,
  request: {
    params: z.object({ id: identifierSchema, seq: seqParamSchema }),
    body: jsonBody(redeliverBodySchema),
  },
  responses: {
    200: jsonDoc("The event with its new delivery state", eventSchema),
    404: errorDoc("customer_not_found, event_not_found (no such seq, or pruned)"),
    409: errorDoc("event_not_redeliverable (a skipped event), webhooks_off"),
  },
});

const moneyTags = ["Money"];

const topupRoute = createRoute({
  method: "post",
  path: "/v1/customers/{id}/topups",
  summary: "Apply a top-up of the effective plan as a new grant",
  description:
    "Each call stacks a new grant; the same `idempotencyKey` makes a retried purchase apply once (SPEC §12.3).",
  tags: moneyTags,
  request: { params: idParam, body: jsonBody(topupRequestSchema) },
  responses: {
    200: jsonDoc("The grant and the customer view", topupResponseSchema),
    400: errorDoc("unknown_topup (not a top-up of the effective plan), invalid_request"),
    404: notFound,
    409: errorDoc("idempotency_key_reused"),
  },
});

const grantsRoute = createRoute({
  method: "get",
  path: "/v1/customers/{id}/grants",
  summary: "The customer's live grants",
  tags: moneyTags,
  request: { params: idParam },
  responses: { 200: jsonDoc("The grants", grantListSchema), 404: notFound },
});

const revokeRoute = createRoute({
  method: "delete",
  path: "/v1/customers/{id}/grants/{grantId}",
  summary: "Revoke a grant",
  tags: moneyTags,
  request: { params: z.object({ id: identifierSchema, grantId: identifierSchema }) },
  responses: {
    204: { description: "Revoked (`grant.revoked`)" },
    404: errorDoc("customer_not_found, grant_not_found"),
  },
});

const marginRoute = createRoute({
  method: "get",
  path: "/v1/customers/{id}/margin",
  summary: "Revenue, cost and margin of the current periods",
  description:
    "Revenue prices the usage past each limit from position 0 (grants ignored); cost is the period's recorded overhead (SPEC §12.5).",
  tags: moneyTags,
  request: { params: idParam },
  responses: { 200: jsonDoc("The margin report", marginSchema), 404: notFound },
});

/** Register the `/v1/customers` routes on the app. */
export function registerCustomerRoutes(app: OpenAPIHono<AppEnv>): void {
  serve(app, upsertRoute, async (c) => {
    const { id } = c.req.valid("param");
    return c.json(await upsertCustomer(c.env, id, c.req.valid("json"), await getActivePolicy(c.env)), 200);
  });

  serve(app, getRoute, async (c) =>
    c.json(await getCustomer(c.env, c.req.valid("param").id, await getActivePolicy(c.env)), 200),
  );

  serve(app, deleteRoute, async (c) => {
    await deleteCustomer(c.env, c.req.valid("param").id);
    return c.body(null, 204);
  });

  serve(app, planRoute, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const active = await getActivePolicy(c.env);
    return c.json(await changePlan(c.env, id, body.plan, body.keepUsage ?? true, active), 200);
  });

  serve(app, addAlternateIdRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { alternateId } = c.req.valid("json");
    return c.json(await addAlternateId(c.env, id, alternateId, await getActivePolicy(c.env)), 200);
  });

  serve(app, removeAlternateIdRoute, async (c) => {
    const { id, alt } = c.req.valid("param");
    return c.json(await removeAlternateId(c.env, id, alt, await getActivePolicy(c.env)), 200);
  });

  serve(app, exportRoute, async (c) =>
    c.json(await exportCustomerState(c.env, c.req.valid("param").id), 200),
  );

  serve(
    app,
    restoreRoute,
    async (c) => {
      const { id } = c.req.valid("param");
      const state = c.req.valid("json");
      return c.json(await restoreCustomerState(c.env, id, state, await getActivePolicy(c.env)), 200);
    },
    { limitBytes: STATE_LIMIT_BYTES },
  );

  serve(app, topupRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { topup, idempotencyKey } = c.req.valid("json");
    const active = await getActivePolicy(c.env);
    return c.json(await buyTopup(c.env, id, topup, idempotencyKey ?? null, active), 200);
  });

  serve(app, grantsRoute, async (c) => c.json(await listGrants(c.env, c.req.valid("param").id), 200));

  serve(app, revokeRoute, async (c) => {
    const { id, grantId } = c.req.valid("param");
    await revokeGrant(c.env, id, grantId);
    return c.body(null, 204);
  });

  serve(app, marginRoute, async (c) =>
    c.json(await customerMargin(c.env, c.req.valid("param").id, await getActivePolicy(c.env)), 200),
  );

  serve(app, eventsRoute, async (c) => {
    const { after, limit } = c.req.valid("query");
    const { id } = c.req.valid("param");
    return c.json(await listCustomerEvents(c.env, id, after ?? 0, limit ?? 100), 200);
  });

  serve(app, redeliverRoute, async (c) => {
    const { id, seq } = c.req.valid("param");
    return c.json(await redeliverCustomerEvent(c.env, id, Number(seq)), 200);
  });
}

// The typed client (src/client) derives its request types from these; it names their types only.
export { alternateIdBodySchema, eventsQuerySchema, planBodySchema };
