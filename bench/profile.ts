/**
 * `npm run bench -- --profile`: where the time of `/v1/consume` and of the gateway goes, by differential
 * measurement (workerd has no CPU profiler to attach here). One workerd serves the profiling Worker
 * (bench/profile/worker.ts): route variants that stop after each step of a consume, the product, and the
 * baseline. Part A loads each route like the bench does and reads workerd's CPU time per request from /proc;
 * part B times single requests one at a time (latency, not throughput), with Durable Object storage on disk
 * and in memory, to separate the cost of committing a write from the cost of the code. Prints its tables
 * (and, with `--json`, the raw numbers); bench/results.json is left to the main run.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { GateClient, pool } from "./lib/client";
import { gatewayAvailable, startMockUpstream } from "./lib/gateway";
import { type LoadTarget, type Measured, mergeRounds, percentile, runLoad, summary } from "./lib/load";
import { benchPolicy } from "./lib/policy";
import { bundleWorker, type ServedWorker, serveWorker } from "./lib/runtime";

const root = new URL("..", import.meta.url).pathname;
const CONNECTIONS = 32;
const ROUNDS = 4;
const SECONDS = 4;
const CUSTOMERS = 256;
const SEQUENTIAL = 300;

const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

interface Served {
  worker: ServedWorker;
  client: GateClient;
  token: string;
  customers: string[];
}

async function serve(
  bundlePath: string,
  storage: "disk" | "memory",
  upstream: string | null,
): Promise<Served> {
  const token = randomBytes(16).toString("hex");
  const worker = await serveWorker({
    name: `profile-${storage}`,
    configPath: join(root, "bench/profile/wrangler.toml"),
    bundlePath,
    storage,
    vars: {
      ADMIN_TOKEN: token,
      POLICY_CACHE_SECONDS: "10",
      OPENAI_BASE_URL: upstream === null ? "http://127.0.0.1:9/v1" : `${upstream}/v1`,
      OPENAI_API_KEY: "sk-bench-upstream",
    },
  });
  const client = new GateClient(worker.url, token);
  await client.putPolicy(benchPolicy());
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => `prof_c${String(i).padStart(4, "0")}`);
  await pool(customers, 8, (id) => client.putCustomer(id, { plan: "pro", alternateIds: [`alt_${id}`] }));
  await client.putCustomer("prof_gateway", { plan: "bench", alternateIds: ["sk-prof-gateway"] });
  return { worker, client, token, customers };
}

/** Part A: each route under the bench's load, interleaved; throughput and workerd CPU per request. */
async function partA(s: Served): Promise<Measured[]> {
  const headers = { authorization: `Bearer ${s.token}`, "content-type": "application/json" };
  const bodies = s.customers.map((customer) =>
    JSON.stringify({ customer, entitlement: "gpt4o_tokens", amount: 1 }),
  );
  const byAlt = s.customers.map((customer) =>
    JSON.stringify({ customer: `alt_${customer}`, entitlement: "gpt4o_tokens", amount: 1 }),
  );
  const post = (label: string, path: string, b = bodies): LoadTarget => ({
    label,
    url: s.worker.url,
    method: "POST",
    path,
    headers,
    bodies: b,
    pids: s.worker.pids,
  });
  const targets: LoadTarget[] = [
    { label: "healthz", url: s.worker.url, method: "GET", path: "/healthz", pids: s.worker.pids },
    post("echo", "/p/echo"),
    post("parse", "/p/parse"),
    post("auth", "/p/auth"),
    post("log", "/p/log"),
    post("policy", "/p/policy"),
    post("rpc", "/p/rpc"),
    post("check", "/v1/check"),
    post("consume", "/v1/consume"),
    post("consume-by-alternate-id", "/v1/consume", byAlt),
    post("baseline", "/baseline"),
  ];
  // Every object exists and every meter row is written before anything is timed.
  await pool(bodies, 8, (b) => s.client.expect("POST", "/v1/consume", b));
  await pool(byAlt, 8, (b) => s.client.expect("POST", "/v1/consume", b));
  await pool(bodies, 8, (b) => s.client.expect("POST", "/baseline", b));
  for (const t of targets) await runLoad(t, CONNECTIONS, 2);
  const rounds = new Map<string, Measured[]>(targets.map((t) => [t.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      log(`profile A, round ${round + 1}/${ROUNDS}: ${t.label}`);
      // A pause lets background work of the previous route (WAL writes, GC) finish outside this one's window.
      await new Promise((r) => setTimeout(r, 500));
      const m = await runLoad(t, CONNECTIONS, SECONDS);
      if (m.non2xx > 0 || m.errors > 0)
        throw new Error(`${t.label}: ${m.non2xx} non-2xx, ${m.errors} errors`);
      rounds.get(t.label)?.push(m);
    }
  }
  return targets.map((t) => mergeRounds(rounds.get(t.label) ?? []));
}

interface Step {
  label: string;
  run: (i: number) => Promise<number>;
}

/** Time one request to the end of its body, in ms. */
async function timeOne(url: URL | string, init: RequestInit): Promise<{ ms: number; json: unknown }> {
  const start = process.hrtime.bigint();
  const res = await fetch(url, init);
  const text = await res.text();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (!res.ok) throw new Error(`${url}: ${res.status} ${text.slice(0, 200)}`);
  return { ms, json: text.startsWith("{") ? JSON.parse(text) : null };
}

/** Part B: single requests, one at a time, each step in turn per iteration; p50 and p99 of each. */
async function partB(s: Served, upstream: string | null) {
  const headers = { authorization: `Bearer ${s.token}`, "content-type": "application/json" };
  const at = (path: string) => new URL(path, s.worker.url);
  // A few customers in turn: each object stays warm (an idle object is evicted after some seconds, and then
  // its next call pays for loading it; that is not what this part measures).
  const customerOf = (i: number) => s.customers[i % 4] as string;
  const body = (i: number, extra: object = {}) =>
    JSON.stringify({
      customer: customerOf(i),
      entitlement: "gpt4o_tokens",
      amount: 1,
      ...extra,
    });
  const chat = JSON.stringify({
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "Say hello in five words." }],
    max_tokens: 16,
  });
  const steps: Step[] = [
    { label: "GET /healthz", run: async () => (await timeOne(at("/healthz"), {})).ms },
    {
      label: "/p/rpc (auth, parse, log, policy, one RPC)",
      run: async (i) => (await timeOne(at("/p/rpc"), { method: "POST", headers, body: body(i) })).ms,
    },
    {
      label: "/v1/check",
      run: async (i) => (await timeOne(at("/v1/check"), { method: "POST", headers, body: body(i) })).ms,
    },
    {
      label: "/v1/consume",
      run: async (i) => (await timeOne(at("/v1/consume"), { method: "POST", headers, body: body(i) })).ms,
    },
    {
      label: "baseline",
      run: async (i) => (await timeOne(at("/baseline"), { method: "POST", headers, body: body(i) })).ms,
    },
    {
      label: "/v1/reserve + /v1/settle",
      run: async (i) => {
        const r = await timeOne(at("/v1/reserve"), { method: "POST", headers, body: body(i, { amount: 5 }) });
        const holdId = (r.json as { holdId: string }).holdId;
        const settle = JSON.stringify({ customer: customerOf(i), holdId, amount: 3 });
        return r.ms + (await timeOne(at("/v1/settle"), { method: "POST", headers, body: settle })).ms;
      },
    },
  ];
  if (upstream !== null) {
    const upstreamHeaders = { authorization: "Bearer sk-bench-upstream", "content-type": "application/json" };
    const gatewayHeaders = { authorization: "Bearer sk-prof-gateway", "content-type": "application/json" };
    steps.push(
      {
        label: "upstream directly",
        run: async () =>
          (
            await timeOne(`${upstream}/v1/chat/completions`, {
              method: "POST",
              headers: upstreamHeaders,
              body: chat,
            })
          ).ms,
      },
      {
        label: "upstream through a bare Worker fetch",
        run: async () =>
          (
            await timeOne(at("/p/fetch/chat/completions"), {
              method: "POST",
              headers: upstreamHeaders,
              body: chat,
            })
          ).ms,
      },
      {
        label: "upstream through the gateway",
        run: async () =>
          (
            await timeOne(at("/gateway/openai/v1/chat/completions"), {
              method: "POST",
              headers: gatewayHeaders,
              body: chat,
            })
          ).ms,
      },
    );
  }
  const times = new Map<string, number[]>(steps.map((st) => [st.label, []]));
  for (let i = 0; i < SEQUENTIAL + 20; i++) {
    for (const st of i % 2 === 0 ? steps : [...steps].reverse()) {
      const ms = await st.run(i);
      if (i >= 20) times.get(st.label)?.push(ms);
    }
  }
  return steps.map((st) => {
    const sorted = (times.get(st.label) ?? []).sort((a, b) => a - b);
    return { label: st.label, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
  });
}

/** Run the profile and print its tables. */
export async function runProfile(): Promise<void> {
  const startLoad = loadavg();
  const buildDir = mkdtempSync(join(tmpdir(), "tollgate-profile-build-"));
  const bundle = await bundleWorker(join(root, "bench/profile/wrangler.toml"), join(buildDir, "profile"));
  const upstream = gatewayAvailable().ok ? await startMockUpstream() : null;
  const out: string[] = [];
  const results: Record<string, unknown> = {};
  try {
    const disk = await serve(bundle, "disk", upstream?.url ?? null);
    let a: Measured[];
    let bDisk: Awaited<ReturnType<typeof partB>>;
    try {
      a = await partA(disk);
      log("profile B (disk): one request at a time ...");
      bDisk = await partB(disk, upstream?.url ?? null);
    } finally {
      await disk.worker.dispose();
    }
    const memory = await serve(bundle, "memory", upstream?.url ?? null);
    let bMemory: Awaited<ReturnType<typeof partB>>;
    try {
      log("profile B (memory): one request at a time ...");
      bMemory = await partB(memory, upstream?.url ?? null);
    } finally {
      await memory.worker.dispose();
    }

    out.push(
      `Profile: ${availableParallelism()} cores, load average ${startLoad.map((v) => v.toFixed(2)).join(" ")} at start, ${loadavg()
        .map((v) => v.toFixed(2))
        .join(" ")} at end`,
    );
    out.push("");
    out.push(
      `A. Under load (${CONNECTIONS} connections, ${ROUNDS} × ${SECONDS} s per route, interleaved; one workerd)`,
    );
    out.push("");
    out.push("| route | adds | req/s | p50 ms | workerd CPU µs/req | Δ CPU µs |");
    out.push("|---|---|--:|--:|--:|--:|");
    const adds: Record<string, string> = {
      healthz: "the product's no-op route",
      echo: "Hono, read a POST body",
      parse: "+ byte-capped read, JSON.parse, zod",
      auth: "+ bearer check (2 × SHA-256)",
      log: "+ request id, one JSON log line",
      policy: "+ active policy (cached KV pointer)",
      rpc: "+ one DO RPC (`exists()`)",
      check: "+ routing, engine, decision (product `/v1/check`)",
      consume: "+ SQLite transaction: meter, event (product `/v1/consume`)",
      "consume-by-alternate-id": "consume, customer named by alternate ID",
      baseline: "§9 baseline: Hono, JSON.parse, RPC, read + upsert",
    };
    let previous: number | null = null;
    for (const m of a) {
      const delta =
        previous === null ||
        m.label === "baseline" ||
        m.label === "consume-by-alternate-id" ||
        m.label === "healthz"
          ? ""
          : fmt(m.workerCpuUsPerRequest - previous);
      out.push(
        `| ${m.label} | ${adds[m.label] ?? ""} | ${fmt(m.rps)} | ${fmt(m.p50Ms, 1)} | ${fmt(m.workerCpuUsPerRequest)} | ${delta} |`,
      );
      if (m.label !== "healthz" && m.label !== "consume-by-alternate-id" && m.label !== "baseline")
        previous = m.workerCpuUsPerRequest;
    }
    out.push("");
    out.push(`B. One request at a time (${SEQUENTIAL} of each, p50 / p99 ms), storage on disk vs in memory`);
    out.push("");
    out.push("| request | disk p50 | disk p99 | memory p50 | memory p99 |");
    out.push("|---|--:|--:|--:|--:|");
    for (const row of bDisk) {
      const mem = bMemory.find((r) => r.label === row.label);
      out.push(
        `| ${row.label} | ${fmt(row.p50Ms, 2)} | ${fmt(row.p99Ms, 2)} | ${fmt(mem?.p50Ms ?? Number.NaN, 2)} | ${fmt(mem?.p99Ms ?? Number.NaN, 2)} |`,
      );
    }
    results.underLoad = a.map(summary);
    results.oneAtATime = { disk: bDisk, memory: bMemory };
    results.loadAverage = { start: startLoad, end: loadavg() };
  } finally {
    upstream?.stop();
    rmSync(buildDir, { recursive: true, force: true });
  }
  console.log(out.join("\n"));
  if (process.argv.includes("--json")) console.log(JSON.stringify(results));
}
