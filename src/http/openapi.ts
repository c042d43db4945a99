/**
 * Routes declared once (SPEC §5.4, STYLE.md "Routes are declared once"): a `createRoute` declaration
 * validates params and query (`@hono/zod-openapi`), its JSON body is read and validated here by the rules of
 * SPEC §11 "HTTP" against the schema it declares, and the same declaration feeds `/openapi.json`.
 */
import { createRoute, type OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { contentSecurityPolicy } from "../lib/csp";
import { toIssues } from "../services/request-schemas";
import { JSON_LIMIT_BYTES, readJson } from "./body";
import { invalidRequest } from "./errors";
import { errorEnvelopeSchema } from "./schemas";
import type { AppEnv } from "./types";

const BEARER = "bearerAuth";

/**
 * The app's `defaultHook`: a path or query parameter that fails its declared schema is `400
 * invalid_request` with `details.issues`, in the envelope of every other error.
 */
export function renderInvalid(result: { success: true } | { success: false; error: z.ZodError }): void {
  if (!result.success) throw invalidRequest(toIssues(result.error));
}

/** A documented error answer (the envelope), described by the codes it carries. */
export function errorDoc(description: string) {
  return { description, content: { "application/json": { schema: errorEnvelopeSchema } } };
}

/** A documented JSON answer. */
export function jsonDoc<S extends z.ZodType>(description: string, schema: S) {
  return { description, content: { "application/json": { schema } } };
}

/** A JSON request body of the declaration. */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return { required: true, content: { "application/json": { schema } } };
}

/**
 * The declaration as documented: `/v1` routes carry the bearer scheme and their 401 / 503, routes with a
 * body the body errors; a route's own entries win.
 */
function documented(route: RouteConfig): RouteConfig {
  const admin = route.path === "/v1" || route.path.startsWith("/v1/");
  const responses: RouteConfig["responses"] = { ...route.responses };
  if (route.request?.body !== undefined) {
    responses["400"] ??= errorDoc("invalid_json or invalid_request (details.issues)");
    responses["413"] ??= errorDoc("payload_too_large");
    responses["415"] ??= errorDoc("unsupported_media_type");
  }
  if (admin) {
    responses["401"] ??= errorDoc("unauthorized: missing or wrong bearer token");
    responses["503"] ??= errorDoc("not_configured (no ADMIN_TOKEN) or policy_unavailable");
  }
  return { ...route, security: admin ? [{ [BEARER]: [] }] : [], responses };
}

/** How a declared body is read: JSON validated here (with its byte limit), or read by the handler itself. */
export type BodyReading = { limitBytes?: number } | "handler";

/**
 * Serve a declared route on the app. Params and query are validated by `@hono/zod-openapi` (failures go
 * through the app's `defaultHook`); a JSON body is read by `readJson` (limits, media types, a missing
 * Content-Type read as JSON, an empty body as `{}`) against the schema the declaration names, and its result
 * is what `c.req.valid("json")` answers. The library's own body check is not used: it refuses a body
 * without Content-Type, which SPEC §11 reads as JSON.
 */
export function serve<R extends RouteConfig>(
  app: OpenAPIHono<AppEnv>,
  route: R,
  handler: RouteHandler<R, AppEnv>,
  reading: BodyReading = {},
): void {
  const { body, ...request } = route.request ?? {};
  app.openAPIRegistry.registerPath(documented(route));
  const middleware: MiddlewareHandler<AppEnv>[] = [];
  const media = body?.content["application/json"];
  const schema = media !== undefined && "schema" in media ? media.schema : undefined;
  if (body !== undefined && reading !== "handler" && schema instanceof z.ZodType) {
    const limitBytes = reading.limitBytes ?? JSON_LIMIT_BYTES;
    middleware.push(async function readDeclaredBody(c, next) {
      c.req.addValidatedData("json", (await readJson(c, schema, { limitBytes })) as object);
      await next();
    });
  }
  // Documented above in full; served with params and query only, the body being read by the middleware.
  app.openapi({ ...route, request, hide: true, middleware }, handler as never);
}

/** The OpenAPI 3.1 document of the app's declared routes. */
function openApiDocument(app: OpenAPIHono<AppEnv>) {
  return app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Tollgate",
      version: "1",
      description:
        "Monetization and rate-limit gate. Every /v1 route needs `Authorization: Bearer <ADMIN_TOKEN>`.",
    },
    security: [{ [BEARER]: [] }],
  });
}

/**
 * The /docs page's policy: scripts, styles and images from this origin only (the page's script and styles
 * are static assets under /docs/, copied from `swagger-ui-dist` at build time), and no inline script.
 * swagger-ui sets `style` attributes in its markup, hence inline styles; nothing else is loosened.
 */
export const DOCS_CSP = contentSecurityPolicy({ inlineStyles: true });

/** The /docs page: swagger-ui from the Worker's own static assets, reading /openapi.json. No CDN. */
const DOCS_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Tollgate API reference</title>
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
    <link rel="stylesheet" href="/docs/swagger-ui.css">
    <script src="/docs/swagger-ui-bundle.js" defer></script>
    <script src="/docs/init.js" defer></script>
  </head>
  <body>
    <div id="swagger-ui" data-spec-url="/openapi.json"></div>
  </body>
</html>
`;

/** `GET /openapi.json` and `GET /docs` (the reference page, served with its own assets, SPEC §13.2). */
export function registerDocsRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", BEARER, {
    type: "http",
    scheme: "bearer",
    description: "The ADMIN_TOKEN of the deployment",
  });
  // Built on the first request, once every route file has declared its routes.
  let document: ReturnType<typeof openApiDocument> | null = null;
  const specRoute = createRoute({
    method: "get",
    path: "/openapi.json",
    hide: true,
    summary: "This document",
    responses: { 200: { description: "The OpenAPI 3.1 document" } },
  });
  app.openapi(specRoute, (c) => {
    document ??= openApiDocument(app);
    return c.json(document);
  });
  const docsRoute = createRoute({
    method: "get",
    path: "/docs",
    hide: true,
    summary: "The API reference page",
    responses: { 200: { description: "HTML" } },
  });
  app.openapi(docsRoute, (c) => {
    c.header("Content-Security-Policy", DOCS_CSP);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    return c.html(DOCS_HTML);
  });
}
