/**
 * The reserved output cap goes upstream (SPEC §11 "Output caps"), issue 9 finding 4, and the order of work
 * (SPEC §11 "Order of work"): key, then body, then model; `stream` a boolean; no background responses.
 */
import { SELF } from "cloudflare:test";
import OpenAI, { type APIError } from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { MOCK_PROMPT_TOKENS } from "../support/mock-upstream";
import {
  GATEWAY_BASE,
  gatewayClient,
  HELLO,
  meterOf,
  newCustomer,
  newTag,
  storeGatewayPolicy,
  upstreamSaw,
} from "./helpers";

beforeAll(storeGatewayPolicy);

const DEFAULT_MAX_TOKENS = 100; // gateway.default_max_tokens of the test policy

async function failure(promise: Promise<unknown>): Promise<APIError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as APIError;
}

describe("the forwarded cap", () => {
  it("with no client cap, each endpoint gets the cap that was reserved", async () => {
    const { key } = await newCustomer("free");
    const tag = newTag();
    const client = gatewayClient(key, { tag });
    await client.chat.completions.create({ model: "gpt-4o", messages: HELLO });
    expect((await upstreamSaw(tag)).last.body).toMatchObject({ max_completion_tokens: DEFAULT_MAX_TOKENS });
    await client.completions.create({ model: "gpt-4o", prompt: "Say hello" });
    expect((await upstreamSaw(tag)).last.body).toMatchObject({ max_tokens: DEFAULT_MAX_TOKENS });
    await client.responses.create({ model: "gpt-4o", input: "Say hello" });
    expect((await upstreamSaw(tag)).last.body).toMatchObject({ max_output_tokens: DEFAULT_MAX_TOKENS });
    const stream = await client.chat.completions.create({ model: "gpt-4o", messages: HELLO, stream: true });
    for await (const _ of stream);
    expect((await upstreamSaw(tag)).last.body).toMatchObject({
      max_completion_tokens: DEFAULT_MAX_TOKENS,
      stream_options: { include_usage: true },
    });
    await client.embeddings.create({ model: "text-embedding-3-small", input: "x" });
    const embedding = (await upstreamSaw(tag)).last.body;
    expect(Object.keys(embedding).filter((k) => k.startsWith("max_"))).toEqual([]);
  });

  it("a client cap is forwarded unchanged, and nothing is added beside it", async () => {
    const { key } = await newCustomer("free");
    const tag = newTag();
    const client = gatewayClient(key, { tag });
    await client.chat.completions.create({ model: "gpt-4o", messages: HELLO, max_tokens: 7 });
    const chat = (await upstreamSaw(tag)).last.body;
    expect(chat.max_tokens).toBe(7);
    expect(chat).not.toHaveProperty("max_completion_tokens");
    await client.responses.create({ model: "gpt-4o", input: "x", max_output_tokens: 5000 });
    expect((await upstreamSaw(tag)).last.body).toMatchObject({ max_output_tokens: 5000 });
  });

  it("the client's bytes are kept around the added cap; a null cap is replaced", async () => {
    const { key } = await newCustomer("free");
    const tag = newTag();
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json", "x-mock-tag": tag };
    // A seed beyond 2^53 would not survive a parse and re-serialise.
    const body = `{"model":"gpt-4o","seed":123456789012345678901,"messages":[{"role":"user","content":"hi"}]}`;
    await SELF.fetch(`${GATEWAY_BASE}/chat/completions`, { method: "POST", headers, body });
    const seen = (await upstreamSaw(tag)).last;
    expect(seen.body.max_completion_tokens).toBe(DEFAULT_MAX_TOKENS);
    expect(seen.headers["content-length"]).toBe(String(body.length + `"max_completion_tokens":100,`.length));
    await SELF.fetch(`${GATEWAY_BASE}/chat/completions`, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: "gpt-4o", messages: HELLO, max_completion_tokens: null }),
    });
    expect((await upstreamSaw(tag)).last.body.max_completion_tokens).toBe(DEFAULT_MAX_TOKENS);
  });
});

describe("what bounds a hard meter", () => {
  // Plan "five": 515 tokens. A 48-character prompt reserves ceil(48 / 4) + 100 = 112, so four calls fit;
  // the prompt estimate (12) is at least what the mock reports (11), so only output can exceed it.
  const PROMPT = [{ role: "user" as const, content: "Say hello to everyone in the room, politely now." }];
  const asked = 150; // what each upstream call would report without a cap

  async function tenCalls(cap: "honour" | "ignore") {
    const { id, key } = await newCustomer("five");
    const client = gatewayClient(key);
    const headers = {
      "x-mock-total-tokens": String(asked),
      ...(cap === "ignore" ? { "x-mock-cap": "ignore" } : {}),
    };
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () =>
        client.chat.completions.create({ model: "gpt-4o", messages: PROMPT }, { headers }).then(
          () => "ok",
          (error: unknown) => (error instanceof OpenAI.RateLimitError ? "refused" : String(error)),
        ),
      ),
    );
    return { outcomes, meter: await meterOf(id, "gpt4o_tokens") };
  }

  it("an upstream that honours the cap it is sent never takes used above limit (finding 4)", async () => {
    const { outcomes, meter } = await tenCalls("honour");
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(4);
    expect(meter).toMatchObject({ used: 4 * (MOCK_PROMPT_TOKENS + DEFAULT_MAX_TOKENS), held: 0, overage: 0 });
    expect(meter.used).toBeLessThanOrEqual(meter.limit);
  });

  it("an upstream that ignores it passes the limit: the cap is what bounds the meter", async () => {
    const { outcomes, meter } = await tenCalls("ignore");
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(4);
    expect(meter).toMatchObject({ used: 4 * asked, held: 0 });
    expect(meter.used).toBeGreaterThan(meter.limit);
  });
});

describe("order of work", () => {
  it("an unknown key is 401 before the body is read: a body that never ends gets an answer", async () => {
    const tag = newTag();
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        if (pulled < 3) controller.enqueue(new TextEncoder().encode('{"model":"gpt-4o",'));
        // Then never another chunk, never the end.
      },
    });
    const res = await SELF.fetch(`${GATEWAY_BASE}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sk-nobody", "content-type": "application/json", "x-mock-tag": tag },
      body: endless,
      // @ts-expect-error: workerd takes streaming bodies without Node's `duplex` option
      duplex: "half",
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
    expect((await upstreamSaw(tag)).count).toBe(0);
  });

  it("an unknown key with a body over 16 MiB is 401, not 413; a known key gets the 413", async () => {
    const big = "x".repeat(16 * 1024 * 1024 + 1);
    const post = (key: string) =>
      SELF.fetch(`${GATEWAY_BASE}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: big,
      });
    expect((await post("sk-nobody")).status).toBe(401);
    const { key } = await newCustomer("free");
    expect((await post(key)).status).toBe(413);
  });

  it("stream must be a boolean; background responses are refused; the upstream is never called", async () => {
    const { id, key } = await newCustomer("free");
    const tag = newTag();
    const client = gatewayClient(key, { tag });
    for (const stream of ["true", 1, null, {}]) {
      const error = await failure(
        // biome-ignore lint/suspicious/noExplicitAny: the point is a value the types forbid
        client.chat.completions.create({ model: "gpt-4o", messages: HELLO, stream } as any),
      );
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error).toMatchObject({ code: "invalid_request", param: "stream" });
    }
    const background = await failure(
      client.responses.create({ model: "gpt-4o", input: "x", background: true }),
    );
    expect(background).toBeInstanceOf(OpenAI.BadRequestError);
    expect(background).toMatchObject({ code: "invalid_request", param: "background" });
    expect((await upstreamSaw(tag)).count).toBe(0);
    expect(await meterOf(id, "gpt4o_tokens")).toMatchObject({ used: 0, held: 0 });
    expect(await meterOf(id, "api_requests")).toMatchObject({ used: 0 });
    // `stream: false` and a foreground response are fine.
    await client.chat.completions.create({ model: "gpt-4o", messages: HELLO, stream: false });
    await client.responses.create({ model: "gpt-4o", input: "x", background: false });
    expect((await upstreamSaw(tag)).count).toBe(2);
  });
});
