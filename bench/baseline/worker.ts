/**
 * The §9 baseline Worker (bench only): `POST /baseline` with the same body as `/v1/consume` routes on the
 * customer to one SQLite Durable Object per customer, which reads the entitlement's row and upserts it.
 * Hono routes it, as in the product, so the comparison isolates what Tollgate does beyond that.
 */
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";

interface BaselineEnv {
  COUNTERS: DurableObjectNamespace<CounterObject>;
}

/** One customer's counters: a table of (name, used). */
export class CounterObject extends DurableObject<BaselineEnv> {
  constructor(ctx: DurableObjectState, env: BaselineEnv) {
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

const app = new Hono<{ Bindings: BaselineEnv }>();

app.post("/baseline", async (c) => {
  const body = await c.req.json<{ customer: string; entitlement: string; amount?: number }>();
  const stub = c.env.COUNTERS.get(c.env.COUNTERS.idFromName(body.customer));
  return c.json(await stub.add(body.entitlement, body.amount ?? 1));
});

export default app;
