/**
 * `npm run bench:heap`: where the product's memory is, beside the DO floor's (SPEC §9 "Memory"). Each side in a
 * fresh workerd under the same spread consume load, as `npm run bench`'s memory row (bench/lib/memory.ts); then
 * every isolate's JS heap through workerd's inspector (`Runtime.getHeapUsage`), the Worker's own isolate also
 * after a forced collection (`HeapProfiler.collectGarbage`), and the workerd's RSS idle, at its peak under the
 * load, after it and after the collection. What the Worker's heap retains is the product's state; the rest of
 * its heap is garbage V8 had not collected yet; the RSS that no heap accounts for is native (SQLite, sockets,
 * code, the runtime's own buffers).
 *
 * Options: `--seconds S` of load per side (default 20), `--customers N` (default 256).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { numberOption } from "./lib/args";
import { inspectorSession } from "./lib/inspector";
import { freshUnderLoad, type MemorySide } from "./lib/memory";
import { bundleWorker, totalRssBytes } from "./lib/runtime";

const root = new URL("..", import.meta.url).pathname;
const SECONDS = numberOption("--seconds", 20);
const CUSTOMERS = numberOption("--customers", 256);
const log = (line: string) => process.stderr.write(`${line}\n`);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

interface HeapUsage {
  usedSize: number;
  totalSize: number;
}

/**
 * Every isolate's heap, largest first; the Worker's own isolate (`core:user:…`) also after a forced collection.
 * workerd answers `HeapProfiler.collectGarbage` only once the isolate runs again, so a request to `wakeUrl`
 * follows it. Miniflare's own isolates (the simulated D1, KV, asset router) are read without a collection.
 */
async function heaps(
  port: number,
  wakeUrl: URL,
): Promise<{ name: string; before: HeapUsage; after: HeapUsage | null }[]> {
  const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    title: string;
    webSocketDebuggerUrl: string;
  }[];
  const out: { name: string; before: HeapUsage; after: HeapUsage | null }[] = [];
  for (const target of list) {
    const name = target.title.replace(/^workerd: worker /, "");
    const s = await inspectorSession(target.webSocketDebuggerUrl);
    const before = (await s.send("Runtime.getHeapUsage")) as HeapUsage;
    let after: HeapUsage | null = null;
    if (name.startsWith("core:user:")) {
      await s.send("HeapProfiler.enable");
      const collected = s.send("HeapProfiler.collectGarbage");
      await (await fetch(wakeUrl)).arrayBuffer();
      await collected;
      after = (await s.send("Runtime.getHeapUsage")) as HeapUsage;
    }
    s.close();
    out.push({ name, before, after });
  }
  return out.sort((a, b) => b.before.totalSize - a.before.totalSize);
}

async function main(): Promise<void> {
  const buildDir = mkdtempSync(join(tmpdir(), "tollgate-heap-"));
  const token = randomBytes(16).toString("hex");
  const productConfig = join(root, "wrangler.toml");
  const floorConfig = join(root, "bench/baseline/wrangler.toml");
  log("bundling the product and the floor with wrangler deploy --dry-run ...");
  const [productBundle, floorBundle] = await Promise.all([
    bundleWorker(productConfig, join(buildDir, "product")),
    bundleWorker(floorConfig, join(buildDir, "floor")),
  ]);
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => `heap_c${i}`);
  const sides: [string, MemorySide][] = [
    [
      "tollgate",
      {
        configPath: productConfig,
        bundlePath: productBundle,
        vars: { ADMIN_TOKEN: token, POLICY_CACHE_SECONDS: "10" },
        path: "/v1/consume",
      },
    ],
    ["floor", { configPath: floorConfig, bundlePath: floorBundle, vars: {}, path: "/baseline" }],
  ];
  try {
    const lines: string[] = [];
    for (const [name, side] of sides) {
      log(`${name}: ${SECONDS} s of consume load on ${CUSTOMERS} customers ...`);
      const run = await freshUnderLoad(name, side, {
        customers,
        token,
        connections: 32,
        seconds: SECONDS,
        inspector: true,
      });
      try {
        const { served, measured } = run;
        const loaded = totalRssBytes(served.pids);
        const isolates = await heaps(run.inspectorPort ?? 0, new URL("/healthz", served.url));
        const collected = totalRssBytes(served.pids);
        const total = (pick: (h: (typeof isolates)[number]) => number) =>
          isolates.reduce((sum, h) => sum + pick(h), 0);
        const own = isolates.find((h) => h.name.startsWith("core:user:"));
        lines.push(
          "",
          `${name}: ${measured.requests} consumes (${Math.round(measured.rps)}/s); workerd RSS ${mib(run.idleRssBytes)} MiB idle, ` +
            `${mib(measured.peakRssBytes ?? 0)} peak under the load, ${mib(loaded)} after it, ${mib(collected)} after the collection`,
          `  JS heaps of all ${isolates.length} isolates: ${mib(total((h) => h.before.usedSize))} MiB used of ` +
            `${mib(total((h) => h.before.totalSize))} allocated`,
          own?.after == null
            ? "  the Worker's isolate: not found"
            : `  the Worker's isolate (${own.name}): ${mib(own.before.usedSize)} used of ${mib(own.before.totalSize)} MiB; ` +
                `after the collection ${mib(own.after.usedSize)} of ${mib(own.after.totalSize)}`,
          "  isolates over 2 MiB (used / allocated MiB):",
          ...isolates
            .filter((h) => h.before.totalSize >= 2 * 2 ** 20)
            .map((h) => `    ${h.name}: ${mib(h.before.usedSize)} / ${mib(h.before.totalSize)}`),
        );
      } finally {
        await run.served.dispose();
      }
    }
    console.log(lines.join("\n"));
  } finally {
    rmSync(buildDir, { recursive: true, force: true });
  }
}

await main();
