/** Shared pieces of the load and fault suite: the client, the suite's policy, a seeded PRNG, raw HTTP. */
import { connect } from "node:net";
import { inject } from "vitest";
import { GateClient } from "../../bench/lib/client";

export { type Json, pool } from "../../bench/lib/client";

/** A client of the server the global setup started. */
export function gate(): GateClient {
  return new GateClient(new URL(inject("gateUrl")), inject("adminToken"));
}

/**
 * The suite's policy. `team` (the default) meters, per customer, a hard token counter, MB storage and a soft
 * counter; per org, a seat gauge (the race) and a shared token counter. Limits are set so the load run denies
 * plenty: every org's seats are oversubscribed about five times, customers' tokens about twice. `burst` is
 * small, for the soak's holds to crowd out consumes.
 */
export const LOAD_POLICY = `
credits:
  seat: { label: Seat }
  token: { label: Token }
  mb: { label: Megabyte, unit: MB }
plans:
  team:
    default: true
    entitlements:
      chat: {}
      seats:
        scope: org
        limit: { credit: seat, value: 40 }
      org_tokens:
        scope: org
        limit: { credit: token, value: 1000000 }
      tokens:
        limit: { credit: token, value: 2000 }
      storage:
        limit: { credit: mb, value: 1GB }
      soft_tokens:
        limit: { credit: token, value: 300, mode: soft }
      burst:
        limit: { credit: token, value: 50 }
`;

/** Store the suite's policy (the same version whichever file stores it first). */
export async function putLoadPolicy(client: GateClient): Promise<string> {
  return client.putPolicy(LOAD_POLICY);
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with the same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RawReply {
  /** The status code, or null when the server closed without an answer. */
  status: number | null;
  /** Header lines as received (lower-cased names). */
  headers: [string, string][];
  head: string;
  body: string;
}

/**
 * Send bytes as they are over a fresh TCP connection (fetch refuses malformed headers) and read one answer.
 * The connection is closed after the first response, or when the server closes it.
 */
export function rawRequest(url: string, bytes: string | Buffer, timeoutMs = 10_000): Promise<RawReply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let data = Buffer.alloc(0);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseRaw(data.toString("latin1")));
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (completeResponse(data.toString("latin1"))) finish();
    });
    socket.on("error", () => finish());
    socket.on("close", () => finish());
  });
}

function completeResponse(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const head = text.slice(0, end);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length !== null) return text.length - end - 4 >= Number(length[1]);
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) return text.endsWith("0\r\n\r\n");
  return false;
}

function parseRaw(text: string): RawReply {
  const end = text.indexOf("\r\n\r\n");
  const head = end < 0 ? text : text.slice(0, end);
  const lines = head.split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  const headers = lines.slice(1).map((line): [string, string] => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  });
  return {
    status: status === null ? null : Number(status[1]),
    headers,
    head,
    body: end < 0 ? "" : text.slice(end + 4),
  };
}
