/**
 * `npm run bench` (SPEC §9): the engine's decisions per second, `/v1/consume` and `/v1/check` against the
 * no-op `/healthz` and the baseline Worker under one load generator, the gateway's added latency, and memory.
 * Prints a table and writes bench/results.json. Options: `--quick` (short runs, to check the harness),
 * `--connections N`, `--seconds S` (per round and route), `--rounds R`; `--profile` runs bench/profile.ts
 * (where the time of a consume and of the gateway goes) instead.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { GateClient, pool } from "./lib/client";
import {
  type Door,
  type GatewayResult,
  gatewayAvailable,
  MOCK_ANTHROPIC,
  measureGateway,
  startMockUpstream,
} from "./lib/gateway";
import { type LoadTarget, type Measured, mergeRounds, runLoad, summary } from "./lib/load";
import { BENCH_METERS, benchPolicy } from "./lib/policy";
import { bundleWorker, rssBytes, runtimeVersions, type ServedWorker, serveWorker } from "./lib/runtime";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const CONNECTIONS = option("--connections", 32);
// Short rounds, many of them, in alternating order: other work on a shared 2-core machine drifts over
// seconds, and interleaving spreads it over every route instead of one.
const SECONDS = option("--seconds", quick ? 2 : 4);
const ROUNDS = option("--rounds", quick ? 1 : 5);
const WARMUP_SECONDS = quick ? 1 : 3;
const CUSTOMERS = 256;
const GATEWAY_REQUESTS = quick ? 50 : 300;
const STATE_EVENTS = 1000;

const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number | null) => (bytes === null ? "n/a" : `${fmt(bytes / 2 ** 20, 1)} MiB`);
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

/** CPU pressure (PSI "some" over 60 s, in %) where the kernel reports it: how much runnable work waited. */
function cpuPressure(): number | null {
  if (!existsSync("/proc/pressure/cpu")) return null;
  const match = /some avg10=[\d.]+ avg60=([\d.]+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"));
  return match === null ? null : Number(match[1]);
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

async function seed(client: GateClient): Promise<{ customers: string[]; version: string }> {
  const version = await client.putPolicy(benchPolicy());
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => `bench_c${String(i).padStart(4, "0")}`);
  await pool(customers, 8, (id) => client.putCustomer(id, { plan: "pro" }));
  return { customers, version };
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

async function measureGatewayRow(
  product: ServedWorker,
  client: GateClient,
  upstream: string,
  door: Door,
): Promise<GatewayResult> {
  const apiKey = `sk-tg-bench-${randomBytes(6).toString("hex")}`;
  await client.putCustomer(`bench_gateway_${door}`, { plan: "bench", alternateIds: [apiKey] });
  return measureGateway(upstream, product.url, apiKey, GATEWAY_REQUESTS, quick ? 10 : 30, door);
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

  log("engine: bench/engine.ts --json ...");
  const engine = await runEngine();

  log("bundling the product and the baseline with wrangler deploy --dry-run ...");
  const buildDir = mkdtempSync(join(tmpdir(), "tollgate-bench-build-"));
  const [productBundle, baselineBundle] = await Promise.all([
    bundleWorker(join(root, "wrangler.toml"), join(buildDir, "product")),
    bundleWorker(join(root, "bench/baseline/wrangler.toml"), join(buildDir, "baseline")),
  ]);

  const gatewayCheck = gatewayAvailable();
  const upstream = gatewayCheck.ok ? await startMockUpstream() : null;
  const anthropicUpstream = gatewayCheck.ok ? await startMockUpstream(MOCK_ANTHROPIC) : null;
  const token = randomBytes(16).toString("hex");
  const product = await serveWorker({
    name: "tollgate",
    configPath: join(root, "wrangler.toml"),
    bundlePath: productBundle,
    vars: {
      ADMIN_TOKEN: token,
      // The production default (10 s): the policy pointer is read from KV at most every 10 s per isolate.
      POLICY_CACHE_SECONDS: "10",
      ...(upstream === null
        ? {}
        : { OPENAI_BASE_URL: `${upstream.url}/v1`, OPENAI_API_KEY: "sk-bench-upstream" }),
      ...(anthropicUpstream === null
        ? {}
        : { ANTHROPIC_BASE_URL: `${anthropicUpstream.url}/v1`, ANTHROPIC_API_KEY: "sk-bench-upstream" }),
    },
  });
  const baseline = await serveWorker({
    name: "baseline",
    configPath: join(root, "bench/baseline/wrangler.toml"),
    bundlePath: baselineBundle,
  });
  try {
    const sameRuntime =
      product.compatibility.date === baseline.compatibility.date &&
      product.compatibility.flags.join() === baseline.compatibility.flags.join();
    if (!sameRuntime) {
      throw new Error(
        `compatibility differs: product ${JSON.stringify(product.compatibility)}, baseline ${JSON.stringify(baseline.compatibility)}`,
      );
    }
    log(
      `product on ${product.url} (workerd pid ${product.pids}), baseline on ${baseline.url} (pid ${baseline.pids})`,
    );

    const client = new GateClient(product.url, token);
    const { customers, version } = await seed(client);
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const bodiesFor = (entitlement: string) =>
      customers.map((customer) => JSON.stringify({ customer, entitlement, amount: 1 }));
    const consumeBodies = bodiesFor("gpt4o_tokens");
    // Consumes answered 2xx and consumes sent (autocannon cuts off the requests in flight when time is up,
    // which the gate may still have recorded).
    let consumed = 1;
    let sent = 1;
    const first = await client.expect("POST", "/v1/consume", JSON.parse(consumeBodies[0] as string));
    if (first.allowed !== true) throw new Error(`a seeded consume was not allowed: ${JSON.stringify(first)}`);

    const targets: LoadTarget[] = [
      { label: "healthz", url: product.url, method: "GET", path: "/healthz", pids: product.pids },
      {
        label: "baseline",
        url: baseline.url,
        method: "POST",
        path: "/baseline",
        headers,
        bodies: consumeBodies,
        pids: baseline.pids,
      },
      {
        label: "consume",
        url: product.url,
        method: "POST",
        path: "/v1/consume",
        headers,
        bodies: consumeBodies,
        pids: product.pids,
      },
      {
        label: "check",
        url: product.url,
        method: "POST",
        path: "/v1/check",
        headers,
        bodies: bodiesFor("gpt4o_tokens"),
        pids: product.pids,
      },
    ];

    // Touch every customer once on both sides first: the first call creates a Durable Object's SQLite
    // database (product customers were created by the seed; their meter rows were not).
    await pool(consumeBodies, 8, async (body) => {
      consumed += 1;
      sent += 1;
      await client.expect("POST", "/v1/consume", body);
    });
    await pool(consumeBodies, 8, (body) =>
      new GateClient(baseline.url, token).expect("POST", "/baseline", body),
    );
    const idleRss = product.pids.reduce((s, pid) => s + (rssBytes(pid) ?? 0), 0);

    log(`warm-up: ${WARMUP_SECONDS} s per route at ${CONNECTIONS} connections ...`);
    for (const target of targets) {
      const warm = await runLoad(target, CONNECTIONS, WARMUP_SECONDS);
      if (target.label === "consume") {
        consumed += warm.ok2xx;
        sent += warm.sent;
      }
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
        if (target.label === "consume") {
          consumed += measured.ok2xx;
          sent += measured.sent;
        }
        rounds.get(target.label)?.push(measured);
      }
    }
    // Every 2xx consume must have been recorded: the load measured real work, not errors or replays.
    const used = await totalUsed(client, customers, "gpt4o_tokens");
    if (used < consumed || used > sent) {
      throw new Error(`consumes answered 2xx: ${consumed}, sent: ${sent}, recorded: ${used}`);
    }
    log(`check: ${fmt(consumed)} consumes answered, ${fmt(sent)} sent, ${fmt(used)} recorded`);

    const http = Object.fromEntries([...rounds].map(([label, list]) => [label, mergeRounds(list)]));
    const r = (label: string) => http[label] as Measured;

    log("memory: a customer with 10 meters and 1000 events ...");
    const state = await measureState(client);

    const gatewayRow = async (
      mock: { url: string; stop(): void } | null,
      door: Door,
    ): Promise<GatewayResult | { unavailable: string }> => {
      if (mock === null) return { unavailable: gatewayCheck.ok ? "" : gatewayCheck.why };
      log(`gateway (${door} door): direct vs through the gate, alternating ...`);
      try {
        return await measureGatewayRow(product, client, mock.url, door);
      } catch (error) {
        // A gateway that exists but fails is a finding, not a missing piece: say so and exit non-zero.
        process.exitCode = 1;
        return { unavailable: `failed: ${(error as Error).message}` };
      } finally {
        mock.stop();
      }
    };
    const gateway = await gatewayRow(upstream, "openai");
    const anthropicGateway = await gatewayRow(anthropicUpstream, "anthropic");

    const loadEnd = loadavg();
    const results = {
      startedAt: startedAt.toISOString(),
      machine: {
        cores: availableParallelism(),
        cpu: cpus()[0]?.model ?? "unknown",
        node: process.version,
        loadAverageStart: loadStart.map((v) => Math.round(v * 100) / 100),
        loadAverageEnd: loadEnd.map((v) => Math.round(v * 100) / 100),
        cpuPressureSome60sStart: pressureStart,
        cpuPressureSome60sEnd: cpuPressure(),
      },
      runtime: {
        ...versions,
        how:
          "workerd through the Miniflare API of wrangler's own miniflare, bindings from each Worker's wrangler config, " +
          "bundles from `wrangler deploy --dry-run`, Durable Objects and KV persisted to a temp dir, " +
          "requests straight to workerd's socket (no wrangler dev proxy), product and baseline set up identically",
        policyCacheSeconds: 10,
      },
      load: {
        generator: `autocannon ${autocannonVersion}`,
        connections: CONNECTIONS,
        warmupSeconds: WARMUP_SECONDS,
        rounds: ROUNDS,
        secondsPerRound: SECONDS,
        customers: CUSTOMERS,
        policyVersion: version,
      },
      engine,
      http: Object.fromEntries(Object.entries(http).map(([k, v]) => [k, summary(v)])),
      ratios: {
        consumeToBaseline: ratio(r("consume").rps, r("baseline").rps),
        consumeToHealthz: ratio(r("consume").rps, r("healthz").rps),
        checkToBaseline: ratio(r("check").rps, r("baseline").rps),
        checkToHealthz: ratio(r("check").rps, r("healthz").rps),
        baselineToHealthz: ratio(r("baseline").rps, r("healthz").rps),
        // CPU the serving workerd spent per request: less sensitive to other load on the machine than req/s.
        baselineCpuToConsumeCpu: ratio(
          r("baseline").workerCpuUsPerRequest,
          r("consume").workerCpuUsPerRequest,
        ),
      },
      consumeCheck: { answered: consumed, sent, recorded: used },
      gateway,
      anthropicGateway,
      memory: {
        state,
        workerRssIdleBytes: idleRss,
        workerRssPeakUnderConsumeBytes: r("consume").peakRssBytes,
        workerRssPeakBytes: Math.max(
          ...["healthz", "consume", "check"].map((label) => r(label).peakRssBytes ?? 0),
        ),
        baselineRssPeakBytes: r("baseline").peakRssBytes,
      },
    };
    writeFileSync(join(root, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
    console.log(renderTable(results, r));
    log("wrote bench/results.json");
  } finally {
    await Promise.allSettled([product.dispose(), baseline.dispose()]);
    upstream?.stop();
    rmSync(buildDir, { recursive: true, force: true });
  }
}

type Results = {
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
  engine: Record<string, unknown>;
  ratios: {
    consumeToBaseline: number;
    consumeToHealthz: number;
    checkToBaseline: number;
    baselineToHealthz: number;
    baselineCpuToConsumeCpu: number;
  };
  gateway: GatewayResult | { unavailable: string };
  anthropicGateway: GatewayResult | { unavailable: string };
  memory: {
    state: { meters: number; events: number; stateBytes: number; eventsBytes: number; bytesPerEvent: number };
    workerRssIdleBytes: number;
    workerRssPeakUnderConsumeBytes: number | null;
    baselineRssPeakBytes: number | null;
  };
};

function renderTable(res: Results, r: (label: string) => Measured): string {
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
      "requests straight to workerd's socket (wrangler dev would put its own proxy Worker in front of both); " +
      "product and baseline bundled by `wrangler deploy --dry-run`, SQLite Durable Objects persisted to disk, set up identically",
  );
  lines.push(
    `Load: ${res.load.generator}, ${res.load.connections} connections, ${res.load.warmupSeconds} s warm-up, ` +
      `${res.load.rounds} × ${res.load.secondsPerRound} s per route (interleaved), ${CUSTOMERS} customers`,
  );
  lines.push("");
  lines.push(
    "| route | req/s | p50 ms | p99 ms | workerd CPU µs/req | req/s ÷ /healthz | req/s ÷ baseline |",
  );
  lines.push("|---|--:|--:|--:|--:|--:|--:|");
  const h = r("healthz");
  const b = r("baseline");
  const row = (name: string, x: Measured, vsBaseline: boolean) =>
    `| ${name} | ${fmt(x.rps)} | ${fmt(x.p50Ms, 1)} | ${fmt(x.p99Ms, 1)} | ${fmt(x.workerCpuUsPerRequest)} | ${fmt(x.rps / h.rps, 2)} | ${vsBaseline ? fmt(x.rps / b.rps, 2) : ""} |`;
  lines.push(row("`GET /healthz` (no-op)", h, false));
  lines.push(row("baseline: one RPC to a SQLite DO, read + upsert one row", b, true));
  lines.push(row("`POST /v1/consume`", r("consume"), true));
  lines.push(row("`POST /v1/check`", r("check"), true));
  lines.push("");
  lines.push("| measure | result |");
  lines.push("|---|---|");
  const e = res.engine as { decisionsPerSecond?: number };
  lines.push(
    `| engine decisions/s, one core (\`bench:engine\`) | ${fmt(e.decisionsPerSecond ?? Number.NaN)} |`,
  );
  const g = res.gateway;
  const added = (p: { addedP50Ms: number; addedP99Ms: number; directP50Ms: number; directP99Ms: number }) =>
    `+${fmt(p.addedP50Ms, 2)} ms p50, +${fmt(p.addedP99Ms, 2)} ms p99 (direct ${fmt(p.directP50Ms, 2)} / ${fmt(p.directP99Ms, 2)} ms)`;
  for (const [label, row] of [
    ["gateway", g],
    ["Anthropic door", res.anthropicGateway],
  ] as const) {
    if ("unavailable" in row) {
      lines.push(`| ${label} added latency | not available (${row.unavailable}) |`);
    } else {
      lines.push(`| ${label} added latency, non-streaming | ${added(row.nonStreaming)} |`);
      lines.push(`| ${label} added time to first byte, streaming | ${added(row.streamingFirstByte)} |`);
    }
  }
  const s = res.memory.state;
  lines.push(
    `| serialised state, ${s.meters} meters | ${fmt(s.stateBytes)} B (\`GET …/state\`); ${fmt(s.events)} events ${fmt(s.eventsBytes)} B, ${fmt(s.bytesPerEvent)} B each (\`GET …/events\`) |`,
  );
  lines.push(
    `| workerd RSS serving the gate | ${mb(res.memory.workerRssIdleBytes)} idle, ${mb(res.memory.workerRssPeakUnderConsumeBytes)} peak under consume load (baseline: ${mb(res.memory.baselineRssPeakBytes)}) |`,
  );
  lines.push("");
  const ra = res.ratios;
  lines.push(
    `Ratios (req/s): consume/baseline ${ra.consumeToBaseline}, consume/healthz ${ra.consumeToHealthz}, baseline/healthz ${ra.baselineToHealthz}, check/baseline ${ra.checkToBaseline}. ` +
      `By workerd CPU per request: baseline/consume ${ra.baselineCpuToConsumeCpu}.`,
  );
  const gatewayOver = !("unavailable" in g) && g.nonStreaming.addedP50Ms > 1;
  if (ra.consumeToBaseline < 0.85 || gatewayOver) {
    lines.push(
      `${ra.consumeToBaseline < 0.85 ? "consume is below 0.85 of the baseline" : "the gateway adds more than 1 ms at p50"} ` +
        "(SPEC §9 goals): `npm run bench -- --profile` shows where the time goes.",
    );
  }
  return lines.join("\n");
}

await main();
