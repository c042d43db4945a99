import { loadavg } from "node:os";
import { serveAb } from "./lib/ab";
import { numberOption, option } from "./lib/args";
import { GateClient, pool } from "./lib/client";
import { type LoadTarget, runLoad } from "./lib/load";
import { benchPolicy } from "./lib/policy";

const BASE = option("--base", "HEAD");
const ROUNDS = numberOption("--rounds", 5);
const SECONDS = numberOption("--seconds", 3);
const CONNECTIONS = numberOption("--connections", 32);
const ONLY = option("--only", "");
const CUSTOMERS = 256;
const log = (line: string) => process.stderr.write(`${line}\n`);

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => {
  const s = sorted(xs);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const spread = (xs: number[], digits: number) => {
  const s = sorted(xs);
  return `${(s[0] ?? 0).toFixed(digits)}–${(s[s.length - 1] ?? 0).toFixed(digits)}`;
};

/** What one side answers: status, body bytes, header count and bytes (as the client receives them). */
async function answerShape(url: URL, init: RequestInit): Promise<string> {
  const res = await fetch(url, init);
  const body = await res.text();
  const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`);
  const headerBytes = headers.reduce((s, h) => s + h.length + 2, 0);
  return `${res.status}, body ${Buffer.byteLength(body)} B, ${headers.length} headers ${headerBytes} B\n      ${headers.join("\n      ")}\n      ${body}`;
}

async function main() {
  const { floor, a, b, token, dispose } = await serveAb(BASE, {}, log);
  try {
    log(`floor pid ${floor.pids}, A pid ${a.pids}, B pid ${b.pids}`);

    const customers = Array.from({ length: CUSTOMERS }, (_, i) => `ab_c${String(i).padStart(4, "0")}`);
    const spreadBodies = customers.map((customer) =>
      JSON.stringify({ customer, entitlement: "gpt4o_tokens", amount: 1 }),
    );
    for (const p of [a, b]) {
      const client = new GateClient(p.url, token);
      await client.putPolicy(benchPolicy());
      await pool(customers, 8, (id) => client.putCustomer(id, { plan: "pro" }));
      await pool(spreadBodies, 8, (body) => client.expect("POST", "/v1/consume", body));
    }
    const floorClient = new GateClient(floor.url, token);
    await pool(spreadBodies, 8, (body) => floorClient.expect("POST", "/baseline", body));

    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const consumeInit = { method: "POST", headers, body: spreadBodies[0] as string };
    for (const [label, side, path] of [
      ["floor", floor, "/healthz"],
      ["A", a, "/healthz"],
      ["B", b, "/healthz"],
      ["floor", floor, "/baseline"],
      ["A", a, "/v1/consume"],
      ["B", b, "/v1/consume"],
    ] as const) {
      const init = path === "/healthz" ? {} : consumeInit;
      log(`  ${label} ${path}: ${await answerShape(new URL(path, side.url), init)}`);
    }

    const targets: Record<string, LoadTarget> = {
      healthzFloor: {
        label: "healthzFloor",
        url: floor.url,
        method: "GET",
        path: "/healthz",
        pids: floor.pids,
      },
      healthzA: { label: "healthzA", url: a.url, method: "GET", path: "/healthz", pids: a.pids },
      healthzB: { label: "healthzB", url: b.url, method: "GET", path: "/healthz", pids: b.pids },
      consumeFloor: {
        label: "consumeFloor",
        url: floor.url,
        method: "POST",
        path: "/baseline",
        headers,
        bodies: spreadBodies,
        pids: floor.pids,
      },
      consumeA: {
        label: "consumeA",
        url: a.url,
        method: "POST",
        path: "/v1/consume",
        headers,
        bodies: spreadBodies,
        pids: a.pids,
      },
      consumeB: {
        label: "consumeB",
        url: b.url,
        method: "POST",
        path: "/v1/consume",
        headers,
        bodies: spreadBodies,
        pids: b.pids,
      },
    };
    const groups = [
      ["healthzFloor", "healthzA", "healthzB"],
      ["consumeFloor", "consumeA", "consumeB"],
    ].filter((group) => ONLY === "" || (group[0] as string).startsWith(ONLY));
    log(`warm-up: 1 s each at ${CONNECTIONS} connections ...`);
    for (const name of groups.flat()) await runLoad(targets[name] as LoadTarget, CONNECTIONS, 1);

    type Row = { rps: number; cpu: number; client: number; p99: number; bad: number };
    const rows: Record<string, Row[]> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const group of groups) {
        // Rotate the order within a group each round, so no side always runs first or last.
        const order = group.map((_, i) => group[(i + round) % group.length] as string);
        for (const name of order) {
          const m = await runLoad(targets[name] as LoadTarget, CONNECTIONS, SECONDS);
          const list = rows[name] ?? [];
          list.push({
            rps: m.rps,
            cpu: m.workerCpuUsPerRequest,
            client: m.clientCpuUsPerRequest,
            p99: m.p99Ms,
            bad: m.non2xx + m.errors,
          });
          rows[name] = list;
        }
      }
      const parts = groups.map((group) => {
        const [f, ...sides] = group.map((name) => rows[name]?.[round] as Row);
        const over = sides.map((s, i) => `${"AB"[i]} ${(s.rps / (f as Row).rps).toFixed(3)}`).join(" ");
        const cpu = [f, ...sides].map((s) => (s as Row).cpu.toFixed(0)).join("/");
        return `${(group[0] as string).replace("Floor", "")} ${over} cpu µs/req ${cpu}`;
      });
      log(`round ${round + 1}/${ROUNDS}: ${parts.join(" | ")}`);
    }

    const col = (name: string, f: (r: Row) => number) => (rows[name] ?? []).map(f);
    const ratio = (name: string, floorName: string) =>
      (rows[name] ?? []).map((r, i) => r.rps / ((rows[floorName] ?? [])[i] as Row).rps);
    console.log(
      `\nload average ${loadavg()
        .map((v) => v.toFixed(2))
        .join(" ")}; base ${BASE}; ${ROUNDS} rounds × ${SECONDS} s at ${CONNECTIONS} connections`,
    );
    console.log(
      "| row | req/s (median) | over floor (median, range) | workerd CPU µs/req | client CPU µs/req | p99 ms | non-2xx |",
    );
    console.log("|---|--:|--:|--:|--:|--:|--:|");
    for (const group of groups) {
      const floorName = group[0] as string;
      for (const name of group) {
        const over =
          name === floorName
            ? "1"
            : `${median(ratio(name, floorName)).toFixed(3)} (${spread(ratio(name, floorName), 3)})`;
        console.log(
          `| ${name} | ${median(col(name, (r) => r.rps)).toFixed(0)} | ${over} | ${median(col(name, (r) => r.cpu)).toFixed(0)} (${spread(
            col(name, (r) => r.cpu),
            0,
          )}) | ${median(col(name, (r) => r.client)).toFixed(0)} | ${median(col(name, (r) => r.p99)).toFixed(2)} | ${col(name, (r) => r.bad).reduce((s, v) => s + v, 0)} |`,
        );
      }
    }
  } finally {
    await dispose();
  }
}

await main();
