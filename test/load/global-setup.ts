/**
 * Global setup of the load and fault suite: a real HTTP server for the gate. The Worker is bundled once by
 * `wrangler deploy --dry-run` and served by workerd through wrangler's own Miniflare, with the bindings
 * wrangler derives from wrangler.toml, Durable Objects and KV persisted to a fresh temp directory (as
 * `wrangler dev --persist-to` does), a random ADMIN_TOKEN and POLICY_CACHE_SECONDS=0.
 *
 * Why not `wrangler dev` itself: it rebuilds and restarts the Worker whenever a source file changes, which
 * drops the connections in flight (seen here while others edited src/), and its extra proxy halves the
 * throughput on two cores. A snapshot of the bundle keeps a three-minute run deterministic.
 * `TOLLGATE_LOAD_URL` + `TOLLGATE_LOAD_TOKEN` point the suite at a server already running (e.g. `npm run dev`).
 * The gateway files need the mock upstream (test/support/mock-upstream.ts) started here: its URL is the
 * server's `OPENAI_BASE_URL`; against a server already running, start one and name it in
 * `TOLLGATE_LOAD_UPSTREAM_URL` (the server's `OPENAI_BASE_URL` must be that URL).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { bundleWorker, serveWorker } from "../../bench/lib/runtime";
import { startMockUpstream, stopMockUpstream } from "../support/mock-upstream";
import { LOAD_UPSTREAM_KEY } from "./gateway-support";

declare module "vitest" {
  export interface ProvidedContext {
    gateUrl: string;
    adminToken: string;
    /** The mock upstream's base URL (`…/v1`) the server forwards gateway calls to; "" when unknown. */
    loadUpstreamUrl: string;
  }
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const presetUrl = process.env.TOLLGATE_LOAD_URL;
  if (presetUrl !== undefined && presetUrl !== "") {
    project.provide("gateUrl", presetUrl.replace(/\/$/, ""));
    project.provide("adminToken", process.env.TOLLGATE_LOAD_TOKEN ?? "");
    project.provide("loadUpstreamUrl", process.env.TOLLGATE_LOAD_UPSTREAM_URL ?? "");
    return async () => undefined;
  }
  const upstream = await startMockUpstream();
  const buildDir = mkdtempSync(join(tmpdir(), "tollgate-load-build-"));
  const config = join(ROOT, "wrangler.toml");
  const token = `load-${randomBytes(12).toString("hex")}`;
  const server = await serveWorker({
    name: "tollgate",
    configPath: config,
    bundlePath: await bundleWorker(config, buildDir),
    vars: {
      ADMIN_TOKEN: token,
      POLICY_CACHE_SECONDS: "0",
      OPENAI_BASE_URL: upstream.url,
      OPENAI_API_KEY: LOAD_UPSTREAM_KEY,
    },
  });
  project.provide("loadUpstreamUrl", upstream.url);
  project.provide("gateUrl", server.url.toString().replace(/\/$/, ""));
  project.provide("adminToken", token);
  return async () => {
    await server.dispose();
    await stopMockUpstream(upstream.server);
    rmSync(buildDir, { recursive: true, force: true });
  };
}
