import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { type AbSides, serveAb } from "./lib/ab";
import { numberOption, option } from "./lib/args";
import { GateClient } from "./lib/client";
import { MOCK_ANTHROPIC, type MockUpstream, startMockUpstream, type Timing, timed } from "./lib/gateway";
import { percentile } from "./lib/load";
import { benchPolicy } from "./lib/policy";

const BASE = option("--base", "HEAD");
const N = numberOption("--n", 200);
const ROUNDS = numberOption("--rounds", 3);
const WARMUP = numberOption("--warmup", 30);
const log = (line: string) => process.stderr.write(`${line}\n`);

type Door = "openai" | "anthropic";
function requests(door: Door, mock: string, floor: URL, products: URL[], key: string) {
  const anthropic = door === "anthropic";
  const model = anthropic ? "claude-haiku-4-5" : "gpt-4o-mini";
  const path = anthropic ? "/gateway/anthropic/v1/messages" : "/gateway/openai/v1/chat/completions";
  const message = { role: "user", content: "Say hello in five words." };
  const direct: Record<string, string> = anthropic
    ? {
        "x-api-key": "sk-bench-upstream",
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
      }
    : { authorization: "Bearer sk-bench-upstream", "content-type": "application/json" };
  const gate: Record<string, string> = anthropic
    ? { "x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json" }
    : { authorization: `Bearer ${key}`, "content-type": "application/json" };
  return {
    plain: JSON.stringify({ model, messages: [message], max_tokens: 16 }),
    stream: JSON.stringify({ model, messages: [message], max_tokens: 16, stream: true }),
    ways: [
      { url: `${mock}/v1/${anthropic ? "messages" : "chat/completions"}`, headers: direct },
      { url: new URL(path, floor).toString(), headers: direct },
      ...products.map((p) => ({ url: new URL(path, p).toString(), headers: gate })),
    ],
  };
}

const LABELS = ["direct", "floor", "A", "B"];

async function sample(ways: { url: string; headers: Record<string, string> }[], body: string, n: number) {
  const out: Timing[][] = ways.map(() => []);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < ways.length; k++) {
      const w = (i + k) % ways.length;
      const way = ways[w] as (typeof ways)[number];
      out[w]?.push(await timed(way.url, way.headers, body));
    }
  }
  return out;
}

const r2 = (n: number) => n.toFixed(2);
const pct = (xs: number[], q: number) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    q,
  );
const median = (xs: number[]) => pct(xs, 50);

async function main() {
  const mocks: MockUpstream[] = [await startMockUpstream(), await startMockUpstream(MOCK_ANTHROPIC)];
  const [openai, anthropic] = mocks as [MockUpstream, MockUpstream];
  const vars = {
    OPENAI_BASE_URL: `${openai.url}/v1`,
    OPENAI_API_KEY: "sk-bench-upstream",
    ANTHROPIC_BASE_URL: `${anthropic.url}/v1`,
    ANTHROPIC_API_KEY: "sk-bench-upstream",
  };
  let sides: AbSides | null = null;
  try {
    sides = await serveAb(BASE, vars, log);
    const { floor, a, b, token } = sides;
    const key = `sk-tg-ab-${randomBytes(6).toString("hex")}`;
    for (const p of [a, b]) {
      const client = new GateClient(p.url, token);
      await client.putPolicy(benchPolicy());
      await client.putCustomer("ab_gateway", { plan: "bench", alternateIds: [key] });
    }
    const results: Record<string, number[][]> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const door of ["openai", "anthropic"] as Door[]) {
        const mock = door === "openai" ? openai.url : anthropic.url;
        const req = requests(door, mock, floor.url, [a.url, b.url], key);
        log(`round ${round + 1}/${ROUNDS}: ${door} ...`);
        await sample(req.ways, req.plain, WARMUP);
        await sample(req.ways, req.stream, WARMUP);
        const plain = await sample(req.ways, req.plain, N);
        const stream = await sample(req.ways, req.stream, N);
        const rows: [string, number[][]][] = [
          [`${door} non-streaming`, plain.map((ts) => ts.map((t) => t.totalMs))],
          [`${door} stream first byte`, stream.map((ts) => ts.map((t) => t.firstByteMs))],
          [`${door} stream total`, stream.map((ts) => ts.map((t) => t.totalMs))],
        ];
        for (const [label, ways] of rows) {
          const stats = ways.map((xs) => [pct(xs, 50), pct(xs, 99)]);
          const [f50, f99] = stats[1] as number[];
          const over = (i: number) => [(stats[i]?.[0] ?? 0) - (f50 ?? 0), (stats[i]?.[1] ?? 0) - (f99 ?? 0)];
          const line = [...over(2), ...over(3)];
          const list = results[label] ?? [];
          list.push(line);
          results[label] = list;
          log(
            `  ${label.padEnd(28)} ${stats.map((s, i) => `${LABELS[i]} ${r2(s[0] ?? 0)}/${r2(s[1] ?? 0)}`).join("  ")}  | A+ ${r2(line[0] ?? 0)}/${r2(line[1] ?? 0)}  B+ ${r2(line[2] ?? 0)}/${r2(line[3] ?? 0)}`,
          );
        }
      }
    }
    console.log(
      `\nload average ${loadavg()
        .map((v) => v.toFixed(2))
        .join(" ")}; base ${BASE}; n=${N} × ${ROUNDS} rounds`,
    );
    console.log(
      "| row | A over floor p50 / p99 | B over floor p50 / p99 | (median of rounds; per-round p50s) |",
    );
    console.log("|---|--:|--:|---|");
    for (const [label, lines] of Object.entries(results)) {
      const col = (i: number) => median(lines.map((l) => l[i] ?? 0));
      const per = (i: number) => lines.map((l) => r2(l[i] ?? 0)).join(" ");
      console.log(
        `| ${label} | ${r2(col(0))} / ${r2(col(1))} | ${r2(col(2))} / ${r2(col(3))} | A ${per(0)}; B ${per(2)} |`,
      );
    }
  } finally {
    await sides?.dispose();
    for (const m of mocks) m.stop();
  }
}

await main();
