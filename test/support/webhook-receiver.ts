/**
 * A webhook receiver for tests, on 127.0.0.1: records every POST (headers and raw body) and answers 204, or
 * what it was told. Control:
 * - `POST /__control/fail?count=N`: the next N deliveries (any event) answer 503;
 * - `POST /__control/answer?customer=C&seq=S&status=X[&times=N]`: deliveries of the event `seq` S of the log
 *   of C (the body's `meteredOn`) answer X, a status code or `drop` (the connection is cut: a network error),
 *   the next N times (default: always). Without `seq`, every event of C. The first matching rule wins;
 * - `POST /__control/clear?customer=C`: forget C's rules;
 * - `GET /__control/received`, `POST /__control/reset` (forgets deliveries and rules).
 * Everything else is a delivery. Test files run in parallel against one receiver: tests steer and read only
 * their own customers (rules and `received?customer=C`), never `fail` or `reset`, which touch everyone.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The status answered; 0 when the connection was cut. */
  status: number;
  /** The body's `meteredOn`: whose log the event is from. */
  customer: string;
}

interface AnswerRule {
  customer: string;
  seq: number | null;
  status: number | "drop";
  remaining: number;
}

type EventFields = { meteredOn?: unknown; seq?: unknown };

function parseEvent(body: string): EventFields {
  try {
    return JSON.parse(body) as EventFields;
  } catch {
    return {};
  }
}

/** The rule answering a delivery of this event, if any (spending one of its times). */
function takeRule(rules: AnswerRule[], event: EventFields): AnswerRule | null {
  const rule = rules.find(
    (r) => r.remaining > 0 && r.customer === event.meteredOn && (r.seq === null || r.seq === event.seq),
  );
  if (rule !== undefined) rule.remaining -= 1;
  return rule ?? null;
}

export async function startWebhookReceiver(): Promise<{ server: Server; url: string }> {
  let failNext = 0;
  let received: ReceivedWebhook[] = [];
  let rules: AnswerRule[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://receiver");
      const q = url.searchParams;
      if (url.pathname === "/__control/fail") {
        failNext = Number(q.get("count") ?? "0");
        res.writeHead(204).end();
      } else if (url.pathname === "/__control/answer") {
        const status = q.get("status") ?? "204";
        rules.push({
          customer: q.get("customer") ?? "",
          seq: q.has("seq") ? Number(q.get("seq")) : null,
          status: status === "drop" ? "drop" : Number(status),
          remaining: q.has("times") ? Number(q.get("times")) : Number.POSITIVE_INFINITY,
        });
        res.writeHead(204).end();
      } else if (url.pathname === "/__control/clear") {
        rules = rules.filter((r) => r.customer !== q.get("customer"));
        res.writeHead(204).end();
      } else if (url.pathname === "/__control/received") {
        const customer = q.get("customer");
        const list = customer === null ? received : received.filter((r) => r.customer === customer);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(list));
      } else if (url.pathname === "/__control/reset") {
        failNext = 0;
        received = [];
        rules = [];
        res.writeHead(204).end();
      } else {
        const body = Buffer.concat(chunks).toString("utf8");
        const event = parseEvent(body);
        const rule = takeRule(rules, event);
        let status: number | "drop" = rule?.status ?? 204;
        if (rule === null && failNext > 0) {
          status = 503;
          failNext -= 1;
        }
        received.push({
          id: String(req.headers["webhook-id"] ?? ""),
          timestamp: String(req.headers["webhook-timestamp"] ?? ""),
          signature: String(req.headers["webhook-signature"] ?? ""),
          body,
          status: status === "drop" ? 0 : status,
          customer: String(event.meteredOn ?? ""),
        });
        if (status === "drop") req.socket.destroy();
        else res.writeHead(status).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}
