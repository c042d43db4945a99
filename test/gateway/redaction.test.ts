/**
 * Secrets on every path (SPEC §11 "Secrets"), issue 9 finding 3: a non-2xx upstream answer on the models and
 * passthrough paths is read and redacted like the metered path's; the customer's key never goes upstream;
 * the upstream's organisation and rate-limit headers never come back.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { putPolicy } from "../support/api";
import {
  GATEWAY_BASE,
  GATEWAY_POLICY,
  HELLO,
  newCustomer,
  newTag,
  storeGatewayPolicy,
  upstreamSaw,
} from "./helpers";

const UPSTREAM_KEY = "sk-test-upstream";
const WITH_PASSTHROUGH = GATEWAY_POLICY.replace(
  "gateway:\n",
  'gateway:\n  passthrough: ["GET files", "POST audio/*"]\n',
);

/** A raw call (the whole answer is inspected, headers included). */
async function send(
  path: string,
  key: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
) {
  const res = await SELF.fetch(`${GATEWAY_BASE}/${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...init.headers },
    body: init.body,
  });
  const text = await res.text();
  const headers = [...res.headers].map(([name, value]) => `${name}: ${value}`).join("\n");
  return { status: res.status, text, headers, res };
}

async function expectRedacted(method: string, path: string, body: string | undefined) {
  const { key } = await newCustomer("free");
  for (const status of ["500", "400", "404", "429"]) {
    const reply = await send(path, key, {
      method,
      body,
      headers: { "x-mock-mode": "error", "x-mock-status": status },
    });
    expect(reply.status).toBe(Number(status));
    expect(`${reply.headers}\n${reply.text}`).not.toContain(UPSTREAM_KEY);
    expect(JSON.parse(reply.text).error.message).toContain("for Bearer [redacted]");
    expect(reply.res.headers.get("x-mock-echo")).toBe("authorization=Bearer [redacted]");
    // The gateway's own upstream account is not the caller's business.
    expect(reply.res.headers.get("openai-organization")).toBeNull();
    expect(reply.res.headers.get("x-ratelimit-remaining-tokens")).toBeNull();
  }
}

describe("every upstream error is redacted (finding 3)", () => {
  describe("on the door's own endpoints", () => {
    beforeAll(storeGatewayPolicy);
    it.each([
      ["GET", "models", undefined],
      ["GET", "models/gpt-4o", undefined],
      ["POST", "chat/completions", JSON.stringify({ model: "gpt-4o", messages: HELLO })],
    ])("%s %s: the upstream key is gone from body and headers", expectRedacted);
  });

  describe("on gateway.passthrough paths", () => {
    beforeAll(() => putPolicy(WITH_PASSTHROUGH));
    it.each([
      ["GET", "files", undefined],
      ["POST", "audio/transcriptions", "{}"],
    ])("%s %s: the upstream key is gone from body and headers", expectRedacted);

    it("a 2xx on a forwarded path drops the upstream's account headers too", async () => {
      const { key } = await newCustomer("free");
      const reply = await send("files", key, {});
      expect(reply.status).toBe(200);
      expect(reply.res.headers.get("openai-organization")).toBeNull();
      expect(reply.res.headers.get("x-ratelimit-remaining-tokens")).toBeNull();
      expect(reply.res.headers.get("x-upstream-request-id")).toMatch(/^req_mock_/);
    });
  });
});

// GET files is open (the policy of the describe above): any forwarded path shows what goes upstream.
describe("the customer's key never goes upstream", () => {
  it("not as Authorization, x-api-key, api-key, or inside any other header", async () => {
    const { key } = await newCustomer("free");
    const tag = newTag();
    await send("files", key, {
      headers: {
        "x-mock-tag": tag,
        "x-api-key": key,
        "api-key": key,
        "x-debug": `client=${key}`,
        "openai-organization": "org-client",
        "openai-project": "proj-client",
      },
    });
    const seen = (await upstreamSaw(tag)).last;
    expect(JSON.stringify(seen.headers)).not.toContain(key);
    expect(seen.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(seen.headers["openai-organization"]).toBeUndefined();
    expect(seen.headers["openai-project"]).toBeUndefined();
  });
});
