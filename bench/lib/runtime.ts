/**
 * Serving Workers for the bench: each Worker is bundled by `wrangler deploy --dry-run` (the bytes a deploy
 * would upload) and served by workerd through the Miniflare API of the wrangler package's own miniflare
 * dependency, with the bindings wrangler derives from the Worker's config. Requests reach workerd's socket
 * directly: no `wrangler dev` proxy in front, the same setup for the product and the baseline.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

/** The part of Miniflare's API the bench uses (typed here: the module is loaded from wrangler's own copy). */
interface MiniflareInstance {
  ready: Promise<URL>;
  dispose(): Promise<void>;
  unsafeGetDirectURL(workerName?: string): Promise<URL>;
  getD1Database(bindingName: string, workerName?: string): Promise<D1Database>;
}
interface MiniflareModule {
  Miniflare: new (options: unknown) => MiniflareInstance;
  Log: new (level: number) => unknown;
  LogLevel: { WARN: number; ERROR: number };
  convertV4MiniflareOptions(options: unknown): unknown;
}

const root = new URL("../..", import.meta.url).pathname;
// wrangler logs (e.g. "Using secrets defined in .dev.vars", which the bench then leaves out) stay quiet.
process.env.WRANGLER_LOG ??= "error";
const requireHere = createRequire(import.meta.url);
const wranglerPackage = requireHere.resolve("wrangler/package.json");
const requireFromWrangler = createRequire(wranglerPackage);

function versionOf(packageJsonPath: string): string {
  return (JSON.parse(readFileSync(packageJsonPath, "utf8")) as { version: string }).version;
}

/** Which runtime serves the requests, for the report. */
export function runtimeVersions(): { wrangler: string; miniflare: string; workerd: string } {
  const miniflarePackage = requireFromWrangler.resolve("miniflare/package.json");
  const workerdPackage = createRequire(miniflarePackage).resolve("workerd/package.json");
  return {
    wrangler: versionOf(wranglerPackage),
    miniflare: versionOf(miniflarePackage),
    workerd: versionOf(workerdPackage),
  };
}

async function loadMiniflare(): Promise<MiniflareModule> {
  return (await import(requireFromWrangler.resolve("miniflare"))) as MiniflareModule;
}

/** Run a command to completion; reject with its output on failure. */
export function run(command: string, args: string[], cwd = root): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${output}`));
    });
  });
}

const wranglerBin = join(dirname(wranglerPackage), "bin", "wrangler.js");

/**
 * Bundles run one at a time: the product's `[build]` rewrites `public/`, which the floor's `[assets]` and an A/B
 * base tree (whose `public/` links to it) read while they bundle, so bundling them side by side could see it
 * half written.
 */
let bundling: Promise<unknown> = Promise.resolve();

/** Bundle a Worker as `wrangler deploy` would, into `outDir`; answers the entry module's path. */
export function bundleWorker(configPath: string, outDir: string): Promise<string> {
  const bundled = bundling.then(() => bundleNow(configPath, outDir));
  bundling = bundled.catch(() => undefined);
  return bundled;
}

async function bundleNow(configPath: string, outDir: string): Promise<string> {
  await run(process.execPath, [
    wranglerBin,
    "deploy",
    "--dry-run",
    "--config",
    configPath,
    "--outdir",
    outDir,
  ]);
  const entry = readdirSync(outDir).find((name) => name.endsWith(".js"));
  if (entry === undefined) throw new Error(`wrangler produced no bundle in ${outDir}`);
  return join(outDir, entry);
}

/** A served Worker: its URL, the workerd processes serving it, and how to stop it. */
export interface ServedWorker {
  name: string;
  url: URL;
  /** The RPC driver's URL (`POST /rpc` → `env.TARGET.consume(body)`), when one was asked for and served. */
  rpcUrl: URL | null;
  pids: number[];
  compatibility: { date: string; flags: string[] };
  dispose(): Promise<void>;
}

/** Ids of the live workerd processes descending from this process. */
export function workerdDescendants(): number[] {
  const parentOf = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name is in parentheses and may contain spaces; the fields after it are space-separated.
      const close = stat.lastIndexOf(")");
      names.set(Number(entry), stat.slice(stat.indexOf("(") + 1, close));
      parentOf.set(Number(entry), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const mine = (pid: number): boolean => {
    for (let p = parentOf.get(pid); p !== undefined && p > 1; p = parentOf.get(p)) {
      if (p === process.pid) return true;
    }
    return false;
  };
  return [...names].filter(([pid, name]) => name === "workerd" && mine(pid)).map(([pid]) => pid);
}

const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) a process has used, in ms, from /proc; null when it is gone. */
export function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of proc(5) (utime, stime), counted from the state field (3).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Resident set size of a process in bytes (VmRSS from /proc), or null when it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

/** Resident set size of workerd's processes together (those gone count 0). */
export function totalRssBytes(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0);
}

export interface ServeOptions {
  name: string;
  configPath: string;
  bundlePath: string;
  /** Vars and secrets, over the config's `[vars]` (like `wrangler dev --var`). */
  vars?: Record<string, string>;
  /** `disk` (default): persisted to a temp dir, like `wrangler dev --persist-to`; `memory`: not persisted. */
  storage?: "disk" | "memory";
  /** Receives the Worker's console output (dropped by default). */
  onLog?: (level: string, message: string) => void;
  /**
   * Also serve the RPC driver Worker in the same workerd, bound to this Worker's named entrypoint
   * `rpcEntrypoint` as a service binding, on its own socket (`rpcUrl`).
   */
  rpcEntrypoint?: string;
  /**
   * Serve without the config's D1 databases (`readModel: false`): the product then runs with no read model,
   * as it does without an `ANALYTICS` binding, and nothing is projected. An attribution run only.
   */
  readModel?: boolean;
}

/**
 * The RPC driver (SPEC §9 "Workers RPC"): a Worker another team would write, calling the target through a
 * service binding as `env.TARGET.consume({ customer, entitlement, amount })`. Plain JS: nothing to bundle, and
 * the same bytes drive the product and the floor. A refused decision or an error value (`{ ok: false, error }`)
 * answers 409, so the load generator counts it as non-2xx.
 */
const RPC_DRIVER = `export default {
  async fetch(request, env) {
    const result = await env.TARGET.consume(await request.json());
    // TollgateRpc answers { ok: true, decision } or { ok: false, error }; the floor answers its row.
    const decision = result !== null && typeof result === "object" && "decision" in result ? result.decision : result;
    const refused =
      result === null || typeof result !== "object" || result.ok === false || "error" in result || decision?.allowed === false;
    return Response.json(result, { status: refused ? 409 : 200 });
  },
};
`;

/**
 * Serve a bundled Worker on 127.0.0.1 (a free port) with SQLite Durable Objects and KV persisted to a fresh
 * temporary directory, as `wrangler dev --persist-to` would. Console output of the Worker is drained and
 * dropped, as `wrangler dev --log-level error` would.
 */
export async function serveWorker(options: ServeOptions): Promise<ServedWorker> {
  const mf = await loadMiniflare();
  const { workerOptions } = unstable_getMiniflareWorkerOptions(options.configPath);
  // Module rules only matter for unbundled sources; the bundle is given as one module below.
  const { modulesRules: _rules, ...all } = workerOptions as Record<string, unknown> & {
    bindings?: Record<string, unknown>;
    compatibilityDate?: string;
    compatibilityFlags?: string[];
  };
  const { d1Databases: _d1, ...withoutD1 } = all;
  const readModel = options.readModel ?? true;
  const derived = readModel ? all : withoutD1;
  // Only the config's own [vars] plus ours: a developer's .dev.vars (which wrangler reads) stays out of the bench.
  const configVars = unstable_readConfig({ config: options.configPath }).vars as Record<string, unknown>;
  const persistDir = mkdtempSync(join(tmpdir(), `tollgate-bench-${options.name}-`));
  const before = new Set(workerdDescendants());
  const instance = new mf.Miniflare(
    mf.convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      ...(process.env.BENCH_INSPECTOR_PORT
        ? { inspectorPort: Number(process.env.BENCH_INSPECTOR_PORT) }
        : {}),
      ...(options.storage === "memory" ? {} : { resourcePersistencePath: persistDir }),
      log: new mf.Log(mf.LogLevel.ERROR),
      logRequests: false,
      cf: false,
      telemetry: { enabled: false },
      handleStructuredLogs: (entry: { level: string; message: string }) =>
        options.onLog?.(entry.level, entry.message),
      workers: [
        {
          ...derived,
          name: options.name,
          modulesRoot: dirname(options.bundlePath),
          modules: [
            {
              type: "ESModule",
              path: options.bundlePath,
              contents: readFileSync(options.bundlePath, "utf8"),
            },
          ],
          bindings: { ...configVars, ...options.vars },
        },
        ...(options.rpcEntrypoint === undefined
          ? []
          : [
              {
                name: "rpc-driver",
                compatibilityDate: derived.compatibilityDate,
                compatibilityFlags: derived.compatibilityFlags,
                modules: [{ type: "ESModule", path: "rpc-driver.mjs", contents: RPC_DRIVER }],
                serviceBindings: { TARGET: { name: options.name, entrypoint: options.rpcEntrypoint } },
                // Its own socket straight to the driver: the product's and the floor's drivers are reached alike.
                unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
              },
            ]),
      ],
    }),
  );
  const url = await instance.ready;
  if (readModel) await applyD1Migrations(instance, options.configPath, options.name);
  const rpcUrl = options.rpcEntrypoint === undefined ? null : await instance.unsafeGetDirectURL("rpc-driver");
  const pids = workerdDescendants().filter((pid) => !before.has(pid));
  return {
    name: options.name,
    url,
    rpcUrl,
    pids,
    compatibility: { date: derived.compatibilityDate ?? "", flags: derived.compatibilityFlags ?? [] },
    async dispose() {
      await instance.dispose();
      rmSync(persistDir, { recursive: true, force: true });
    },
  };
}

/**
 * Apply each D1 database's migrations (its `migrations_dir`, files in name order) to the fresh local
 * database, as `wrangler d1 migrations apply --local` does before `wrangler dev` (the read model, SPEC §13.1).
 */
async function applyD1Migrations(
  instance: MiniflareInstance,
  configPath: string,
  workerName: string,
): Promise<void> {
  const config = unstable_readConfig({ config: configPath }) as {
    d1_databases?: { binding: string; migrations_dir?: string }[];
  };
  for (const database of config.d1_databases ?? []) {
    const dir = resolve(dirname(configPath), database.migrations_dir ?? "migrations");
    const files = readdirSync(dir)
      .filter((name) => name.endsWith(".sql"))
      .sort();
    const db = await instance.getD1Database(database.binding, workerName);
    for (const file of files) {
      const statements = readFileSync(join(dir, file), "utf8")
        .split("\n")
        .filter((line) => !line.trim().startsWith("--"))
        .join("\n")
        .split(/;\s*(?:\n|$)/)
        .map((statement) => statement.trim())
        .filter((statement) => statement !== "");
      await db.batch(statements.map((statement) => db.prepare(statement)));
    }
  }
}
