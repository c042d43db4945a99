/**
 * A webhook receiver for tests, on 127.0.0.1: records every POST (headers and raw body) and can be told to
 * fail the next N attempts. Control: `POST /__control/fail?count=N`, `GET /__control/received`,
 * `POST /__control/reset`. Everything else is a delivery.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  status: number;
}

export async function startWebhookReceiver(): Promise<{ server: Server; url: string }> {
  let failNext = 0;
  let received: ReceivedWebhook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://receiver");
      if (url.pathname === "/__control/fail") {
        failNext = Number(url.searchParams.get("count") ?? "0");
        res.writeHead(204).end();
      } else if (url.pathname === "/__control/received") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(received));
      } else if (url.pathname === "/__control/reset") {
        failNext = 0;
        received = [];
        res.writeHead(204).end();
      } else {
        const status = failNext > 0 ? 503 : 204;
        if (failNext > 0) failNext -= 1;
        received.push({
          id: String(req.headers["webhook-id"] ?? ""),
          timestamp: String(req.headers["webhook-timestamp"] ?? ""),
          signature: String(req.headers["webhook-signature"] ?? ""),
          body: Buffer.concat(chunks).toString("utf8"),
          status,
        });
        res.writeHead(status).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}
