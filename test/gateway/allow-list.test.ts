/**
 * Endpoints and nothing else (SPEC §6, §11 "Gateway paths"), issue 9 findings 1 and 2: a customer's key
 * reaches only the door's endpoints, and only under their plain spelling; `gateway.passthrough` opens more.
 * Everything refused here is 404 in OpenAI's shape, never reaches the upstream and counts nothing.
 */
import { SELF } from "cloudflare:test";
import OpenAI, { type APIError, toFile } from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { call, putPolicy } from "../support/api";
import { MOCK_ACCOUNT_FILE } from "../support/mock-upstream";
import {
  GATEWAY_BASE,
  GATEWAY_POLICY,
  gatewayClient,
  meterOf,
  newCustomer,
  newTag,
  storeGatewayPolicy,
  upstreamSaw,
} from "./helpers";

const WITH_PASSTHROUGH = GATEWAY_POLICY.replace(
  "gateway:\n",
  'gateway:\n  passthrough: ["GET files", "POST audio/*"]\n',
);

async function failure(promise: Promise<unknown>): Promise<APIError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as APIError;
}

/** A raw request to the gateway over SELF (the path goes as written, but for what `new URL()` resolves). */
async function raw(method: string, path: string, key: string, tag: string, body?: unknown) {
  const res = await SELF.fetch(`${GATEWAY_BASE}/${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-mock-tag": tag },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { error: Record<string, unknown> } };
}

const NOT_FOUND = { type: "invalid_request_error", code: "unknown_url", param: null };

describe("without gateway.passthrough", () => {
  beforeAll(storeGatewayPolicy);

  it("GET files with a customer's key never reaches the upstream (finding 1)", async () => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    const error = await failure(gatewayClient(key, { tag }).files.list());
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.error).toMatchObject(NOT_FOUND);
    expect((await upstreamSaw(tag)).count).toBe(0);
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 0 });
  });

  it("batches, uploads, deletions and stored responses are refused the same way", async () => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    const client = gatewayClient(key, { tag });
    const file = await toFile(Buffer.from("{}"), "a.jsonl");
    const calls: (() => Promise<unknown>)[] = [
      () => client.batches.list(),
      () => client.files.delete("file-1"),
      () => client.files.create({ file, purpose: "batch" }),
      () => client.responses.retrieve("resp_1"),
      () => client.models.delete("ft:gpt-4o:x"),
      () => client.chat.completions.list(),
    ];
    for (const call of calls) expect((await failure(call())).error).toMatchObject(NOT_FOUND);
    expect((await upstreamSaw(tag)).count).toBe(0);
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 0 });
  });

  it("GET models/{id} is forwarded and counts one request", async () => {
    const { id, key } = await newCustomer("free");
    const model = await gatewayClient(key).models.retrieve("gpt-4o");
    expect(model.id).toBe("gpt-4o");
    const missing = await failure(gatewayClient(key).models.retrieve("no-such-model"));
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.code).toBe("model_not_found");
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 2 });
  });

  // Spellings that survive `new URL()`; SELF hands them to the Worker as written (finding 2). Before issue 9,
  // each was forwarded: an unmapped model got a 200 and nothing was metered.
  it.each([
    ["POST", "%63hat/completions"],
    ["POST", "chat/completions/"],
    ["POST", "chat//completions"],
    ["POST", "/chat/completions"],
    ["POST", "..%2fchat/completions"],
    ["POST", "chat%2fcompletions"],
    ["POST", "chat/completions%00"],
    ["POST", "chat/completions%20"],
    ["GET", "models/"],
    ["GET", "models/gpt-4o/"],
    ["GET", "%6dodels"],
    ["GET", "models/gpt%2D4o"],
    ["GET", "files"],
    ["GET", "..%2f..%2fv1/files"],
    ["POST", "chat/completions/..%2f..%2ffiles"],
  ])("%s %s is 404 unknown_url and never reaches the upstream", async (method, path) => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    const body =
      method === "POST"
        ? { model: "unmapped-model", messages: [{ role: "user", content: "hi" }] }
        : undefined;
    const res = await raw(method, path, key, tag, body);
    expect({ status: res.status, error: res.json.error }).toMatchObject({ status: 404, error: NOT_FOUND });
    expect((await upstreamSaw(tag)).count).toBe(0);
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 0 });
  });

  it("a spelling `new URL()` resolves is judged as the path it resolves to", async () => {
    // `chat/./completions` arrives as `chat/completions` (workerd resolves it too): metered like it, so an
    // unmapped model is still 403 and the upstream is never called.
    const { key } = await newCustomer("free");
    const tag = newTag();
    const body = { model: "unmapped-model", messages: [{ role: "user", content: "hi" }] };
    for (const path of ["chat/./completions", "x/../chat/completions", "chat\\completions"]) {
      const res = await raw("POST", path, key, tag, body);
      expect({ status: res.status, code: res.json.error.code }).toEqual({
        status: 403,
        code: "model_not_allowed",
      });
    }
    expect((await raw("GET", "chat/../files", key, tag)).status).toBe(404);
    expect((await upstreamSaw(tag)).count).toBe(0);
  });

  it("an unknown key is 401 before the path's 404 can tell it anything about the policy", async () => {
    const tag = newTag();
    const res = await raw("GET", "files", "sk-no-such-key", tag);
    expect({ status: res.status, code: res.json.error.code }).toEqual({
      status: 401,
      code: "invalid_api_key",
    });
    expect((await upstreamSaw(tag)).count).toBe(0);
  });
});

describe("with gateway.passthrough", () => {
  beforeAll(() => putPolicy(WITH_PASSTHROUGH));

  it("opens exactly what it lists: forwarded unmetered, one request each", async () => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    const client = gatewayClient(key, { tag });
    const files = await client.files.list();
    expect(files.data.map((file) => file.id)).toEqual([MOCK_ACCOUNT_FILE]);
    const transcript = await client.audio.transcriptions.create({
      file: await toFile(Buffer.from("RIFF...."), "a.wav"),
      model: "whisper-1",
    });
    expect(transcript.text).toBe("Hello from the mock upstream.");
    expect((await upstreamSaw(tag)).last).toMatchObject({ method: "POST", path: "/v1/audio/transcriptions" });
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 2 });
    expect(await meterOf(id, "gpt4o_tokens")).toMatchObject({ used: 0, held: 0 });
    // Another method, a deeper path or an odd spelling of a listed one stays closed.
    expect((await failure(client.files.delete("file-1"))).error).toMatchObject(NOT_FOUND);
    expect((await failure(client.files.retrieve("file-1"))).error).toMatchObject(NOT_FOUND);
    expect((await raw("GET", "fil%65s", key, tag)).status).toBe(404);
    expect((await raw("GET", "files/", key, tag)).status).toBe(404);
    expect((await upstreamSaw(tag)).count).toBe(2);
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 2 });
  });

  it("the upstream gets the base URL, the canonical path and the original query string", async () => {
    const { key } = await newCustomer("free");
    const tag = newTag();
    await SELF.fetch(`${GATEWAY_BASE}/files?purpose=batch&after=a%2Fb&x=%25`, {
      headers: { authorization: `Bearer ${key}`, "x-mock-tag": tag },
    });
    expect((await upstreamSaw(tag)).last.path).toBe("/v1/files?purpose=batch&after=a%2Fb&x=%25");
  });
});

describe("gateway.passthrough in a policy", () => {
  it("a malformed entry is 400 invalid_policy with the entry's path, and the active policy stays", async () => {
    const before = await putPolicy(WITH_PASSTHROUGH);
    const bad = GATEWAY_POLICY.replace(
      "gateway:\n",
      'gateway:\n  passthrough: ["GET files", "files", "GET ../x"]\n',
    );
    const res = await call("PUT", "/v1/policy", bad, { "Content-Type": "application/yaml" });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_policy");
    expect(res.json.error.details.issues.map((issue: { path: string }) => issue.path)).toEqual([
      "gateway.passthrough.1",
      "gateway.passthrough.2",
    ]);
    expect((await call("GET", "/v1/policy")).json.version).toBe(before);
  });
});
