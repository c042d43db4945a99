/**
 * `npm run bench:cpu`: a V8 CPU profile of the product inside workerd under consume load, with everything the
 * product runs locally (the read model's D1, KV, the asset router): the JS functions of the Worker and of the
 * simulated D1 by self and inclusive time, and the `.cpuprofile` files (open them in Chrome DevTools or
 * speedscope). The differential profile (`npm run bench -- --profile`) says what each step of a consume adds;
 * this one says which functions spend it, including the alarm's projection into D1.
 *
 * workerd's inspector (the one `wrangler dev` opens) serves one target per isolate; this script starts the
 * Profiler on the product's and D1's, runs the load, and stops them. Sampled time in native code called from
 * JS (SQLite, structured clone, the log pipe) counts as the calling function's self time: the request-id
 * middleware's self time is mostly its one `console.log` (workerd formats the line and writes it to the pipe
 * Miniflare reads), the metering commit's mostly SQLite.
 *
 * Options: `--hot` (all load on one customer; default 256), `--seconds S` (default 12), `--top N` (default 25),
 * `--out DIR` (default a temp dir).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { args, numberOption, option } from "./lib/args";
import { GateClient, pool } from "./lib/client";
import { freePort } from "./lib/gateway";
import { inspectorSession } from "./lib/inspector";
import { runLoad } from "./lib/load";
import { benchPolicy } from "./lib/policy";
import { bundleWorker, serveWorker } from "./lib/runtime";

const root = new URL("..", import.meta.url).pathname;
const hot = args.includes("--hot");
const SECONDS = numberOption("--seconds", 12);
const TOP = numberOption("--top", 25);
const log = (line: string) => process.stderr.write(`${line}\n`);

/** The isolates profiled: the product's Worker and the simulated D1 database's. */
const TARGETS = ["core:user:tollgate", "d1:db"];

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
}

/** Self and inclusive share of samples per function (`name file:line`), the top `n` of each. */
export function summarise(
  profile: CpuProfile,
  n: number,
): { self: string[]; inclusive: string[]; samples: number } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const name = (id: number) => {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) return "?";
    return `${frame.functionName || "(anonymous)"} ${frame.url.split("/").pop() ?? ""}:${frame.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const id of profile.samples) {
    self.set(name(id), (self.get(name(id)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const key = name(at);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + 1);
    }
  }
  const total = Math.max(1, profile.samples.length);
  const top = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, count]) => `${((100 * count) / total).toFixed(1).padStart(5)} %  ${key}`);
  return { self: top(self), inclusive: top(inclusive), samples: profile.samples.length };
}

async function main(): Promise<void> {
  const buildDir = mkdtempSync(join(tmpdir(), "tollgate-cpu-"));
  const out = option("--out", buildDir);
  const token = randomBytes(16).toString("hex");
  const port = await freePort();
  const configPath = join(root, "wrangler.toml");
  log("bundling the product with wrangler deploy --dry-run ...");
  const bundlePath = await bundleWorker(configPath, join(buildDir, "product"));
  process.env.BENCH_INSPECTOR_PORT = String(port);
  const served = await serveWorker({
    name: "tollgate",
    configPath,
    bundlePath,
    vars: { ADMIN_TOKEN: token, POLICY_CACHE_SECONDS: "10" },
  });
  delete process.env.BENCH_INSPECTOR_PORT;
  try {
    const client = new GateClient(served.url, token);
    await client.putPolicy(benchPolicy());
    const customers = hot ? ["cpu_hot"] : Array.from({ length: 256 }, (_, i) => `cpu_c${i}`);
    await pool(customers, 8, (id) => client.putCustomer(id, { plan: "pro" }));
    const target = {
      label: "consume",
      url: served.url,
      method: "POST" as const,
      path: "/v1/consume",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      bodies: customers.map((customer) =>
        JSON.stringify({ customer, entitlement: "gpt4o_tokens", amount: 1 }),
      ),
      pids: served.pids,
    };
    log("warm-up: 3 s ...");
    await runLoad(target, 32, 3);
    const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
      title: string;
      webSocketDebuggerUrl: string;
    }[];
    const sessions = await Promise.all(
      TARGETS.map(async (name) => {
        const found = list.find((t) => t.title.endsWith(` ${name}`));
        if (found === undefined) throw new Error(`no inspector target for ${name}`);
        const s = await inspectorSession(found.webSocketDebuggerUrl);
        await s.send("Profiler.enable");
        await s.send("Profiler.setSamplingInterval", { interval: 200 });
        await s.send("Profiler.start");
        return { name, s };
      }),
    );
    log(
      `profiling ${TARGETS.join(" and ")} under ${SECONDS} s of consume load (${customers.length} customers) ...`,
    );
    const measured = await runLoad(target, 32, SECONDS);
    // The alarm's projection of the last events runs up to 5 s after them: keep sampling through it.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const lines = [
      `CPU profile: ${customers.length === 1 ? "one hot customer" : "256 customers"}, ${Math.round(measured.rps)} consumes/s, ${Math.round(measured.workerCpuUsPerRequest)} µs workerd CPU each (all isolates and native work)`,
    ];
    for (const { name, s } of sessions) {
      const result = (await s.send("Profiler.stop")) as { profile: CpuProfile };
      s.close();
      const file = join(out, `${name.replaceAll(":", "-")}.cpuprofile`);
      writeFileSync(file, JSON.stringify(result.profile));
      const summary = summarise(result.profile, TOP);
      lines.push("", `${name}: ${summary.samples} samples (200 µs), ${file}`, "self:", ...summary.self);
      lines.push("inclusive:", ...summary.inclusive);
    }
    console.log(lines.join("\n"));
  } finally {
    await served.dispose();
    if (out !== buildDir) rmSync(buildDir, { recursive: true, force: true });
  }
}

await main();
