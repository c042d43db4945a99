/**
 * The gateway's added latency (SPEC §9), per door: the same request sent to the door's mock upstream directly,
 * through the **bare proxy floor** (a Worker forwarding it with one `fetch`, bench/baseline) and through the
 * door (`/gateway/openai/v1` chat, `/gateway/anthropic/v1` messages), one at a time in rotating order so all
 * three see the same machine state, non-streaming (time to the whole body) and streaming (time to the first
 * body chunk, and to the end). The goal is on the door's latency over the floor's.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { percentile } from "./load";

const root = new URL("../..", import.meta.url).pathname;
export const MOCK_UPSTREAM = "test/support/mock-upstream.ts";
export const MOCK_ANTHROPIC = "test/support/mock-anthropic.ts";

/** Whether the product has a gateway and the mock upstream exists to measure it against. */
export function gatewayAvailable(): { ok: true } | { ok: false; why: string } {
  if (!existsSync(`${root}src/gateway`)) return { ok: false, why: "src/gateway does not exist yet" };
  if (!existsSync(`${root}${MOCK_UPSTREAM}`))
    return { ok: false, why: `${MOCK_UPSTREAM} does not exist yet` };
  return { ok: true };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(),
      );
    });
  });
}

export interface MockUpstream {
  url: string;
  stop(): void;
}

/** Start `tsx test/support/mock-upstream.ts --port P` (or another mock) and wait until it answers. */
export async function startMockUpstream(script = MOCK_UPSTREAM): Promise<MockUpstream> {
  const port = await freePort();
  const tsx = `${root}node_modules/tsx/dist/cli.mjs`;
  const child: ChildProcess = spawn(process.execPath, [tsx, script, "--port", String(port)], {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mock upstream exited ${child.exitCode}: ${stderr}`);
    try {
      await fetch(`${url}/v1/models`);
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill();
        throw new Error(`mock upstream did not answer on ${url}: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, stop: () => child.kill() };
}

export interface Timing {
  totalMs: number;
  firstByteMs: number;
}

/** One request: time to the first body chunk and to the end of the body. Throws on a non-2xx. */
export async function timed(url: string, headers: Record<string, string>, body: string): Promise<Timing> {
  const start = process.hrtime.bigint();
  const res = await fetch(url, { method: "POST", headers, body });
  if (res.body === null) throw new Error(`${url}: no body`);
  const reader = res.body.getReader();
  let firstByteMs = -1;
  for (;;) {
    const { done } = await reader.read();
    if (firstByteMs < 0) firstByteMs = Number(process.hrtime.bigint() - start) / 1e6;
    if (done) break;
  }
  const totalMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return { totalMs, firstByteMs };
}

export interface Latencies {
  directP50Ms: number;
  directP99Ms: number;
  floorP50Ms: number;
  floorP99Ms: number;
  gatewayP50Ms: number;
  gatewayP99Ms: number;
  /** The door over the bare proxy floor: the SPEC §9 figures (goal ≤ 1 ms p50, ≤ 5 ms p99). */
  addedP50Ms: number;
  addedP99Ms: number;
  /** The door over calling the mock directly (what a client sees against no gateway at all). */
  addedOverDirectP50Ms: number;
  addedOverDirectP99Ms: number;
}

function latencies(direct: number[], floor: number[], gateway: number[]): Latencies {
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const d = sorted(direct);
  const f = sorted(floor);
  const g = sorted(gateway);
  const r = (n: number) => Math.round(n * 1000) / 1000;
  const p = (xs: number[], q: number) => percentile(xs, q);
  return {
    directP50Ms: r(p(d, 50)),
    directP99Ms: r(p(d, 99)),
    floorP50Ms: r(p(f, 50)),
    floorP99Ms: r(p(f, 99)),
    gatewayP50Ms: r(p(g, 50)),
    gatewayP99Ms: r(p(g, 99)),
    addedP50Ms: r(p(g, 50) - p(f, 50)),
    addedP99Ms: r(p(g, 99) - p(f, 99)),
    addedOverDirectP50Ms: r(p(g, 50) - p(d, 50)),
    addedOverDirectP99Ms: r(p(g, 99) - p(d, 99)),
  };
}

export interface GatewayResult {
  door: Door;
  requestsEach: number;
  model: string;
  nonStreaming: Latencies;
  streamingFirstByte: Latencies;
  streamingTotal: Latencies;
}

export type Door = "openai" | "anthropic";

/** One door's request, both ways: straight to its mock upstream, and through the gate with a customer's key. */
interface DoorRequests {
  model: string;
  plain: string;
  stream: string;
  directUrl: string;
  gatewayUrl: string;
  /** The bare proxy floor serves the door's path; it forwards the direct call's headers unchanged. */
  floorUrl: string;
  directHeaders: Record<string, string>;
  gatewayHeaders: Record<string, string>;
}

function doorRequests(
  door: Door,
  upstream: string,
  gatewayBase: URL,
  floorBase: URL,
  apiKey: string,
): DoorRequests {
  if (door === "anthropic") {
    const model = "claude-haiku-4-5";
    const message = { role: "user", content: "Say hello in five words." };
    const version = { "anthropic-version": "2023-06-01", "content-type": "application/json" };
    return {
      model,
      plain: JSON.stringify({ model, messages: [message], max_tokens: 16 }),
      stream: JSON.stringify({ model, messages: [message], max_tokens: 16, stream: true }),
      directUrl: `${upstream}/v1/messages`,
      gatewayUrl: new URL("/gateway/anthropic/v1/messages", gatewayBase).toString(),
      floorUrl: new URL("/gateway/anthropic/v1/messages", floorBase).toString(),
      directHeaders: { "x-api-key": "sk-bench-upstream", ...version },
      gatewayHeaders: { "x-api-key": apiKey, ...version },
    };
  }
  const model = "gpt-4o-mini";
  const message = { role: "user", content: "Say hello in five words." };
  return {
    model,
    plain: JSON.stringify({ model, messages: [message], max_tokens: 16 }),
    stream: JSON.stringify({ model, messages: [message], max_tokens: 16, stream: true }),
    directUrl: `${upstream}/v1/chat/completions`,
    gatewayUrl: new URL("/gateway/openai/v1/chat/completions", gatewayBase).toString(),
    floorUrl: new URL("/gateway/openai/v1/chat/completions", floorBase).toString(),
    directHeaders: { authorization: "Bearer sk-bench-upstream", "content-type": "application/json" },
    gatewayHeaders: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
  };
}

/**
 * Rotate direct, floor and gateway calls, `count` of each per mode after `warmup`. `upstream` is the door's
 * mock (its origin), `gatewayBase` the gate's URL, `floorBase` the floor Worker's, `apiKey` a customer's
 * alternate ID (the gateway key).
 */
export async function measureGateway(
  upstream: string,
  gatewayBase: URL,
  floorBase: URL,
  apiKey: string,
  count: number,
  warmup: number,
  door: Door = "openai",
): Promise<GatewayResult> {
  const req = doorRequests(door, upstream, gatewayBase, floorBase, apiKey);
  const ways = [
    { url: req.directUrl, headers: req.directHeaders },
    { url: req.floorUrl, headers: req.directHeaders },
    { url: req.gatewayUrl, headers: req.gatewayHeaders },
  ] as const;

  const sample = async (body: string, n: number) => {
    const timings: Timing[][] = [[], [], []];
    for (let i = 0; i < n; i++) {
      // Rotate which goes first so no way always follows the same other one.
      for (let k = 0; k < 3; k++) {
        const w = (i + k) % 3;
        const way = ways[w] as (typeof ways)[number];
        timings[w]?.push(await timed(way.url, way.headers, body));
      }
    }
    return timings as [Timing[], Timing[], Timing[]];
  };

  await sample(req.plain, warmup);
  await sample(req.stream, warmup);
  const [ad, af, ag] = await sample(req.plain, count);
  const [bd, bf, bg] = await sample(req.stream, count);
  const total = (ts: Timing[]) => ts.map((t) => t.totalMs);
  const first = (ts: Timing[]) => ts.map((t) => t.firstByteMs);
  return {
    door,
    requestsEach: count,
    model: req.model,
    nonStreaming: latencies(total(ad), total(af), total(ag)),
    streamingFirstByte: latencies(first(bd), first(bf), first(bg)),
    streamingTotal: latencies(total(bd), total(bf), total(bg)),
  };
}
