import { createExecutionContext, env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { readJson } from "../../src/http/body";
import { onError } from "../../src/http/errors";
import { identifierSchema, requestObject } from "../../src/http/schemas";
import type { AppEnv } from "../../src/http/types";
import { createApp } from "../../src/index";
import { requestId } from "../../src/lib/request-id";

const BASE = "http://gate.test";
const AUTH = { Authorization: `Bearer ${env.ADMIN_TOKEN}` };
const gate = (path: string, init?: RequestInit) => exports.default.fetch(`${BASE}${path}`, init);

interface Envelope {
  error: { code: string; message: string; details?: Record<string, unknown>; requestId: string };
}

async function expectError(res: Response, status: number, code: string): Promise<Envelope["error"]> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as Envelope;
  expect(body.error.code).toBe(code);
  expect(body.error.requestId).toBe(res.headers.get("x-request-id"));
  return body.error;
}

// A probe app for the body reader: the production routes that read JSON belong to other files.
const probeSchema = requestObject({
  name: identifierSchema.optional(),
  nested: requestObject({ deep: z.number() }).optional(),
  items: z.array(requestObject({ id: identifierSchema })).optional(),
});
const probe = new Hono<AppEnv>();
probe.use(requestId());
probe.post("/echo", async (c) => c.json(await readJson(c, probeSchema)));
probe.get("/boom", () => {
  throw new Error(`exploded while holding ${env.ADMIN_TOKEN}`);
});
probe.onError(onError);
const post = (
  body: BodyInit | null,
  headers: Record<string, string> = { "Content-Type": "application/json" },
) => probe.request("/echo", { method: "POST", body, headers }, env);

afterEach(() => vi.restoreAllMocks());

describe("authentication", () => {
  const paths = [
    "/v1",
    "/v1/",
    "/v1/policy",
    "/v1/policy/validate",
    "/v1/nope",
    "/v1/customers/x",
    "/v1/consume",
  ];
  for (const path of paths) {
    for (const method of ["GET", "POST", "PUT", "DELETE"]) {
      it(`${method} ${path} without a token is 401`, async () => {
        const res = await gate(path, { method });
        await expectError(res, 401, "unauthorized");
        expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      });
    }
  }

  it("rejects a wrong token, a non-Bearer scheme and a token with a suffix", async () => {
    for (const value of [
      "Bearer wrong",
      `Basic ${env.ADMIN_TOKEN}`,
      `Bearer ${env.ADMIN_TOKEN}x`,
      "Bearer",
      "",
    ]) {
      await expectError(await gate("/v1/policy", { headers: { Authorization: value } }), 401, "unauthorized");
    }
  });

  it("accepts the token with a case-insensitive scheme", async () => {
    const res = await gate("/v1/nope", { headers: { Authorization: `bearer ${env.ADMIN_TOKEN}` } });
    await expectError(res, 404, "not_found");
  });

  it("answers 503 not_configured when no ADMIN_TOKEN is set, and keeps non-/v1 routes up", async () => {
    const app = createApp();
    for (const token of [undefined, ""]) {
      const bare = { ...env, ADMIN_TOKEN: token } as Env;
      const res = await app.fetch(
        new Request(`${BASE}/v1/policy`, { headers: AUTH }),
        bare,
        createExecutionContext(),
      );
      await expectError(res, 503, "not_configured");
      const health = await app.fetch(new Request(`${BASE}/healthz`), bare, createExecutionContext());
      expect(health.status).toBe(200);
    }
  });
});

describe("request ids and logs", () => {
  it("echoes a sane client id and puts it in the envelope", async () => {
    const res = await gate("/v1/nope", { headers: { "X-Request-Id": "abc-123.x:y_z" } });
    expect(res.headers.get("x-request-id")).toBe("abc-123.x:y_z");
    expect((await expectError(res, 401, "unauthorized")).requestId).toBe("abc-123.x:y_z");
  });

  it("generates an id when the client sends none or an insane one", async () => {
    for (const sent of [undefined, "a".repeat(129), "has space", "semi;colon", "<script>"]) {
      const res = await gate("/healthz", sent === undefined ? {} : { headers: { "X-Request-Id": sent } });
      const id = res.headers.get("x-request-id");
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(id).not.toBe(sent);
    }
    const a = (await gate("/healthz")).headers.get("x-request-id");
    const b = (await gate("/healthz")).headers.get("x-request-id");
    expect(a).not.toBe(b);
  });

  it("logs one JSON line per request without the token, clipping alternate IDs", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const app = createApp();
    const path = "/v1/customers/sk_live_secretvalue/alternate-ids/ak_another_secret";
    const res = await app.fetch(
      new Request(`${BASE}${path}?key=leak`, {
        method: "DELETE",
        headers: { ...AUTH, "X-Request-Id": "log-1" },
      }),
      env,
      createExecutionContext(),
    );
    expect(res.headers.get("x-request-id")).toBe("log-1");
    expect(log).toHaveBeenCalledTimes(1);
    const line = String(log.mock.calls[0]?.[0]);
    expect(JSON.parse(line)).toEqual({
      requestId: "log-1",
      method: "DELETE",
      path: "/v1/customers/sk_liv…/alternate-ids/ak_ano…",
      status: res.status,
      ms: expect.any(Number),
    });
    for (const secret of [env.ADMIN_TOKEN ?? "?", "secretvalue", "another_secret", "leak"]) {
      expect(line).not.toContain(secret);
    }
  });

  it("turns an unknown exception into 500 internal, logging it without the secret", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const res = await probe.request("/boom", {}, env);
    const body = await expectError(res, 500, "internal");
    expect(JSON.stringify(body)).not.toContain(env.ADMIN_TOKEN);
    const line = String(error.mock.calls[0]?.[0]);
    expect(JSON.parse(line)).toMatchObject({ level: "error", requestId: body.requestId });
    expect(line).toContain("[redacted]");
    expect(line).not.toContain(env.ADMIN_TOKEN);
  });
});

describe("routing errors", () => {
  it("404 not_found for unknown routes, with and without /v1", async () => {
    await expectError(await gate("/v1/policies", { headers: AUTH }), 404, "not_found");
    await expectError(await gate("/nope"), 404, "not_found");
    await expectError(await gate("/v1/policy/", { headers: AUTH }), 404, "not_found");
  });

  it("405 method_not_allowed with Allow for a known path", async () => {
    const res = await gate("/v1/policy", { method: "DELETE", headers: AUTH });
    const error = await expectError(res, 405, "method_not_allowed");
    expect(res.headers.get("allow")).toBe("GET, HEAD, OPTIONS, PUT");
    expect(error.details).toEqual({ allow: ["GET", "HEAD", "OPTIONS", "PUT"] });
    const validate = await gate("/v1/policy/validate", { headers: AUTH });
    await expectError(validate, 405, "method_not_allowed");
    expect(validate.headers.get("allow")).toBe("OPTIONS, POST");
    const health = await gate("/healthz", { method: "POST" });
    await expectError(health, 405, "method_not_allowed");
    expect(health.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
  });

  it("OPTIONS lists the methods; HEAD works where GET does", async () => {
    const options = await gate("/v1/policy", { method: "OPTIONS", headers: AUTH });
    expect(options.status).toBe(204);
    expect(options.headers.get("allow")).toBe("GET, HEAD, OPTIONS, PUT");
    const head = await gate("/healthz", { method: "HEAD" });
    expect(head.status).toBe(200);
  });
});

describe("JSON bodies", () => {
  it("accepts JSON media types, a missing Content-Type and an empty body", async () => {
    for (const type of [
      "application/json",
      "application/json; charset=utf-8",
      "application/merge-patch+json",
    ]) {
      const res = await post('{"name":"a"}', { "Content-Type": type });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ name: "a" });
    }
    const untyped = await post(new TextEncoder().encode('{"name":"b"}'), {});
    expect(await untyped.json()).toEqual({ name: "b" });
    const empty = await post(null, {});
    expect(empty.status).toBe(200);
    expect(await empty.json()).toEqual({});
    expect((await post("  ")).status).toBe(200);
  });

  it("415 for other media types", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/yaml"]) {
      await expectError(await post('{"name":"a"}', { "Content-Type": type }), 415, "unsupported_media_type");
    }
  });

  it("400 invalid_json for unparsable bodies and invalid UTF-8", async () => {
    await expectError(await post("{name:"), 400, "invalid_json");
    await expectError(await post(new Uint8Array([0x7b, 0xff, 0x7d])), 400, "invalid_json");
  });

  it("400 invalid_request with dotted paths, unknown fields included", async () => {
    const body = { name: "ok", extra: 1, nested: { deep: "x", more: true }, items: [{ id: "" }] };
    const error = await expectError(await post(JSON.stringify(body)), 400, "invalid_request");
    const issues = (error.details?.issues ?? []) as { path: string; message: string }[];
    expect(issues.map((issue) => issue.path).sort()).toEqual([
      "extra",
      "items.0.id",
      "nested.deep",
      "nested.more",
    ]);
    for (const issue of issues) expect(issue.message).toBeTruthy();
    await expectError(await post("[1]"), 400, "invalid_request");
  });

  it("identifiers: 1 to 256 characters, no control characters", async () => {
    expect((await post(JSON.stringify({ name: "é".repeat(256) }))).status).toBe(200);
    for (const name of ["", "a".repeat(257), "a\u0000b", "tab\there", "c1\u0085", "del\u007f"]) {
      await expectError(await post(JSON.stringify({ name })), 400, "invalid_request");
    }
  });

  it("413 payload_too_large over 64 KiB, by Content-Length or by the bytes sent", async () => {
    const exactly = `{"name":"a"${" ".repeat(65536 - 12)}}`;
    expect(new TextEncoder().encode(exactly).byteLength).toBe(65536);
    expect((await post(exactly)).status).toBe(200);
    const over = `${exactly} `;
    const error = await expectError(await post(over), 413, "payload_too_large");
    expect(error.details).toEqual({ limitBytes: 65536 });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(4096).fill(0x20));
        controller.close();
      },
    });
    await expectError(await post(stream), 413, "payload_too_large");
  });
});

describe("docs", () => {
  it("/openapi.json is an OpenAPI 3.1 document listing the policy routes, without auth", async () => {
    const res = await gate("/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
      components: {
        securitySchemes: Record<string, { type: string; scheme: string }>;
        schemas: Record<string, unknown>;
      };
    };
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(doc.paths["/v1/policy"] ?? {}).sort()).toEqual(["get", "put"]);
    expect(doc.paths["/v1/policy/validate"]?.post?.responses).toHaveProperty("400");
    expect(doc.paths["/v1/policy"]?.get?.responses).toHaveProperty("401");
    expect(doc.paths["/healthz"]?.get?.security).toEqual([]);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.schemas).toHaveProperty("Error");
    expect(doc.components.schemas).toHaveProperty("Decision");
  });

  it("/docs is an HTML reference page pointing at /openapi.json", async () => {
    const res = await gate("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain("/openapi.json");
    expect(html.toLowerCase()).toContain("<html");
  });
});
