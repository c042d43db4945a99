/**
 * The Worker's front app (SPEC §5): request ids and the log line for every path, `/v1` auth, health, docs,
 * the admin routes, and the 404 / 405 / error envelopes. The entry (`src/index.ts`) mounts the gateway on it.
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { requestId } from "../lib/request-id";
import { readPolicyState } from "../policy/store";
import { webhookConfig } from "../webhooks/config";
import { background } from "./background";
import { ApiError, errorResponse, onError } from "./errors";
import { requireAdmin } from "./middleware/auth";
import { jsonDoc, registerDocsRoutes, renderInvalid, serve } from "./openapi";
import { registerAnalyticsRoutes } from "./routes/analytics";
import { registerCustomerRoutes } from "./routes/customers";
import { registerMeteringRoutes } from "./routes/metering";
import { registerPolicyRoutes } from "./routes/policy";
import { healthResponseSchema } from "./schemas";
import type { AppEnv } from "./types";

type RouteTable = { pattern: RegExp; method: string }[];

/** A Hono route path (`/v1/customers/:id`, `/x/*`) as an anchored RegExp over the request path. */
function routePattern(path: string): RegExp {
  const source = path
    .split("/")
    .map((segment) => {
      if (segment === "*") return ".*";
      if (segment.startsWith(":")) return segment.endsWith("?") ? "[^/]*" : "[^/]+";
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return new RegExp(`^${source}$`);
}

/**
 * The methods served on `path`, from the app's own route list. Middleware (`app.use`, `app.all`) is
 * registered as method ALL and says nothing about which methods a path serves, so it is skipped.
 */
function allowedMethods(table: RouteTable, path: string): string[] {
  const methods = new Set(table.filter((route) => route.pattern.test(path)).map((route) => route.method));
  // Hono answers HEAD from the GET handler; OPTIONS is answered below.
  if (methods.has("GET")) methods.add("HEAD");
  if (methods.size > 0) methods.add("OPTIONS");
  return [...methods].sort();
}

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Health and the active policy version",
  tags: ["meta"],
  responses: { 200: jsonDoc("Always ok while the Worker runs", healthResponseSchema) },
});

/** Build the admin app. Each call returns a fresh app (tests build their own to vary the env). */
export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: renderInvalid });
  // First, for every path (the gateway's too): the request id, `X-Request-Id` and one log line.
  app.use("*", requestId());
  // Before any route: an unknown /v1 path without a token is 401, not 404 (SPEC §11 "HTTP").
  app.use("/v1/*", requireAdmin());

  serve(app, healthRoute, async (c) => {
    const { active, state } = await readPolicyState(c.env, Date.now(), false, background(c));
    const hooks = webhookConfig(c.env);
    // Says why events are not delivered (SPEC §11), never what the secret is.
    const webhooks =
      hooks.state === "misconfigured" ? { state: hooks.state, reason: hooks.reason } : { state: hooks.state };
    return c.json({ ok: true, policyVersion: active?.version ?? null, policyState: state, webhooks }, 200);
  });
  registerDocsRoutes(app);
  registerPolicyRoutes(app);
  registerCustomerRoutes(app);
  registerAnalyticsRoutes(app);
  registerMeteringRoutes(app);

  // Built on the first miss, after every route (the gateway's too) is registered.
  let table: RouteTable | null = null;
  app.notFound((c) => {
    table ??= app.routes
      .filter((route) => route.method !== "ALL")
      .map((route) => ({ pattern: routePattern(route.path), method: route.method }));
    const allow = allowedMethods(table, c.req.path);
    if (allow.length === 0) return errorResponse(c, new ApiError("not_found", `no route for ${c.req.path}`));
    if (c.req.method === "OPTIONS") return c.body(null, 204, { Allow: allow.join(", ") });
    return errorResponse(
      c,
      new ApiError(
        "method_not_allowed",
        `${c.req.method} is not allowed here; use ${allow.join(", ")}`,
        { allow },
        { Allow: allow.join(", ") },
      ),
    );
  });
  app.onError(onError);
  return app;
}
