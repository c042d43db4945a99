/**
 * Differential profile of `/v1/consume` (bench only). Each `/p/*` route does one more step of what the
 * product's consume does, with the product's own code; the product app answers everything else. Throughput
 * and workerd CPU per request of neighbouring routes then show what each step costs:
 *
 *   /p/echo     Hono route reading the body as text (the floor of a POST)
 *   /p/parse    + readJson: byte-capped read, JSON.parse, the zod schema of consume
 *   /p/auth     + requireAdmin: two SHA-256 digests and a constant-time compare
 *   /p/log      + the request-id middleware: a UUID and one JSON log line
 *   /p/policy   + getActivePolicy (the KV pointer, cached per isolate)
 *   /p/rpc      + one RPC to the customer's Durable Object (`exists()`: no SQL, a boolean back)
 *   /v1/check   the product: + plan routing, the engine, a full decision back (no write)
 *   /v1/consume the product: + one SQLite transaction (meter, event) per call
 *   /baseline   the §9 baseline (Hono, JSON.parse, one RPC that reads and upserts one row)
 *   /p/fetch/*  a bare pass-through to OPENAI_BASE_URL: the floor of the gateway
 */
import { Hono } from "hono";
import { readJson } from "../../src/http/body";
import { requireAdmin } from "../../src/http/middleware/auth";
import type { AppEnv } from "../../src/http/types";
import { createApp } from "../../src/index";
import { requestId } from "../../src/lib/request-id";
import { customerStub } from "../../src/objects/directory";
import { getActivePolicy } from "../../src/policy/store";
import { checkBodySchema } from "../../src/services/request-schemas";
import baseline from "../baseline/worker";

export { AlternateIdObject, CustomerObject, PolicyObject } from "../../src/index";
export { CounterObject } from "../baseline/worker";

const product = createApp();
const steps = new Hono<AppEnv>();

steps.post("/p/echo", async (c) => {
  await c.req.text();
  return c.json({ ok: true });
});
steps.post("/p/parse", async (c) => {
  await readJson(c, checkBodySchema);
  return c.json({ ok: true });
});
steps.post("/p/auth", requireAdmin(), async (c) => {
  await readJson(c, checkBodySchema);
  return c.json({ ok: true });
});
steps.use("/p/log", requestId());
steps.post("/p/log", requireAdmin(), async (c) => {
  await readJson(c, checkBodySchema);
  return c.json({ ok: true });
});
steps.use("/p/policy", requestId());
steps.post("/p/policy", requireAdmin(), async (c) => {
  await readJson(c, checkBodySchema);
  const active = await getActivePolicy(c.env);
  return c.json({ ok: active !== null });
});
steps.use("/p/rpc", requestId());
steps.post("/p/rpc", requireAdmin(), async (c) => {
  const body = await readJson(c, checkBodySchema);
  const active = await getActivePolicy(c.env);
  const exists = await customerStub(c.env, body.customer).exists();
  return c.json({ ok: active !== null && exists });
});
steps.all("/p/fetch/*", async (c) => {
  const base = (c.env.OPENAI_BASE_URL ?? "").replace(/\/+$/, "");
  const upstream = await fetch(`${base}${c.req.path.slice("/p/fetch".length)}`, {
    method: c.req.method,
    headers: { "content-type": "application/json", authorization: "Bearer sk-bench-upstream" },
    body: await c.req.arrayBuffer(),
  });
  return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
});

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/p/")) return steps.fetch(request, env, ctx);
    if (path === "/baseline") return baseline.fetch(request, env as never, ctx);
    return product.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
