/**
 * `npm run webhook:listen [-- --port 8788 --secret whsec_…]`: a local webhook receiver that verifies each
 * delivery's Standard Webhooks signature and prints the event. The secret comes from --secret, else the
 * WEBHOOK_SECRET environment variable, else .dev.vars; with none, one is generated and written to .dev.vars
 * (git-ignored) with a matching WEBHOOK_URL, so `npm run dev` picks both up. Secrets are never printed.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { verifyWebhook } from "./lib/webhook-verify";

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

function secretFromDevVars(): string | undefined {
  if (!existsSync(".dev.vars")) return undefined;
  const line = readFileSync(".dev.vars", "utf8")
    .split("\n")
    .find((l) => l.startsWith("WEBHOOK_SECRET="));
  return line?.slice("WEBHOOK_SECRET=".length).replace(/^"|"$/g, "");
}

const port = Number(option("port") ?? 8788);
let secret = option("secret") ?? process.env.WEBHOOK_SECRET ?? secretFromDevVars();
const generated = secret === undefined;
if (secret === undefined) {
  secret = `whsec_${randomBytes(24).toString("base64")}`;
  const devVars = existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : "";
  const lines = [`WEBHOOK_SECRET=${secret}`];
  if (!/^WEBHOOK_URL=/m.test(devVars)) lines.push(`WEBHOOK_URL=http://127.0.0.1:${port}`);
  appendFileSync(
    ".dev.vars",
    `${devVars === "" || devVars.endsWith("\n") ? "" : "\n"}${lines.join("\n")}\n`,
    {
      mode: 0o600,
    },
  );
}
const seen = new Set<string>();

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const verdict = verifyWebhook(
      secret,
      {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
      },
      body,
    );
    if (!verdict.ok) {
      console.log(`✗ rejected ${header("webhook-id") ?? "(no id)"}: ${verdict.reason}`);
      res.writeHead(401).end();
      return;
    }
    const id = header("webhook-id") as string;
    const duplicate = seen.has(id);
    seen.add(id);
    const event = JSON.parse(body) as { seq: number; type: string; customer: string; entitlement?: string };
    const what = `${event.type} #${event.seq} ${event.customer}${event.entitlement ? ` ${event.entitlement}` : ""}`;
    console.log(`${duplicate ? "↺ duplicate" : "✓"} ${what}`);
    if (process.argv.includes("--json")) console.log(body);
    res.writeHead(204).end();
  });
});

server.listen(port, "127.0.0.1", () => {
  console.log(`Listening for Tollgate webhooks on http://127.0.0.1:${port}`);
  if (generated) {
    console.log("Generated a signing secret and wrote WEBHOOK_SECRET and WEBHOOK_URL to .dev.vars.");
    console.log("(Re)start the gate with `npm run dev` to deliver here.");
  } else {
    console.log(
      `Verifying with the WEBHOOK_SECRET you gave; point the gate at WEBHOOK_URL=http://127.0.0.1:${port}`,
    );
  }
});
