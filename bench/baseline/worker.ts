/**
 * The floors of SPEC §9 (bench only, never deployed with the product), in one Worker so that one workerd
 * serves them all, as one serves the product:
 * - `GET /healthz`: a bare Hono app answering the product's `/healthz` JSON (the per-request overhead floor);
 * - `POST /baseline`, same body as `/v1/consume`: the **DO floor**, one RPC to a SQLite Durable Object per
 *   customer that reads the entitlement's row and upserts it;
 * - `FloorRpc.consume`, the same floor as a named `WorkerEntrypoint` for a Worker calling it through a service
 *   binding (the Workers RPC floor);
 * - `POST /gateway/openai/v1/chat/completions` and `POST /gateway/anthropic/v1/messages`: the **bare proxy
 *   floor**, one `fetch` of the request to the door's upstream (the same mock the gateway calls), no metering.
 * Hono routes it, as in the product, so each comparison isolates what Tollgate does beyond the floor.
 */
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";
import { Hono } from "hono";

interface FloorEnv {
  COUNTERS: DurableObjectNamespace<CounterObject>;
  /** The mock upstreams, as the product's OPENAI_BASE_URL / ANTHROPIC_BASE_URL (with `/v1`). */
  OPENAI_BASE_URL?: string;
  ANTHROPIC_BASE_URL?: string;
}

interface ConsumeBody {
  customer: string;
  entitlement: string;
  amount?: number;
}

/** One customer's counters: a table of (name, used). */
export class CounterObject extends DurableObject<FloorEnv> {
  constructor(ctx: DurableObjectState, env: FloorEnv) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS meters (name TEXT PRIMARY KEY, used REAL NOT NULL)");
  }

  /** Read one row and upsert it: the minimum an exact counter needs. */
  async add(name: string, amount: number): Promise<{ used: number }> {
    const row = this.ctx.storage.sql
      .exec<{ used: number }>("SELECT used FROM meters WHERE name = ?", name)
      .toArray()[0];
    const used = (row?.used ?? 0) + amount;
    this.ctx.storage.sql.exec(
      "INSERT INTO meters (name, used) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET used = excluded.used",
      name,
      used,
    );
    return { used };
  }
}

function addTo(env: FloorEnv, body: ConsumeBody): Promise<{ used: number }> {
  const stub = env.COUNTERS.get(env.COUNTERS.idFromName(body.customer));
  return stub.add(body.entitlement, body.amount ?? 1);
}

/** The DO floor reached through a service binding: `env.TARGET.consume({ customer, entitlement, amount })`. */
export class FloorRpc extends WorkerEntrypoint<FloorEnv> {
  consume(body: ConsumeBody): Promise<{ used: number }> {
    return addTo(this.env, body);
  }
}

const app = new Hono<{ Bindings: FloorEnv }>();

// The product's answer with a policy active and webhooks off, as a constant.
const health = { ok: true, policyVersion: "floor", policyState: "current", webhooks: { state: "off" } };
app.get("/healthz", (c) => c.json(health));

app.post("/baseline", async (c) => c.json(await addTo(c.env, await c.req.json<ConsumeBody>())));

/** Forward the request as it came (body streamed, headers kept) to `base` + `path`: one `fetch`. */
const forward = (base: string | undefined, path: string, request: Request) =>
  base === undefined
    ? new Response("no upstream configured", { status: 503 })
    : fetch(new Request(`${base}${path}`, request));

app.post("/gateway/openai/v1/chat/completions", (c) =>
  forward(c.env.OPENAI_BASE_URL, "/chat/completions", c.req.raw),
);
app.post("/gateway/anthropic/v1/messages", (c) => forward(c.env.ANTHROPIC_BASE_URL, "/messages", c.req.raw));

export default app;
