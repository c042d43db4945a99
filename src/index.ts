/** Worker entry: the HTTP app and the Durable Object classes. */
import { Hono } from "hono";

export { CustomerObject } from "./objects/customer-object";

const app = new Hono<{ Bindings: Env }>();
app.get("/healthz", (c) => c.json({ ok: true, policyVersion: null }));

export default app;
