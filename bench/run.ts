/**
 * `npm run bench` (SPEC §9): every figure a ratio to a floor measured in the same run under the same load
 * generator and concurrency. Floors (bench/baseline/, one Worker): a bare Hono `/healthz`, the DO floor (one
 * RPC to a SQLite Durable Object reading and upserting one row) spread over 256 customers and on one hot
 * object, the same floor behind a Workers RPC entrypoint, and a bare proxy for both gateway doors. Rows of the
 * product: `/healthz`, `/v1/consume` spread, on one hot customer and on one hot org (members' org-scoped
 * calls), `/v1/check`, Workers RPC consume (`TollgateRpc`, when src/index.ts exports it), the gateway's added
 * latency on both doors, memory, and the engine's decisions per second. Prints a table and writes
 * bench/results.json.
 *
 * Options: `--dev` (serve product and floors with `wrangler dev` instead of straight workerd), `--quick`
 * (short runs, to check the harness), `--connections N`, `--seconds S` (per round and route), `--rounds R`;
 * `--profile` runs bench/profile.ts (where the time of a consume and of the gateway goes) instead;
 * `--no-read-model` serves the product without its D1 database (no projection), to attribute what the read
 * model costs locally, where the simulated D1 shares the machine (not a configuration the goals are met in).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { args, numberOption } from "./lib/args";
import { GateClient, pool } from "./lib/client";
import { serveDev } from "./lib/dev";
import {
  type Door,
  type GatewayResult,
  gatewayAvailable,
  type Latencies,
  MOCK_ANTHROPIC,
  type MockUpstream,
  measureGateway,
  startMockUpstream,
} from "./lib/gateway";
import { type LoadResult, type LoadTarget, type Measured, mergeRounds, runLoad, summary } from "./lib/load";
import { type MemoryRun, measureMemory } from "./lib/memory";
import { BENCH_METERS, benchPolicy } from "./lib/policy";
import { bundleWorker, runtimeVersions, type ServedWorker, serveWorker, totalRssBytes } from "./lib/runtime";

const root = new URL("..", import.meta.url).pathname;
const quick = args.includes("--quick");
const dev = args.includes("--dev");
const readModel = !args.includes("--no-read-model");
if (dev && !readModel) throw new Error("--no-read-model serves workerd directly: not with --dev");
const CONNECTIONS = numberOption("--connections", 32);
// Short rounds, many of them, in alternating order: other work on a shared 2-core machine drifts over
// seconds, and interleaving spreads it over every route instead of one.
const SECONDS = numberOption("--seconds", quick ? 2 : 4);
const ROUNDS = numberOption("--rounds", quick ? 1 : 5);
const WARMUP_SECONDS = quick ? 1 : 3;
const CUSTOMERS = 256;
const MEMBERS = 256;
const HOT_CUSTOMER = "bench_hot";
const HOT_ORG = "bench_org";
const GATEWAY_REQUESTS = quick ? 50 : 300;
const STATE_EVENTS = quick ? 200 : 1000;
const RPC_ENTRYPOINT = "TollgateRpc";

const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number | null) => (bytes === null ? "n/a" : `${fmt(bytes / 2 ** 20, 1)} MiB`);
const round2 = (n: number) => Math.round(n * 100) / 100;
const signed = (n: number) => `${n >= 0 ? "+" : "−"}${fmt(Math.abs(n), 2)}`;

/** CPU pressure (PSI "some" over 60 s, in %) where the kernel reports it: how much runnable work waited. */
function cpuPressure(): number | null {
  if (!existsSync("/proc/pressure/cpu")) return null;
  const match = /some avg10=[\d.]+ avg60=([\d.]+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"));
  return match === null ? null : Number(match[1]);
}

/** Whether the product exports the Workers RPC entrypoint of SPEC §13.3 (a later part of the issue). */
function productHasRpc(): boolean {
  const index = readFileSync(join(root, "src/index.ts"), "utf8");
  return new RegExp(`export\\s*(?:class\\s+${RPC_ENTRYPOINT}\\b|\\{[^}]*\\b${RPC_ENTRYPOINT}\\b)`).test(
    index,
  );
}

/** `npm run bench:engine -- --json`, in its own process before any server starts. */
function runEngine(): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const tsx = join(root, "node_modules/tsx/dist/cli.mjs");
    const child = spawn(process.execPath, [tsx, "bench/engine.ts", "--json"], { cwd: root });
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    child.stderr.pipe(process.stderr);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`bench/engine.ts exited ${code}`));
      resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "{}"));
    });
  });
}

interface Seeded {
  version: string;
  customers: string[];
  members: string[];
  /** Customers on `granted`, each holding a grant that covers the run past their hard limit. */
  granted: string[];
}

/**
 * The policy; 256 `pro` customers; the hot customer; one org on `bench` with 256 members of no plan; 256
 * `granted` customers with a top-up each.
 */
async function seed(client: GateClient): Promise<Seeded> {
  const version = await client.putPolicy(benchPolicy());
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => `bench_c${String(i).padStart(4, "0")}`);
  await pool(customers, 8, (id) => client.putCustomer(id, { plan: "pro" }));
  await client.putCustomer(HOT_CUSTOMER, { plan: "pro" });
  await client.putCustomer(HOT_ORG, { type: "org", plan: "bench" });
  const members = Array.from({ length: MEMBERS }, (_, i) => `bench_m${String(i).padStart(4, "0")}`);
  await pool(members, 8, (id) => client.putCustomer(id, { org: HOT_ORG }));
  const granted = Array.from({ length: CUSTOMERS }, (_, i) => `bench_g${String(i).padStart(4, "0")}`);
  await pool(granted, 8, async (id) => {
    await client.putCustomer(id, { plan: "granted" });
    await client.expect("POST", `/v1/customers/${id}/topups`, { topup: "bench_grant" });
  });
  return { version, customers, members, granted };
}

/** Sum of `used` of `entitlement` over `customers`. */
async function totalUsed(client: GateClient, customers: string[], entitlement: string): Promise<number> {
  const views = await pool(customers, 8, (id) => client.getCustomer(id));
  return views.reduce((sum, view) => sum + (view.meters?.[entitlement]?.used ?? 0), 0);
}

/** A customer of the `bench` plan with ten meters and STATE_EVENTS events; answers the sizes. */
async function measureState(client: GateClient) {
  const id = "bench_state";
  await client.putCustomer(id, { plan: "bench" });
  const calls = Array.from({ length: STATE_EVENTS - 1 }, (_, i) => BENCH_METERS[i % BENCH_METERS.length]);
  await pool(calls, 4, (entitlement) =>
    client.expect("POST", "/v1/consume", { customer: id, entitlement, amount: 1 }),
  );
  const stateText = JSON.stringify(await client.getState(id));
  const { events, bytes } = await client.allEvents(id);
  const eventBytes = events.reduce((s: number, e: unknown) => s + Buffer.byteLength(JSON.stringify(e)), 0);
  const meters = Object.keys((JSON.parse(stateText) as { meters: object }).meters).length;
  return {
    customer: id,
    meters,
    events: events.length,
    stateBytes: Buffer.byteLength(stateText),
    eventsBytes: eventBytes,
    eventsPageBytes: bytes,
    bytesPerEvent: Math.round(eventBytes / Math.max(1, events.length)),
  };
}

/** A load target of the product whose 2xx answers must all be recorded on `entitlement` of `owners`. */
interface Counted {
  entitlement: string;
  owners: string[];
  answered: number;
  sent: number;
}

/** One SPEC §9 goal: a measured value, the floor it is measured against, and whether it is met. */
export interface Goal {
  id: string;
  measure: string;
  /** The floor of the same run the value is a ratio to (or a difference over). */
  floor: string;
  value: number | null;
  unit: "ratio" | "ms" | "decisions/s";
  goal: string;
  met: boolean | null;
  /** Why there is no value. */
  note?: string;
}

function goal(
  id: string,
  measure: string,
  floor: string,
  value: number | null,
  unit: Goal["unit"],
  cmp: ">=" | "<=",
  target: number,
  note?: string,
): Goal {
  const met = value === null ? null : cmp === ">=" ? value >= target : value <= target;
  return {
    id,
    measure,
    floor,
    value,
    unit,
    goal: `${cmp === ">=" ? "≥" : "≤"} ${unit === "decisions/s" ? fmt(target) : target}${unit === "ms" ? " ms" : ""}`,
    met,
    ...(note === undefined ? {} : { note }),
  };
}

async function main(): Promise<void> {
  if (args.includes("--profile")) {
    const { runProfile } = await import("./profile");
    return runProfile();
  }
  const startedAt = new Date();
  const loadStart = loadavg();
  const pressureStart = cpuPressure();
  const versions = runtimeVersions();
  const autocannonVersion = (
    JSON.parse(readFileSync(join(root, "node_modules/autocannon/package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  const hasRpc = productHasRpc();

  log("engine: bench/engine.ts --json ...");
  const engine = await runEngine();

  const gatewayCheck = gatewayAvailable();
  const upstream = gatewayCheck.ok ? await startMockUpstream() : null;
  const anthropicUpstream = gatewayCheck.ok ? await startMockUpstream(MOCK_ANTHROPIC) : null;
  const upstreamVars = {
    ...(upstream === null
      ? {}
      : { OPENAI_BASE_URL: `${upstream.url}/v1`, OPENAI_API_KEY: "sk-bench-upstream" }),
    ...(anthropicUpstream === null
      ? {}
      : { ANTHROPIC_BASE_URL: `${anthropicUpstream.url}/v1`, ANTHROPIC_API_KEY: "sk-bench-upstream" }),
  };
  const token = randomBytes(16).toString("hex");
  const productVars = {
    ADMIN_TOKEN: token,
    // The production default (10 s): the policy pointer is read from KV at most every 10 s per isolate.
    POLICY_CACHE_SECONDS: "10",
    ...upstreamVars,
  };
  const productConfig = join(root, "wrangler.toml");
  const floorConfig = join(root, "bench/baseline/wrangler.toml");

  const buildDir = mkdtempSync(join(tmpdir(), "tollgate-bench-build-"));
  let product: ServedWorker | null = null;
  let floor: ServedWorker | null = null;
  /** The bundles served (not under --dev): the memory row serves them again, fresh. */
  let bundles: { product: string; floor: string } | null = null;
  try {
    if (dev) {
      log("starting the product and the floors with wrangler dev ...");
      product = await serveDev({ name: "tollgate", configPath: productConfig, vars: productVars });
      floor = await serveDev({ name: "floor", configPath: floorConfig, vars: upstreamVars });
    } else {
      log("bundling the product and the floors with wrangler deploy --dry-run ...");
      const [productBundle, floorBundle] = await Promise.all([
        bundleWorker(productConfig, join(buildDir, "product")),
        bundleWorker(floorConfig, join(buildDir, "floor")),
      ]);
      bundles = { product: productBundle, floor: floorBundle };
      product = await serveWorker({
        name: "tollgate",
        configPath: productConfig,
        bundlePath: productBundle,
        vars: productVars,
        readModel,
        ...(hasRpc ? { rpcEntrypoint: RPC_ENTRYPOINT } : {}),
      });
      floor = await serveWorker({
        name: "floor",
        configPath: floorConfig,
        bundlePath: floorBundle,
        vars: upstreamVars,
        rpcEntrypoint: "FloorRpc",
      });
    }
    const sameRuntime =
      product.compatibility.date === floor.compatibility.date &&
      product.compatibility.flags.join() === floor.compatibility.flags.join();
    if (!sameRuntime) {
      throw new Error(
        `compatibility differs: product ${JSON.stringify(product.compatibility)}, floor ${JSON.stringify(floor.compatibility)}`,
      );
    }
    log(
      `product on ${product.url} (workerd pid ${product.pids}), floors on ${floor.url} (pid ${floor.pids})`,
    );

    const client = new GateClient(product.url, token);
    const floorClient = new GateClient(floor.url, token);
    const { customers, members, granted, version } = await seed(client);
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const bodies = (ids: string[], entitlement: string) =>
      ids.map((customer) => JSON.stringify({ customer, entitlement, amount: 1 }));
    const spread = bodies(customers, "gpt4o_tokens");
    const grantSpread = bodies(granted, "gpt4o_tokens");
    const hot = bodies([HOT_CUSTOMER], "gpt4o_tokens");
    const org = bodies(members, "org_tokens");
    const rpcSpread = bodies(customers, "gpt4o_mini_tokens");

    const counted = new Map<string, Counted>([
      ["consume", { entitlement: "gpt4o_tokens", owners: customers, answered: 0, sent: 0 }],
      ["consumeGrants", { entitlement: "gpt4o_tokens", owners: granted, answered: 0, sent: 0 }],
      ["consumeHot", { entitlement: "gpt4o_tokens", owners: [HOT_CUSTOMER], answered: 0, sent: 0 }],
      ["consumeOrg", { entitlement: "org_tokens", owners: [HOT_ORG], answered: 0, sent: 0 }],
      ["rpcConsume", { entitlement: "gpt4o_mini_tokens", owners: customers, answered: 0, sent: 0 }],
    ]);
    const count = (label: string, answered: number, sent: number) => {
      const c = counted.get(label);
      if (c === undefined) return;
      c.answered += answered;
      c.sent += sent;
    };

    // Touch every object once on both sides first: the first call creates a Durable Object's SQLite
    // database (product customers were created by the seed; their meter rows were not).
    const touch = async (label: string, path: string, list: string[], on: GateClient) => {
      await pool(list, 8, async (body) => {
        count(label, 1, 1);
        const answer = await on.expect("POST", path, body);
        if (path === "/v1/consume" && answer.allowed !== true) {
          throw new Error(`a seeded consume was not allowed: ${body} → ${JSON.stringify(answer)}`);
        }
      });
    };
    await touch("consume", "/v1/consume", spread, client);
    // The grants row's customers fill their limit of 1 here; every later consume draws its grant.
    await touch("consumeGrants", "/v1/consume", grantSpread, client);
    count("consumeGrants", 1, 1);
    const drawn = await client.expect("POST", "/v1/consume", grantSpread[0]);
    if (drawn.reason !== "grant_applied") {
      throw new Error(`a consume past the limit did not draw the grant: ${JSON.stringify(drawn)}`);
    }
    await touch("consumeHot", "/v1/consume", hot, client);
    await touch("consumeOrg", "/v1/consume", org, client);
    await touch("floor", "/baseline", spread, floorClient);
    await touch("floor", "/baseline", hot, floorClient);
    // The floor's workerd holds as many objects as the product's (SPEC §9 memory: the same load), so the RSS
    // ratio compares what each object and request costs, not how many objects each process happens to hold:
    // the grants row's customers and the org's members are objects of the product too.
    await touch("floorObjects", "/baseline", [...grantSpread, ...org], floorClient);
    const idleRss = totalRssBytes(product.pids);

    const post = (label: string, on: ServedWorker, url: URL, path: string, list: string[]): LoadTarget => ({
      label,
      url,
      method: "POST",
      path,
      headers,
      bodies: list,
      pids: on.pids,
    });
    const targets: LoadTarget[] = [
      { label: "healthzFloor", url: floor.url, method: "GET", path: "/healthz", pids: floor.pids },
      { label: "healthz", url: product.url, method: "GET", path: "/healthz", pids: product.pids },
      post("floor", floor, floor.url, "/baseline", spread),
      post("consume", product, product.url, "/v1/consume", spread),
      post("consumeGrants", product, product.url, "/v1/consume", grantSpread),
      post("floorHot", floor, floor.url, "/baseline", hot),
      post("consumeHot", product, product.url, "/v1/consume", hot),
      post("consumeOrg", product, product.url, "/v1/consume", org),
      post("check", product, product.url, "/v1/check", spread),
    ];
    if (floor.rpcUrl !== null) targets.push(post("rpcFloor", floor, floor.rpcUrl, "/rpc", rpcSpread));
    if (product.rpcUrl !== null) {
      targets.push(post("rpcConsume", product, product.rpcUrl, "/rpc", rpcSpread));
    }

    log(`warm-up: ${WARMUP_SECONDS} s per route at ${CONNECTIONS} connections ...`);
    for (const target of targets) {
      const warm = await runLoad(target, CONNECTIONS, WARMUP_SECONDS);
      count(target.label, warm.ok2xx, warm.sent);
    }
    const rounds = new Map<string, Measured[]>(targets.map((t) => [t.label, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order so slow drift in machine load does not favour one route.
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        log(`round ${round + 1}/${ROUNDS}: ${target.label} for ${SECONDS} s ...`);
        const measured = await runLoad(target, CONNECTIONS, SECONDS);
        if (measured.non2xx > 0 || measured.errors > 0) {
          throw new Error(`${target.label}: ${measured.non2xx} non-2xx answers, ${measured.errors} errors`);
        }
        count(target.label, measured.ok2xx, measured.sent);
        rounds.get(target.label)?.push(measured);
      }
    }
    // Every 2xx consume must have been recorded: the load measured real work, not errors or replays.
    const exactness: Record<string, { answered: number; sent: number; recorded: number }> = {};
    for (const [label, c] of counted) {
      if (!rounds.has(label)) continue;
      const recorded = await totalUsed(client, c.owners, c.entitlement);
      if (recorded < c.answered || recorded > c.sent) {
        throw new Error(
          `${label}: consumes answered 2xx: ${c.answered}, sent: ${c.sent}, recorded: ${recorded}`,
        );
      }
      exactness[label] = { answered: c.answered, sent: c.sent, recorded };
      log(`check ${label}: ${fmt(c.answered)} answered, ${fmt(c.sent)} sent, ${fmt(recorded)} recorded`);
    }

    const http = Object.fromEntries([...rounds].map(([label, list]) => [label, mergeRounds(list)]));
    const r = (label: string): Measured | null => http[label] ?? null;

    log(`memory: a customer with 10 meters and ${STATE_EVENTS} events ...`);
    const state = await measureState(client);

    const gatewayRow = async (
      mock: MockUpstream | null,
      door: Door,
    ): Promise<GatewayResult | { unavailable: string }> => {
      if (mock === null) return { unavailable: gatewayCheck.ok ? "" : gatewayCheck.why };
      log(`gateway (${door} door): direct, bare proxy floor and through the gate, rotating ...`);
      try {
        const apiKey = `sk-tg-bench-${randomBytes(6).toString("hex")}`;
        await client.putCustomer(`bench_gateway_${door}`, { plan: "bench", alternateIds: [apiKey] });
        const served = product as ServedWorker;
        const floorUrl = (floor as ServedWorker).url;
        return await measureGateway(
          mock.url,
          served.url,
          floorUrl,
          apiKey,
          GATEWAY_REQUESTS,
          quick ? 10 : 30,
          door,
        );
      } catch (error) {
        // A gateway that exists but fails is a finding, not a missing piece: say so and exit non-zero.
        process.exitCode = 1;
        return { unavailable: `failed: ${(error as Error).message}` };
      }
    };
    const gateway = await gatewayRow(upstream, "openai");
    const anthropicGateway = await gatewayRow(anthropicUpstream, "anthropic");

    // Memory (SPEC §9): the served pair has run every row by now and RSS only grows, so the goal compares a
    // fresh product and a fresh floor under the same spread consume load instead (bench/lib/memory.ts).
    const servedRpc = product.rpcUrl !== null;
    let memoryRun: MemoryRun | null = null;
    if (bundles !== null) {
      await Promise.allSettled([product.dispose(), floor.dispose()]);
      product = null;
      floor = null;
      log(`memory: a fresh product, then a fresh floor, each ${ROUNDS * SECONDS} s of consume load ...`);
      memoryRun = await measureMemory(
        { configPath: productConfig, bundlePath: bundles.product, vars: productVars, path: "/v1/consume" },
        { configPath: floorConfig, bundlePath: bundles.floor, vars: upstreamVars, path: "/baseline" },
        { customers, token, connections: CONNECTIONS, seconds: ROUNDS * SECONDS },
      );
    }

    const rps = (label: string) => r(label)?.rps ?? null;
    const div = (a: number | null, b: number | null) => (a === null || b === null ? null : round2(a / b));
    const rssOf = (label: string) => r(label)?.peakRssBytes ?? null;
    const e = engine as { decisionsPerSecond?: number };
    const goals: Goal[] = [
      goal(
        "engine",
        "engine decisions/s, one core",
        "(absolute)",
        e.decisionsPerSecond ?? null,
        "decisions/s",
        ">=",
        2_000_000,
      ),
      goal(
        "healthz",
        "`GET /healthz` req/s",
        "bare Hono `/healthz`",
        div(rps("healthz"), rps("healthzFloor")),
        "ratio",
        ">=",
        0.9,
      ),
      goal(
        "consumeSpread",
        "`/v1/consume` req/s, 256 customers",
        "DO floor, 256 objects",
        div(rps("consume"), rps("floor")),
        "ratio",
        ">=",
        0.9,
      ),
      goal(
        "consumeGrants",
        "`/v1/consume` req/s, 256 customers past a hard limit, each call drawing a grant",
        "`/v1/consume` without grants, same run",
        div(rps("consumeGrants"), rps("consume")),
        "ratio",
        ">=",
        0.95,
      ),
      goal(
        "consumeHot",
        "`/v1/consume` req/s, one hot customer",
        "DO floor, one hot object",
        div(rps("consumeHot"), rps("floorHot")),
        "ratio",
        ">=",
        0.85,
      ),
      goal(
        "consumeOrg",
        "`/v1/consume` req/s, one hot org (256 members, org-scoped)",
        "DO floor, one hot object",
        div(rps("consumeOrg"), rps("floorHot")),
        "ratio",
        ">=",
        0.45,
      ),
      goal(
        "check",
        "`/v1/check` req/s, 256 customers",
        "DO floor, 256 objects",
        div(rps("check"), rps("floor")),
        "ratio",
        ">=",
        1.5,
      ),
      goal(
        "rpcConsume",
        "Workers RPC consume req/s, 256 customers",
        "DO floor behind `FloorRpc`, same driver",
        div(rps("rpcConsume"), rps("rpcFloor")),
        "ratio",
        ">=",
        0.95,
        servedRpc
          ? undefined
          : hasRpc
            ? "n/a under --dev (wrangler dev serves one Worker per port)"
            : `n/a (no ${RPC_ENTRYPOINT} entrypoint)`,
      ),
    ];
    for (const [door, row] of [
      ["OpenAI", gateway],
      ["Anthropic", anthropicGateway],
    ] as const) {
      for (const [mode, pick] of [
        ["non-streaming", (g: GatewayResult) => g.nonStreaming],
        ["streaming, first byte", (g: GatewayResult) => g.streamingFirstByte],
      ] as const) {
        const l: Latencies | null = "unavailable" in row ? null : pick(row);
        const note = "unavailable" in row ? `n/a (${row.unavailable})` : undefined;
        const id = `gateway${door}${mode === "non-streaming" ? "" : "Ttfb"}`;
        goals.push(
          goal(
            `${id}P50`,
            `${door} door added p50, ${mode}`,
            "bare proxy floor",
            l?.addedP50Ms ?? null,
            "ms",
            "<=",
            1,
            note,
          ),
          goal(
            `${id}P99`,
            `${door} door added p99, ${mode}`,
            "bare proxy floor",
            l?.addedP99Ms ?? null,
            "ms",
            "<=",
            5,
            note,
          ),
        );
      }
    }
    goals.push(
      goal(
        "rss",
        memoryRun === null
          ? "workerd RSS under consume load (peak, 256 customers; after every row)"
          : "workerd RSS under consume load (peak, 256 customers, a fresh workerd each)",
        "DO floor's workerd under the same load",
        memoryRun === null
          ? div(rssOf("consume"), rssOf("floor"))
          : div(memoryRun.product.peakRssBytes, memoryRun.floor.peakRssBytes),
        "ratio",
        "<=",
        1.1,
      ),
    );

    const loadEnd = loadavg();
    const results = {
      startedAt: startedAt.toISOString(),
      mode: dev ? "wrangler dev" : "workerd",
      readModel,
      machine: {
        cores: availableParallelism(),
        cpu: cpus()[0]?.model ?? "unknown",
        node: process.version,
        loadAverageStart: loadStart.map((v) => round2(v)),
        loadAverageEnd: loadEnd.map((v) => round2(v)),
        cpuPressureSome60sStart: pressureStart,
        cpuPressureSome60sEnd: cpuPressure(),
      },
      runtime: {
        ...versions,
        how: dev
          ? "`wrangler dev` for the product and for the floors (one session each, free ports, its own persistence " +
            "dir, configs copied to a temp dir so .dev.vars stays out), requests to wrangler dev's port"
          : "workerd through the Miniflare API of wrangler's own miniflare, bindings from each Worker's wrangler config, " +
            "bundles from `wrangler deploy --dry-run`, Durable Objects and KV persisted to a temp dir, " +
            "requests straight to workerd's socket (no wrangler dev proxy), product and floors set up identically; " +
            "the RPC driver Worker runs in the target's workerd on its own socket",
        policyCacheSeconds: 10,
      },
      load: {
        generator: `autocannon ${autocannonVersion}`,
        connections: CONNECTIONS,
        warmupSeconds: WARMUP_SECONDS,
        rounds: ROUNDS,
        secondsPerRound: SECONDS,
        customers: CUSTOMERS,
        orgMembers: MEMBERS,
        policyVersion: version,
      },
      floors: {
        healthzFloor: "bare Hono app answering the product's /healthz JSON (bench/baseline/worker.ts)",
        floor:
          "DO floor: Hono route, one RPC to a SQLite DO per customer, read + upsert one row; 256 customers",
        floorHot:
          "the DO floor with every request on one object: the denominator of the hot-customer and hot-org ratios",
        rpcFloor:
          "the DO floor as `FloorRpc` (WorkerEntrypoint), called by the same driver Worker through a service binding",
        bareProxy:
          "one `fetch` of the request to the door's mock upstream, no metering, same path as the door",
      },
      goals,
      engine,
      http: Object.fromEntries(Object.entries(http).map(([k, v]) => [k, summary(v)])),
      exactness,
      gateway,
      anthropicGateway,
      memory: {
        state,
        workerRssIdleBytes: idleRss,
        workerRssPeakUnderConsumeBytes: rssOf("consume"),
        floorRssPeakUnderFloorBytes: rssOf("floor"),
        fresh: memoryRun,
      },
    };
    writeFileSync(join(root, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
    console.log(renderTable(results));
    log("wrote bench/results.json");
  } finally {
    await Promise.allSettled([product?.dispose(), floor?.dispose()]);
    upstream?.stop();
    anthropicUpstream?.stop();
    rmSync(buildDir, { recursive: true, force: true });
  }
}

interface Results {
  mode: string;
  /** False under `--no-read-model`: the product served without its D1 database. */
  readModel: boolean;
  machine: {
    cores: number;
    cpu: string;
    node: string;
    loadAverageStart: number[];
    loadAverageEnd: number[];
    cpuPressureSome60sStart: number | null;
    cpuPressureSome60sEnd: number | null;
  };
  runtime: { wrangler: string; miniflare: string; workerd: string };
  load: {
    generator: string;
    connections: number;
    warmupSeconds: number;
    rounds: number;
    secondsPerRound: number;
  };
  goals: Goal[];
  http: Record<string, LoadResult>;
  gateway: GatewayResult | { unavailable: string };
  anthropicGateway: GatewayResult | { unavailable: string };
  memory: {
    state: { meters: number; events: number; stateBytes: number; eventsBytes: number; bytesPerEvent: number };
    workerRssIdleBytes: number;
    workerRssPeakUnderConsumeBytes: number | null;
    floorRssPeakUnderFloorBytes: number | null;
    /** The goal's figures: product and floor each in a fresh workerd under the same load (null under --dev). */
    fresh: MemoryRun | null;
  };
}

const ROUTES: [string, string][] = [
  ["healthzFloor", "floor: bare Hono `GET /healthz`"],
  ["healthz", "`GET /healthz`"],
  ["floor", "floor: one RPC to a SQLite DO, read + upsert one row (256 customers)"],
  ["consume", "`POST /v1/consume` (256 customers)"],
  ["consumeGrants", "`POST /v1/consume` past a hard limit, grants covering (256 customers)"],
  ["check", "`POST /v1/check` (256 customers)"],
  ["floorHot", "floor: the same, one hot object"],
  ["consumeHot", "`POST /v1/consume`, one hot customer"],
  ["consumeOrg", "`POST /v1/consume`, one hot org (256 members → org)"],
  ["rpcFloor", "floor: the DO floor through a service binding (`FloorRpc`)"],
  ["rpcConsume", "Workers RPC consume (`TollgateRpc`)"],
];

function renderTable(res: Results): string {
  const m = res.machine;
  const lines: string[] = [];
  lines.push(
    `Machine: ${m.cores} cores (${m.cpu}), Node ${m.node}, load average ${m.loadAverageStart.join(" ")} at start, ${m.loadAverageEnd.join(" ")} at end` +
      (m.cpuPressureSome60sEnd === null
        ? ""
        : ` (CPU pressure ${m.cpuPressureSome60sStart}% → ${m.cpuPressureSome60sEnd}% of time with work waiting)`),
  );
  lines.push(
    `Runtime: workerd ${res.runtime.workerd} via Miniflare ${res.runtime.miniflare} (wrangler ${res.runtime.wrangler}), ` +
      (res.mode === "wrangler dev"
        ? "served by `wrangler dev` (one session for the product, one for the floors), requests to its port"
        : "requests straight to workerd's socket (no wrangler dev proxy); product and floors bundled by " +
          "`wrangler deploy --dry-run`, SQLite Durable Objects persisted to disk, set up identically") +
      (res.readModel
        ? ""
        : "; **the product without its D1 read model** (`--no-read-model`, attribution only)"),
  );
  lines.push(
    `Load: ${res.load.generator}, ${res.load.connections} connections, ${res.load.warmupSeconds} s warm-up, ` +
      `${res.load.rounds} × ${res.load.secondsPerRound} s per route (interleaved); gateway: one request at a time`,
  );
  lines.push("");
  lines.push("| route | req/s | p50 ms | p99 ms | workerd CPU µs/req |");
  lines.push("|---|--:|--:|--:|--:|");
  for (const [label, name] of ROUTES) {
    const x = res.http[label];
    if (x === undefined) {
      lines.push(`| ${name} | n/a | | | |`);
      continue;
    }
    lines.push(
      `| ${name} | ${fmt(x.rps)} | ${fmt(x.p50Ms, 1)} | ${fmt(x.p99Ms, 1)} | ${fmt(x.workerCpuUsPerRequest)} |`,
    );
  }
  lines.push("");
  lines.push("| SPEC §9 | against (same run) | value | goal | met |");
  lines.push("|---|---|--:|--:|:-:|");
  for (const g of res.goals) {
    const value =
      g.value === null
        ? (g.note ?? "n/a")
        : g.unit === "ratio"
          ? fmt(g.value, 2)
          : g.unit === "ms"
            ? `${signed(g.value)} ms`
            : fmt(g.value);
    lines.push(
      `| ${g.measure} | ${g.floor} | ${value} | ${g.goal} | ${g.met === null ? "–" : g.met ? "yes" : "**no**"} |`,
    );
  }
  lines.push("");
  lines.push("| measure | result |");
  lines.push("|---|---|");
  const ms = (l: Latencies, p: "P50" | "P99") =>
    `${fmt(l[`direct${p}Ms`], 2)} / ${fmt(l[`floor${p}Ms`], 2)} / ${fmt(l[`gateway${p}Ms`], 2)}`;
  for (const [label, row] of [
    ["OpenAI door", res.gateway],
    ["Anthropic door", res.anthropicGateway],
  ] as const) {
    if ("unavailable" in row) {
      lines.push(`| ${label} | not available (${row.unavailable}) |`);
      continue;
    }
    for (const [mode, l] of [
      ["non-streaming", row.nonStreaming],
      ["streaming, first byte", row.streamingFirstByte],
    ] as const) {
      lines.push(
        `| ${label}, ${mode}: direct / bare proxy floor / gateway, ms | p50 ${ms(l, "P50")}; p99 ${ms(l, "P99")} (gateway over direct: ${signed(l.addedOverDirectP50Ms)} / ${signed(l.addedOverDirectP99Ms)}) |`,
      );
    }
  }
  const s = res.memory.state;
  lines.push(
    `| serialised state, ${s.meters} meters | ${fmt(s.stateBytes)} B (\`GET …/state\`); ${fmt(s.events)} events ${fmt(s.eventsBytes)} B, ${fmt(s.bytesPerEvent)} B each (\`GET …/events\`) |`,
  );
  lines.push(
    `| workerd RSS, after every row | product ${mb(res.memory.workerRssIdleBytes)} idle, ${mb(res.memory.workerRssPeakUnderConsumeBytes)} peak under consume load; floor ${mb(res.memory.floorRssPeakUnderFloorBytes)} under its own |`,
  );
  const fresh = res.memory.fresh;
  if (fresh !== null) {
    lines.push(
      `| workerd RSS, fresh (the goal's) | ${fresh.seconds} s of consume on ${fresh.customers} customers each: product ${mb(fresh.product.idleRssBytes)} seeded, ${mb(fresh.product.peakRssBytes)} peak (${fmt(fresh.product.requests)} consumes); floor ${mb(fresh.floor.idleRssBytes)} idle, ${mb(fresh.floor.peakRssBytes)} peak (${fmt(fresh.floor.requests)}) |`,
    );
  }
  lines.push("");
  const measured = res.goals.filter((g) => g.met !== null);
  const missed = measured.filter((g) => g.met === false);
  lines.push(
    `Goals met: ${measured.length - missed.length} of ${measured.length} measured` +
      (res.goals.length > measured.length ? ` (${res.goals.length - measured.length} n/a)` : "") +
      (missed.length === 0
        ? "."
        : `; not met: ${missed.map((g) => g.id).join(", ")}. \`npm run bench -- --profile\` shows where the time goes.`),
  );
  return lines.join("\n");
}

await main();
