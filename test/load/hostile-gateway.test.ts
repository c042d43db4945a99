/**
 * Hostile gateway path spellings against a real server (SPEC §11 "Gateway paths", issue 9 finding 2), sent
 * byte for byte over raw sockets: escapes, dot segments, backslashes, empty segments, control characters,
 * case, absolute-form targets. With a valid key and a body naming an unmapped model, every one is answered
 * without a 5xx, none reaches the upstream, and nothing is metered. workerd resolves some spellings (`..`,
 * `.`, `\`) before the Worker runs: those are judged as the path they resolve to, still refused here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOAD_UPSTREAM_KEY, upstreamSaw } from "./gateway-support";
import { gate, putLoadPolicy, rawRequest } from "./support";

const client = gate();
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const CUSTOMER = `gw_hostile_${run}`;
const KEY = `sk-hostile-${run}`;
const TAG = `${CUSTOMER}_tag`;

const POLICY = `
credits:
  token: {}
  request: {}
plans:
  metered:
    default: true
    entitlements:
      gpt_tokens:
        limit: { credit: token, value: 100000 }
      api_requests:
        limit: { credit: request, value: 100000 }
gateway:
  requests: api_requests
  models:
    "gpt-*": gpt_tokens
`;

const P = "/gateway/openai/v1";
/** Request targets as they go on the wire. */
const SPELLINGS = [
  `${P}/%63hat/completions`,
  `${P}/chat/completions/`,
  `${P}/chat//completions`,
  `${P}//chat/completions`,
  `${P}/chat/completions%2f`,
  `${P}/%2fchat/completions`,
  `${P}/chat%2fcompletions`,
  `${P}/..%2ffiles`,
  `${P}/..%2f..%2fv1/files`,
  `${P}/chat/completions/..%2f..%2ffiles`,
  `${P}/chat/../files`,
  `${P}/./files`,
  `${P}/.%2e/files`,
  `${P}/%2e%2e/files`,
  `${P}/chat%2e%2e/files`,
  `${P}/chat/./completions`,
  `${P}/x/../chat/completions`,
  `${P}/chat\\completions`,
  `${P}/chat\\..\\files`,
  `${P}/chat/completions%00`,
  `${P}/chat/completions%0a`,
  `${P}/chat/completions%20`,
  `${P}/chat/completions\u0001`,
  `${P}/chat/completions\u007f`,
  `${P}/chat/completions;x=1`,
  `${P}/CHAT/COMPLETIONS`,
  `${P}/chat/completions/..`,
  `${P}/files`,
  `${P}/files?purpose=batch`,
  `${P}/batches`,
  `${P}/uploads`,
  `${P}/responses/resp_1`,
  `${P}/models/`,
  `${P}/models/gpt-4o/`,
  `${P}/%6dodels`,
  `${P}/models/gpt%2D4o`,
  `${P}/é`,
  `${P}`,
  `${P}/`,
  "/gateway/openai/V1/chat/completions",
  `/${P}/files`,
  `http://evil.example${P}/files`,
  `http://evil.example${P}/%63hat/completions`,
];

const BODY = JSON.stringify({ model: "unmapped-model", messages: [{ role: "user", content: "hi" }] });

function request(method: string, target: string, tag: string): Buffer {
  const head = [
    `${method} ${target} HTTP/1.1`,
    "Host: gate.test",
    `Authorization: Bearer ${KEY}`,
    "Content-Type: application/json",
    `x-mock-tag: ${tag}`,
    `Content-Length: ${method === "POST" ? Buffer.byteLength(BODY) : 0}`,
    "Connection: close",
  ].join("\r\n");
  return Buffer.concat([
    Buffer.from(`${head}\r\n\r\n`, "latin1"),
    Buffer.from(method === "POST" ? BODY : ""),
  ]);
}

describe("hostile gateway paths", () => {
  beforeAll(async () => {
    await client.putPolicy(POLICY);
    await client.putCustomer(CUSTOMER, { alternateIds: [KEY] });
  });
  afterAll(async () => {
    await putLoadPolicy(client);
  });

  // Each case has its own upstream counter, so one that gets through shows up alone.
  const cases = SPELLINGS.flatMap((target) => [["POST", target] as const, ["GET", target] as const]);
  it.each(cases.map(([method, target], index) => [method, target, `${TAG}_${index}`] as const))(
    "%s %j: no 5xx, no upstream",
    async (method, target, tag) => {
      const reply = await rawRequest(inject(), request(method, target, tag));
      // A status the runtime gave (400 for a malformed target) or the gate's refusal; never a 5xx.
      expect(reply.status, reply.head).not.toBeNull();
      expect(reply.status, reply.body).toBeLessThan(500);
      expect([400, 401, 403, 404]).toContain(reply.status);
      expect(`${reply.head}\n${reply.body}`).not.toContain(LOAD_UPSTREAM_KEY);
      expect((await upstreamSaw(tag)).count).toBe(0);
    },
  );

  it("none of them was metered", async () => {
    const view = await client.getCustomer(CUSTOMER);
    expect(view.meters.gpt_tokens).toMatchObject({ used: 0, held: 0 });
    expect(view.meters.api_requests).toMatchObject({ used: 0 });
  });

  it("the plain spelling of an allowed endpoint does reach the upstream (the counter works)", async () => {
    const reply = await rawRequest(inject(), request("GET", `${P}/models`, TAG));
    expect(reply.status).toBe(200);
    expect((await upstreamSaw(TAG)).count).toBe(1);
  });
});

function inject(): string {
  return client.base.toString();
}
