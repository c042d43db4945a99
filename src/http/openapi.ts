/**
 * The OpenAPI 3.1 document (SPEC §5.4), generated from the zod schemas that validate requests. Route files
 * call `registerRoute` next to their handlers; `/openapi.json` and `/docs` serve the result.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from "@asteasolutions/zod-to-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { Hono } from "hono";
import type { z } from "zod";
import { errorEnvelopeSchema } from "./schemas";
import type { AppEnv } from "./types";

/** Every documented schema and route. Module-global: the document is the same for every app instance. */
export const registry = new OpenAPIRegistry();
const BEARER = "bearerAuth";
registry.registerComponent("securitySchemes", BEARER, {
  type: "http",
  scheme: "bearer",
  description: "The ADMIN_TOKEN of the deployment",
});

/** One documented response: a JSON schema, or none (204). */
export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** Defaults to application/json. */
  contentType?: string;
}

/** What a route file says about one route. `path` uses Hono syntax (`/v1/customers/:id`). */
export interface RouteDoc {
  method: "get" | "put" | "post" | "delete" | "patch";
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  /** A JSON body schema, or one schema per media type (policy bodies are JSON or YAML). */
  body?: z.ZodType | Record<string, z.ZodType>;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Success responses by status. Common errors (401, 400, 413, 415) are added for `/v1` routes. */
  responses: Record<number, ResponseDoc>;
  /** Extra documented error statuses, e.g. `{ 404: "customer_not_found" }`. */
  errors?: Record<number, string>;
}

const registered = new Set<string>();

function errorResponse(description: string) {
  return { description, content: { "application/json": { schema: errorEnvelopeSchema } } };
}

function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?\??/g, "{$1}");
}

/**
 * Document one route. Idempotent per method and path, so creating several apps (tests) does not
 * duplicate operations.
 */
export function registerRoute(doc: RouteDoc): void {
  const key = `${doc.method} ${doc.path}`;
  if (registered.has(key)) return;
  registered.add(key);
  const admin = doc.path === "/v1" || doc.path.startsWith("/v1/");
  const responses: RouteConfig["responses"] = {};
  for (const [status, r] of Object.entries(doc.responses)) {
    responses[status] = r.schema
      ? {
          description: r.description,
          content: { [r.contentType ?? "application/json"]: { schema: r.schema } },
        }
      : { description: r.description };
  }
  if (doc.body !== undefined) {
    responses["400"] ??= errorResponse("invalid_json or invalid_request (details.issues)");
    responses["413"] ??= errorResponse("payload_too_large");
    responses["415"] ??= errorResponse("unsupported_media_type");
  }
  for (const [status, code] of Object.entries(doc.errors ?? {})) responses[status] = errorResponse(code);
  if (admin) {
    responses["401"] ??= errorResponse("unauthorized: missing or wrong bearer token");
    responses["503"] ??= errorResponse("not_configured (no ADMIN_TOKEN) or policy_unavailable");
  }
  const content =
    doc.body === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(isZodType(doc.body) ? { "application/json": doc.body } : doc.body).map(
            ([type, schema]) => [type, { schema }],
          ),
        );
  registry.registerPath({
    method: doc.method,
    path: toOpenApiPath(doc.path),
    summary: doc.summary,
    ...(doc.description === undefined ? {} : { description: doc.description }),
    tags: doc.tags,
    security: admin ? [{ [BEARER]: [] }] : [],
    request: {
      ...(content === undefined ? {} : { body: { required: true, content } }),
      ...(doc.params === undefined ? {} : { params: doc.params }),
      ...(doc.query === undefined ? {} : { query: doc.query }),
    },
    responses,
  });
}

function isZodType(value: z.ZodType | Record<string, z.ZodType>): value is z.ZodType {
  return typeof (value as { safeParse?: unknown }).safeParse === "function";
}

type OpenApiDocument = ReturnType<OpenApiGeneratorV31["generateDocument"]>;
let cached: { count: number; document: OpenApiDocument } | null = null;

/** The OpenAPI 3.1 document of everything registered so far (cached until something new is registered). */
export function buildOpenApiDocument(): OpenApiDocument {
  const count = registry.definitions.length;
  if (cached?.count === count) return cached.document;
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Tollgate",
      version: "1",
      description:
        "Monetization and rate-limit gate. Every /v1 route needs `Authorization: Bearer <ADMIN_TOKEN>`.",
    },
    security: [{ [BEARER]: [] }],
  });
  cached = { count, document };
  return document;
}

/** `GET /openapi.json` and `GET /docs` (a Scalar reference page; its script loads from a CDN in the browser). */
export function registerDocsRoutes(app: Hono<AppEnv>): void {
  app.get("/openapi.json", (c) => c.json(buildOpenApiDocument()));
  app.get("/docs", Scalar<AppEnv>({ url: "/openapi.json", pageTitle: "Tollgate API reference" }));
}
