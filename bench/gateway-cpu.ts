/**
 * The gateway's own JavaScript on one call, timed in Node (no workerd, no I/O): what the doors and the core
 * do between the client's bytes and the upstream's, per step, in µs. For work on src/gateway.
 *
 *   npx tsx bench/gateway-cpu.ts [--iterations 20000]
 */
import { ANTHROPIC_DOOR } from "../src/gateway/anthropic/door";
import { admitEndpoint, admitPath, type Door } from "../src/gateway/core/door";
import { modelRoute } from "../src/gateway/core/model-routes";
import { decisionHeaders } from "../src/gateway/core/response";
import { callMoney } from "../src/gateway/core/spend";
import { OPENAI_DOOR } from "../src/gateway/openai/door";
import { validatePolicy } from "../src/policy/load";
import { numberOption } from "./lib/args";
import { MOCK_ANTHROPIC, startMockUpstream } from "./lib/gateway";
import { benchPolicy } from "./lib/policy";

const ITERATIONS = numberOption("--iterations", 20_000);

function time(label: string, fn: () => unknown): void {
  for (let i = 0; i < 2000; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) fn();
  const us = Number(process.hrtime.bigint() - start) / 1e3 / ITERATIONS;
  console.log(`  ${label.padEnd(44)} ${us.toFixed(2)} µs`);
}

async function main() {
  const validated = await validatePolicy(benchPolicy());
  if (!validated.ok) throw new Error("bench policy invalid");
  const policy = validated.policy;
  const openai = await startMockUpstream();
  const anthropic = await startMockUpstream(MOCK_ANTHROPIC);
  try {
    for (const [name, door, mock] of [
      ["openai", OPENAI_DOOR, openai.url],
      ["anthropic", ANTHROPIC_DOOR, anthropic.url],
    ] as const) {
      const d = door as Door<string, unknown>;
      const anth = name === "anthropic";
      const model = anth ? "claude-haiku-4-5" : "gpt-4o-mini";
      const path = anth ? "messages" : "chat/completions";
      const url = `http://127.0.0.1:8787${d.prefix}/${path}`;
      const message = { role: "user", content: "Say hello in five words." };
      const plain = JSON.stringify({ model, messages: [message], max_tokens: 16 });
      const stream = JSON.stringify({ model, messages: [message], max_tokens: 16, stream: true });
      const incoming = new Headers({
        ...(anth
          ? { "x-api-key": "sk-tg-key", "anthropic-version": "2023-06-01" }
          : { authorization: "Bearer sk-tg-key" }),
        "content-type": "application/json",
        host: "127.0.0.1:8787",
        "user-agent": "node",
        accept: "*/*",
        "accept-encoding": "gzip, deflate",
        "content-length": String(plain.length),
        connection: "keep-alive",
      });
      const upstreamHeaders: Record<string, string> = anth
        ? { "x-api-key": "sk-up", "anthropic-version": "2023-06-01", "content-type": "application/json" }
        : { authorization: "Bearer sk-up", "content-type": "application/json" };
      const res = await fetch(`${mock}/v1/${path}`, {
        method: "POST",
        headers: upstreamHeaders,
        body: plain,
      });
      const resHeaders = res.headers;
      const resText = await res.text();
      const sres = await fetch(`${mock}/v1/${path}`, {
        method: "POST",
        headers: upstreamHeaders,
        body: stream,
      });
      const sseBytes = new Uint8Array(await sres.arrayBuffer());
      const bytes = new TextEncoder().encode(plain);
      const shaped = d.shapeRequest(path, plain, 1024);
      if (!shaped.ok) throw new Error("shape");
      const route = modelRoute(policy.gateway, model);
      if (route === null) throw new Error("route");
      const decision = {
        allowed: true,
        outcome: "allowed",
        reason: "within_limit",
        message: "",
        customer: "c",
        meteredOn: "c",
        entitlement: route.entitlement,
        plan: "bench",
        credit: "token",
        unit: "token",
        amount: 30,
        used: 100,
        held: 30,
        limit: 1e9,
        remaining: 1e9 - 130,
        overage: 0,
        resetsAt: "2026-12-01T00:00:00.000Z",
        retryAfterSeconds: null,
        holdId: "hold_1",
        replayed: false,
        policyVersion: "v",
      } as const;
      const counted = { ...decision, entitlement: "api_requests", holdId: null };
      console.log(`${name} door`);
      time("customerKey", () => d.customerKey(incoming));
      time("admitPath", () => admitPath(d, "POST", url));
      time("admitEndpoint", () => admitEndpoint(d, policy.gateway.passthrough, "POST", path));
      time("upstream(env)", () =>
        d.upstream({
          OPENAI_BASE_URL: "http://x/v1",
          ANTHROPIC_BASE_URL: "http://x/v1",
          OPENAI_API_KEY: "k",
          ANTHROPIC_API_KEY: "k",
        } as unknown as Env),
      );
      time("headers.upstreamRequest", () => d.headers.upstreamRequest(incoming, "sk-up", "sk-tg-key"));
      time("utf-8 decode (fatal TextDecoder)", () =>
        new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes),
      );
      time("shapeRequest (plain)", () => d.shapeRequest(path, plain, 1024));
      time("shapeRequest (stream)", () => d.shapeRequest(path, stream, 1024));
      time("modelRoute + callMoney", () => {
        const r = modelRoute(policy.gateway, model);
        return r && callMoney(policy, r, model, 7, 16);
      });
      time("decisionHeaders", () =>
        decisionHeaders(policy, [decision as never, counted as never], Date.now(), null),
      );
      time("headers.clientResponse", () => d.headers.clientResponse(resHeaders));
      time("bodyUsage", () => d.bodyUsage(path, resText));
      time(`stream meter over ${sseBytes.length} B`, () => {
        const m = d.streamUsage(path);
        m.pushBytes(sseBytes);
        m.end();
      });
    }
  } finally {
    openai.stop();
    anthropic.stop();
  }
}

await main();
