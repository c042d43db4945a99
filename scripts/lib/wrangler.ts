/** Running this checkout's wrangler from the repo's scripts: one binary, no telemetry, output captured or shown. */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (the directory holding wrangler.toml). */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const require = createRequire(import.meta.url);

/**
 * The wrangler CLI entry of this checkout. It is run with `process.execPath`, which under `npm run` is the
 * Node 22 of the `node` devDependency (wrangler 4.16x refuses older Node).
 */
export function wranglerEntry(): string {
  const manifest = require.resolve("wrangler/package.json");
  return join(dirname(manifest), "bin", "wrangler.js");
}

/** The environment for every wrangler child: never phone home (TOOLING.md). */
export function wranglerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, WRANGLER_SEND_METRICS: "false", ...extra };
}

export interface WranglerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run one wrangler command to completion with its output captured; never throws on a non-zero exit. */
export function runWrangler(args: string[]): Promise<WranglerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wranglerEntry(), ...args], {
      cwd: ROOT,
      env: wranglerEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code: code ?? (signal === null ? 1 : 128), stdout, stderr }),
    );
  });
}
