/**
 * The memory comparison of SPEC §9 ("workerd RSS under consume load ≤ 1.1× the DO floor's under the same
 * load"): the product and the floor each in a fresh workerd, one after the other, under the same spread consume
 * load (the same customers, connections and seconds), peak RSS sampled during it. A fresh process per side keeps
 * the other rows out: RSS only grows, so a workerd that served `/v1/check`, the org and the grants rows before
 * its consume row carries their memory into it, where the floor's served fewer rows.
 */
import { GateClient, pool } from "./client";
import { freePort } from "./gateway";
import { type Measured, runLoad } from "./load";
import { benchPolicy } from "./policy";
import { type ServedWorker, serveWorker, totalRssBytes } from "./runtime";

export interface MemorySide {
  /** `wrangler.toml` of the side and its bundle (`bundleWorker`). */
  configPath: string;
  bundlePath: string;
  vars: Record<string, string>;
  /** The consume route: `/v1/consume` (seeded first) or the floor's `/baseline`. */
  path: string;
}

export interface FreshLoad {
  served: ServedWorker;
  /** The inspector port (`BENCH_INSPECTOR_PORT`) when asked for. */
  inspectorPort: number | null;
  idleRssBytes: number;
  measured: Measured;
}

/**
 * Serve one side in a fresh workerd, create its `customers` (the product's seeded on plan `pro`, the floor's
 * objects by one consume each), and run `seconds` of consume load spread over them. The caller disposes `served`.
 */
export async function freshUnderLoad(
  name: string,
  side: MemorySide,
  options: { customers: string[]; token: string; connections: number; seconds: number; inspector?: boolean },
): Promise<FreshLoad> {
  const inspectorPort = options.inspector ? await freePort() : null;
  if (inspectorPort !== null) process.env.BENCH_INSPECTOR_PORT = String(inspectorPort);
  let served: ServedWorker;
  try {
    served = await serveWorker({
      name,
      configPath: side.configPath,
      bundlePath: side.bundlePath,
      vars: side.vars,
    });
  } finally {
    delete process.env.BENCH_INSPECTOR_PORT;
  }
  try {
    // Both sides hold their customers' objects before the load: the product's are created by seeding, the
    // floor's by one consume each (as the main run touches them).
    const client = new GateClient(served.url, options.token);
    const body = (customer: string) => ({ customer, entitlement: "gpt4o_tokens", amount: 1 });
    if (side.path === "/v1/consume") {
      await client.putPolicy(benchPolicy());
      await pool(options.customers, 8, (id) => client.putCustomer(id, { plan: "pro" }));
    } else {
      await pool(options.customers, 8, (id) => client.expect("POST", side.path, body(id)));
    }
    const idleRssBytes = totalRssBytes(served.pids);
    const measured = await runLoad(
      {
        label: name,
        url: served.url,
        method: "POST",
        path: side.path,
        headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
        bodies: options.customers.map((customer) => JSON.stringify(body(customer))),
        pids: served.pids,
      },
      options.connections,
      options.seconds,
    );
    if (measured.non2xx > 0 || measured.errors > 0) {
      throw new Error(`${name}: ${measured.non2xx} non-2xx answers, ${measured.errors} errors`);
    }
    return { served, inspectorPort, idleRssBytes, measured };
  } catch (error) {
    await served.dispose();
    throw error;
  }
}

export interface MemoryRun {
  seconds: number;
  customers: number;
  product: { idleRssBytes: number; peakRssBytes: number | null; requests: number };
  floor: { idleRssBytes: number; peakRssBytes: number | null; requests: number };
}

/** The product, then the floor, each fresh under the same load; their peak RSS. */
export async function measureMemory(
  product: MemorySide,
  floor: MemorySide,
  options: { customers: string[]; token: string; connections: number; seconds: number },
): Promise<MemoryRun> {
  const sides: MemoryRun["product"][] = [];
  for (const [name, side] of [
    ["tollgate", product],
    ["floor", floor],
  ] as const) {
    const run = await freshUnderLoad(name, side, options);
    await run.served.dispose();
    sides.push({
      idleRssBytes: run.idleRssBytes,
      peakRssBytes: run.measured.peakRssBytes,
      requests: run.measured.requests,
    });
  }
  const [productSide, floorSide] = sides as [MemoryRun["product"], MemoryRun["floor"]];
  return {
    seconds: options.seconds,
    customers: options.customers.length,
    product: productSide,
    floor: floorSide,
  };
}
