/** The read-model routes (SPEC §13.1): `GET /v1/customers` (listing) and `GET /v1/usage` (usage series). */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { listCustomers } from "../../analytics/customer-list";
import type { UsageGroupBy } from "../../analytics/types";
import { queryUsage } from "../../analytics/usage-query";
import { customerListResponse, listCustomersQuery, usageQuery, usageResponse } from "../analytics-schemas";
import { ApiError, valueOrThrow } from "../errors";
import { errorDoc, jsonDoc, serve } from "../openapi";
import type { AppEnv } from "../types";

const LAG =
  "Served from the read model in D1, which each customer's object feeds from its event log within seconds (an event shows `projected`); the objects stay the source of truth.";

const listRoute = createRoute({
  method: "get",
  path: "/v1/customers",
  summary: "List customers (read model)",
  description: `Live customers ordered by id; a deleted customer is not listed. \`q\` matches a prefix of the id, the label or an alternate ID. Page with \`cursor\` = the previous page's \`next\`. ${LAG}`,
  tags: ["Customers"],
  request: { query: listCustomersQuery },
  responses: {
    200: jsonDoc("A page of customers", customerListResponse),
    400: errorDoc("invalid_request (details.issues): an unknown parameter, a bad limit or cursor"),
  },
});

const usageRoute = createRoute({
  method: "get",
  path: "/v1/usage",
  summary: "Usage series (read model)",
  description: [
    "Recorded usage from `meter.changed` events: consumes and settles add their amount, releases subtract what they took off the meter; reserves and hold expiry are not usage.",
    "`customer` is the caller: a member's calls on its org's org-scoped meters count under the member (`groupBy=customer`, `customer=`), and under the org with `org=`, which takes usage metered on the org plus its current members' usage on their own meters.",
    "`amount` is in each entitlement's credit unit; group by entitlement when units differ. `usage` sums the token classes of gateway settles and `cost` what the usage cost you in runes (the events' overheadDiff).",
    "`groupBy` day or hour buckets are local to `tz` (IANA, default UTC), DST-correct, named by their local start with its offset. Points are sorted by bucket, then group; at most `limit` (≤ 1000).",
    LAG,
  ].join(" "),
  tags: ["Usage"],
  request: { query: usageQuery },
  responses: {
    200: jsonDoc("The usage series", usageResponse),
    400: errorDoc("invalid_request (details.issues): bad groupBy, tz, from/to, limit, or too wide a query"),
  },
});

/** The read model's database; `503 not_configured` when the Worker has no `ANALYTICS` binding. */
function analyticsDb(env: Env): D1Database {
  const db = (env as { ANALYTICS?: D1Database }).ANALYTICS;
  if (db === undefined)
    throw new ApiError("not_configured", "no ANALYTICS (D1) binding: the read model is off");
  return db;
}

/** Register `GET /v1/customers` and `GET /v1/usage` on the app. */
export function registerAnalyticsRoutes(app: OpenAPIHono<AppEnv>): void {
  serve(app, listRoute, async (c) => {
    const q = c.req.valid("query");
    const query = { ...q, limit: q.limit ?? 100 };
    return c.json(valueOrThrow(await listCustomers(analyticsDb(c.env), query)), 200);
  });

  serve(app, usageRoute, async (c) => {
    const { from, to, groupBy, tz, limit, ...filters } = c.req.valid("query");
    const query = {
      ...filters,
      ...(from === undefined ? {} : { fromMs: from }),
      ...(to === undefined ? {} : { toMs: to }),
      groupBy: (groupBy ?? []) as UsageGroupBy[],
      tz: tz ?? "UTC",
      limit: limit ?? 1000,
    };
    return c.json(valueOrThrow(await queryUsage(analyticsDb(c.env), query)), 200);
  });
}
