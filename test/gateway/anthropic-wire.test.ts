/**
 * The Anthropic door on the wire, without the SDK (SPEC §6, §11): the customer's key as `x-api-key` or
 * `Authorization: Bearer` (never sent upstream), canonical paths and the allow-list (404 `not_found_error`,
 * upstream never called), the query string forwarded, `stream` a boolean, `503` when not configured.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/index";
import { MOCK_MESSAGE_TOTAL } from "../support/mock-anthropic";
import {
  anthropicSaw,
  HELLO,
  MAX_TOKENS,
  MODEL,
  newCustomer,
  storeAnthropicPolicy,
} from "./anthropic-helpers";
import { meterOf, newTag } from "./helpers";

const DOOR = "http://gate.test/gateway/anthropic/v1";
const BODY = JSON.stringify({ model: MODEL, max_tokens: MAX_TOKENS, messages: HELLO });

beforeAll(async () => {
  await storeAnthropicPolicy();
});

function post(path: string, headers: Record<string, string>, body = BODY): Promise<Response> {
  return exports.default.fetch(`${DOOR}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...headers },
    body,
  });
}

async function expectAnthropicError(res: Response, status: number, type: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = (await res.json()) as { type: string; error: { type: string; message: string } };
  expect(body).toMatchObject({ type: "error", error: { type } });
  expect(typeof body.error.message).toBe("string");
}

describe("the customer's key", () => {
  it.each([
    ["x-api-key", (key: string) => ({ "x-api-key": key })],
    ["Authorization: Bearer", (key: string) => ({ authorization: `Bearer ${key}` })],
  ])("is accepted as %s and never sent upstream", async (_, headers) => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    const res = await post("messages", { ...headers(key), "x-mock-tag": tag });
    expect(res.status).toBe(200);
    await res.json();
    const { last } = await anthropicSaw(tag);
    expect(last.headers["x-api-key"]).toBe("sk-ant-test-upstream");
    expect(last.headers.authorization).toBeUndefined();
    expect(JSON.stringify(last.headers)).not.toContain(key);
    expect(last.headers["anthropic-version"]).toBe("2023-06-01");
    expect(await meterOf(id, "claude_tokens")).toMatchObject({ used: MOCK_MESSAGE_TOTAL });
  });

  it("none, or an unknown one, is 401 authentication_error", async () => {
    await expectAnthropicError(await post("messages", {}), 401, "authentication_error");
    await expectAnthropicError(
      await post("messages", { "x-api-key": "sk-nobody" }),
      401,
      "authentication_error",
    );
    await expectAnthropicError(
      await post("messages", { authorization: "Bearer sk-nobody" }),
      401,
      "authentication_error",
    );
  });

  it("the answer carries the RateLimit headers of the model's entitlement, without the upstream's quota", async () => {
    const { key } = await newCustomer("free");
    const res = await post("messages", { "x-api-key": key });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toContain('"claude_tokens";q=100000');
    expect(res.headers.get("anthropic-ratelimit-tokens-remaining")).toBeNull();
    expect(res.headers.get("anthropic-organization-id")).toBeNull();
    expect(res.headers.get("request-id")).toMatch(/^req_mock_/);
  });
});

describe("paths", () => {
  it.each([
    ["POST", "messages/"],
    ["POST", "messages//count_tokens"],
    ["POST", "%6dessages"],
    ["POST", "complete"],
    ["POST", "messages/batches"],
    ["GET", "messages"],
    ["GET", "files"],
    ["DELETE", "models/claude-sonnet-4-5"],
  ])("%s %s is 404 not_found_error and never reaches the upstream", async (method, path) => {
    const { key } = await newCustomer("free");
    const tag = newTag();
    const res = await exports.default.fetch(`${DOOR}/${path}`, {
      method,
      headers: { "x-api-key": key, "x-mock-tag": tag, "content-type": "application/json" },
      body: method === "GET" ? undefined : BODY,
    });
    await expectAnthropicError(res, 404, "not_found_error");
    expect((await anthropicSaw(tag)).count).toBe(0);
  });

  it("the query string goes upstream as sent (the SDK's beta calls add ?beta=true)", async () => {
    const { key } = await newCustomer("free");
    const tag = newTag();
    const res = await post("messages?beta=true", { "x-api-key": key, "x-mock-tag": tag });
    expect(res.status).toBe(200);
    await res.json();
    expect((await anthropicSaw(tag)).last.path).toBe("/v1/messages?beta=true");
  });
});

describe("bodies", () => {
  it.each([
    ["stream not a boolean", { model: MODEL, max_tokens: MAX_TOKENS, messages: HELLO, stream: "yes" }],
    ["max_tokens missing", { model: MODEL, messages: HELLO }],
    ["max_tokens zero", { model: MODEL, max_tokens: 0, messages: HELLO }],
    ["model missing", { max_tokens: MAX_TOKENS, messages: HELLO }],
  ])("%s is 400 invalid_request_error, nothing reserved", async (_, body) => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    const res = await post("messages", { "x-api-key": key, "x-mock-tag": tag }, JSON.stringify(body));
    await expectAnthropicError(res, 400, "invalid_request_error");
    expect((await anthropicSaw(tag)).count).toBe(0);
    expect(await meterOf(id, "claude_tokens")).toMatchObject({ used: 0, held: 0 });
  });

  it("a body that is not JSON is 400 invalid_request_error", async () => {
    const { key } = await newCustomer("free");
    await expectAnthropicError(
      await post("messages", { "x-api-key": key }, "{"),
      400,
      "invalid_request_error",
    );
  });
});

describe("configuration", () => {
  it("without ANTHROPIC_API_KEY the door is 503 api_error, and the OpenAI door is unaffected", async () => {
    const { key } = await newCustomer("free");
    const app = createApp();
    const res = await app.fetch(
      new Request(`${DOOR}/messages`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: BODY,
      }),
      { ...env, ANTHROPIC_API_KEY: undefined },
      createExecutionContext(),
    );
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("api_error");
    expect(body.error.message).toContain("ANTHROPIC_API_KEY");
  });
});
