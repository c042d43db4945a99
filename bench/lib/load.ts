/**
 * Load runs with autocannon: a fixed number of keep-alive connections for a fixed time, each request's
 * latency kept at full precision (autocannon's own histogram rounds to whole milliseconds), and the worker's
 * RSS sampled from /proc while the load runs.
 */
import autocannon from "autocannon";
import { cpuMs, totalRssBytes } from "./runtime";

export interface LoadTarget {
  label: string;
  url: URL;
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  /** Bodies sent in turn, one per request (spreads load over customers). */
  bodies?: string[];
  /** workerd processes to sample for RSS. */
  pids: number[];
}

export interface LoadResult {
  label: string;
  /** Requests set up (bodies handed out); in-flight ones at the end are cut off without an answer. */
  sent: number;
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  peakRssBytes: number | null;
  /** CPU time the serving workerd process(es) used per answered request, in µs (from /proc). */
  workerCpuUsPerRequest: number;
  /** CPU time this process (the load generator) used per answered request, in µs. */
  clientCpuUsPerRequest: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** A result with its sorted latencies (kept out of results.json). */
export interface Measured extends LoadResult {
  latencies: number[];
}

/** Run `target` with `connections` for `seconds`; answers the measured result. */
export async function runLoad(target: LoadTarget, connections: number, seconds: number): Promise<Measured> {
  const latencies: number[] = [];
  const bodies = target.bodies;
  let next = 0;
  let peakRss: number | null = null;
  const sample = () => {
    const total = totalRssBytes(target.pids);
    if (total > 0) peakRss = Math.max(peakRss ?? 0, total);
  };
  const workerCpu = () => target.pids.reduce((sum, pid) => sum + (cpuMs(pid) ?? 0), 0);
  const cpuBefore = workerCpu();
  const clientBefore = process.cpuUsage();
  const sampler = setInterval(sample, 200);
  const options: autocannon.Options = {
    url: new URL(target.path, target.url).toString(),
    connections,
    duration: seconds,
    requests: [
      {
        method: target.method,
        headers: target.headers ?? {},
        ...(bodies === undefined
          ? {}
          : {
              setupRequest: (request: autocannon.Request) => {
                request.body = bodies[next % bodies.length];
                next += 1;
                return request;
              },
            }),
      },
    ],
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error, done) => (error ? reject(error) : resolve(done)));
    instance.on("response", (_client, _status, _bytes, responseTimeMs) => {
      latencies.push(responseTimeMs);
    });
  });
  clearInterval(sampler);
  sample();
  const workerCpuMs = workerCpu() - cpuBefore;
  const client = process.cpuUsage(clientBefore);
  latencies.sort((a, b) => a - b);
  const ok2xx = (result as unknown as Record<string, number>)["2xx"] ?? 0;
  const requests = latencies.length;
  return {
    label: target.label,
    sent: bodies === undefined ? requests : next,
    requests,
    ok2xx,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    seconds: result.duration,
    rps: requests / result.duration,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    meanMs: latencies.reduce((sum, v) => sum + v, 0) / Math.max(1, requests),
    peakRssBytes: peakRss,
    workerCpuUsPerRequest: (workerCpuMs * 1000) / Math.max(1, requests),
    clientCpuUsPerRequest: (client.user + client.system) / Math.max(1, requests),
    latencies,
  };
}

/** Merge rounds of one target: throughput over the total time, percentiles over every request. */
export function mergeRounds(rounds: Measured[]): Measured {
  const first = rounds[0] as Measured;
  const seconds = rounds.reduce((s, r) => s + r.seconds, 0);
  const latencies = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const requests = latencies.length;
  const peaks = rounds.map((r) => r.peakRssBytes).filter((v): v is number => v !== null);
  return {
    label: first.label,
    sent: rounds.reduce((s, r) => s + r.sent, 0),
    requests,
    ok2xx: rounds.reduce((s, r) => s + r.ok2xx, 0),
    non2xx: rounds.reduce((s, r) => s + r.non2xx, 0),
    errors: rounds.reduce((s, r) => s + r.errors, 0),
    seconds,
    rps: requests / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    meanMs: latencies.reduce((sum, v) => sum + v, 0) / Math.max(1, requests),
    peakRssBytes: peaks.length === 0 ? null : Math.max(...peaks),
    workerCpuUsPerRequest:
      rounds.reduce((s, r) => s + r.workerCpuUsPerRequest * r.requests, 0) / Math.max(1, requests),
    clientCpuUsPerRequest:
      rounds.reduce((s, r) => s + r.clientCpuUsPerRequest * r.requests, 0) / Math.max(1, requests),
    latencies,
  };
}

/** The result without its latencies, for results.json. */
export function summary(measured: Measured): LoadResult {
  const { latencies: _latencies, ...rest } = measured;
  return rest;
}
