/**
 * An in-process webhook receiver for scripts (node:http on 127.0.0.1): records every delivery with the
 * verdict of its Standard Webhooks signature, and answers 204 when it verifies, 401 when it does not (as
 * `npm run webhook:listen` does), so the gate retries a delivery it signed wrongly.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { type Verdict, verifyWebhook } from "./webhook-verify";

export interface Delivery {
  method: string;
  path: string;
  /** The `webhook-id` header, "" when missing. */
  id: string;
  timestamp: string;
  /** The raw body, exactly as signed. */
  body: string;
  /** Checked on arrival, against the clock of that moment. */
  verdict: Verdict;
  receivedAtMs: number;
}

export interface WebhookReceiver {
  /** The URL to give the gate as WEBHOOK_URL. */
  url: string;
  /** Every request received, in arrival order. */
  deliveries: Delivery[];
  close: () => Promise<void>;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Listen on a free port of 127.0.0.1; deliveries to any path are recorded (`url` ends with `path`). `answer`,
 * when given, picks the status of each answer instead (e.g. 400 to make the gate mark events `failed`).
 */
export async function startWebhookReceiver(
  secret: string,
  path = "/hooks",
  answer?: (delivery: Delivery) => number,
): Promise<WebhookReceiver> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const verdict = verifyWebhook(
        secret,
        {
          id: header(req, "webhook-id"),
          timestamp: header(req, "webhook-timestamp"),
          signature: header(req, "webhook-signature"),
        },
        body,
      );
      const delivery: Delivery = {
        method: req.method ?? "",
        path: new URL(req.url ?? "/", "http://receiver").pathname,
        id: header(req, "webhook-id") ?? "",
        timestamp: header(req, "webhook-timestamp") ?? "",
        body,
        verdict,
        receivedAtMs: Date.now(),
      };
      deliveries.push(delivery);
      res.writeHead(answer?.(delivery) ?? (verdict.ok ? 204 : 401)).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    deliveries,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One line per delivery the receiver got (the last 20), for a failure report. */
export function describeDeliveries(deliveries: Delivery[]): string {
  if (deliveries.length === 0) return "none";
  const shown = deliveries.slice(-20).map((d) => {
    const verdict = d.verdict.ok ? "verified" : `REJECTED (${d.verdict.reason})`;
    return `\n    ${d.method} ${d.path} ${d.id || "(no webhook-id)"} ${verdict} ${d.body.slice(0, 100)}`;
  });
  const earlier = deliveries.length - shown.length;
  return `${earlier > 0 ? `(${earlier} earlier not shown)` : ""}${shown.join("")}`;
}
