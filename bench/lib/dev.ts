/**
 * `npm run bench -- --dev`: the product and the floors served by `wrangler dev` (what users run first), each
 * in its own session on free ports, instead of straight workerd. Each session gets a copy of its config in a
 * temp dir (so a developer's `.dev.vars` beside wrangler.toml stays out of the bench), its own persistence
 * dir, our `--var`s, and no inspector or interactive session clash. Nothing needs the network.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { unstable_readConfig } from "wrangler";
import { applyLocalMigrations } from "../../scripts/lib/local-d1";
import { freePort } from "./gateway";
import { run, type ServedWorker, workerdDescendants } from "./runtime";

const requireHere = createRequire(import.meta.url);
const wranglerBin = join(dirname(requireHere.resolve("wrangler/package.json")), "bin", "wrangler.js");
const START_TIMEOUT_MS = 180_000; // a cold wrangler on two shared cores

export interface DevOptions {
  name: string;
  configPath: string;
  vars?: Record<string, string>;
}

/** Start `wrangler dev` for `configPath` and wait until `GET /healthz` answers 200. */
export async function serveDev(options: DevOptions): Promise<ServedWorker> {
  const dir = mkdtempSync(join(tmpdir(), `tollgate-bench-dev-${options.name}-`));
  const configDir = dirname(options.configPath);
  const original = readFileSync(options.configPath, "utf8");
  // The config's build step (the product's assets) runs where the config lives, as wrangler would run it.
  const build = /^\[build\][^[]*?^command\s*=\s*"([^"]+)"/ms.exec(original)?.[1];
  if (build !== undefined) await run("sh", ["-c", build], configDir);
  // The same config with its paths made absolute (the Worker, the assets, the D1 migrations the repo's config
  // names) and without the build step, which ran above.
  const absolute = (key: string) => (text: string) =>
    text.replace(
      new RegExp(`^${key}\\s*=\\s*"([^"]+)"`, "gm"),
      (_all, path: string) => `${key} = ${JSON.stringify(resolve(configDir, path))}`,
    );
  const text = [absolute("main"), absolute("directory"), absolute("migrations_dir")].reduce(
    (t, f) => f(t),
    original.replace(/^\[build\][^[]*/m, ""),
  );
  const config = join(dir, "wrangler.toml");
  writeFileSync(config, text);
  // The read model's D1 migrations to the session's local state first, as `npm run dev` applies them.
  if ((unstable_readConfig({ config }).d1_databases ?? []).length > 0) {
    await applyLocalMigrations(join(dir, "state"), config);
  }
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const args = [
    wranglerBin,
    "dev",
    "--config",
    config,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    join(dir, "state"),
    "--log-level",
    "error",
    "--show-interactive-dev-session=false",
    ...Object.entries(options.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ];
  const before = new Set(workerdDescendants());
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: dir,
    // Its own process group, so that stopping it reaches wrangler and its workerd alike.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "1" },
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGINT");
      } catch {
        // Already gone.
      }
      const timer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = new URL(`http://127.0.0.1:${port}`);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`wrangler dev (${options.name}) exited ${child.exitCode}:\n${output}`);
    }
    try {
      const res = await fetch(new URL("/healthz", url));
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev (${options.name}) did not answer on ${url}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const read = unstable_readConfig({ config: options.configPath });
  return {
    name: options.name,
    url,
    // wrangler dev serves one Worker per port; an RPC driver in a second session would reach the target
    // through the dev registry, another path than a service binding inside one workerd.
    rpcUrl: null,
    pids: workerdDescendants().filter((pid) => !before.has(pid)),
    compatibility: { date: read.compatibility_date ?? "", flags: read.compatibility_flags ?? [] },
    dispose: stop,
  };
}
