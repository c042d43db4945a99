/**
 * Token classes end to end (SPEC §6): the official client calls the gateway, the mock upstream reports cached
 * and reasoning tokens in its usage details, and the settle's `meter.changed` event carries them class by
 * class in `data.usage`, with the model and the door; the meter records their sum. A stream cut short
 * carries the estimate, marked `estimated: true`.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { allEvents, customerStub, type Json, ok, putPolicy, reserve, unique } from "../support/api";
import { CUTOFF_CHUNKS, MOCK_CHUNKS, MOCK_PROMPT_TOKENS, MOCK_TOTAL_TOKENS } from "../support/mock-upstream";
import {
  GATEWAY_POLICY,
  gatewayClient,
  HELLO,
  HELLO_PROMPT_TOKENS,
  newCustomer,
  settledMeter,
} from "./helpers";

let policyVersion = "";

beforeAll(async () => {
  policyVersion = await putPolicy(GATEWAY_POLICY);
});

const OUTPUT_TOKENS = MOCK_TOTAL_TOKENS - MOCK_PROMPT_TOKENS;
const CACHED = 4;
const REASONING = 2;
const DETAILS = { "x-mock-cached-tokens": String(CACHED), "x-mock-reasoning-tokens": String(REASONING) };

/** The classes the mock's usage makes with DETAILS: its prompt and output tokens, split as reported. */
const REPORTED = {
  input: MOCK_PROMPT_TOKENS - CACHED,
  cached_input: CACHED,
  cache_write: 0,
  output: OUTPUT_TOKENS,
  reasoning: REASONING,
};

/** The settle's `meter.changed` event on `entitlement` in `owner`'s log, once its hold is settled. */
async function settleEvent(owner: string, entitlement: string): Promise<Json> {
  await settledMeter(owner, entitlement);
  const settles = (await allEvents(owner)).filter(
    (event) =>
      event.type === "meter.changed" &&
      event.entitlement === entitlement &&
      event.data.operation === "settle",
  );
  expect(settles).toHaveLength(1);
  return settles[0];
}

/** The event's usage matches `classes` class by class, and the meter recorded their sum. */
function expectUsage(event: Json, classes: typeof REPORTED, extra: Json = {}): void {
  expect(event.data.usage).toEqual({ ...classes, ...extra });
  const sum = classes.input + classes.cached_input + classes.cache_write + classes.output;
  expect(event.data.amount).toBe(sum);
  expect(event.data.used).toBe(sum);
}

const drain = async (stream: AsyncIterable<unknown>) => {
  for await (const _ of stream) {
    // read to the end
  }
};

describe("data.usage of the settle event, from the upstream's usage details", () => {
  it("chat, not streamed: cached input and reasoning class by class", async () => {
    const { id, key } = await newCustomer("free");
    const reply = await gatewayClient(key).chat.completions.create(
      { model: "gpt-4o", messages: HELLO },
      { headers: DETAILS },
    );
    expect(reply.usage?.prompt_tokens_details?.cached_tokens).toBe(CACHED);
    const event = await settleEvent(id, "gpt4o_tokens");
    expectUsage(event, REPORTED, { model: "gpt-4o", door: "openai" });
    expect(event.customer).toBe(id);
  });

  it("chat, streamed: the final chunk's usage", async () => {
    const { id, key } = await newCustomer("free");
    const stream = await gatewayClient(key).chat.completions.create(
      { model: "gpt-4o-mini", messages: HELLO, stream: true },
      { headers: DETAILS },
    );
    await drain(stream);
    expectUsage(await settleEvent(id, "gpt4o_tokens"), REPORTED, { model: "gpt-4o-mini", door: "openai" });
  });

  it("responses, not streamed and streamed: input_tokens_details and output_tokens_details", async () => {
    const { id, key } = await newCustomer("free");
    const client = gatewayClient(key);
    const reply = await client.responses.create(
      { model: "gpt-4o", input: "Say hello" },
      { headers: DETAILS },
    );
    expect(reply.usage?.output_tokens_details.reasoning_tokens).toBe(REASONING);
    expectUsage(await settleEvent(id, "gpt4o_tokens"), REPORTED, { model: "gpt-4o", door: "openai" });

    const other = await newCustomer("free");
    const stream = await gatewayClient(other.key).responses.create(
      { model: "gpt-4o", input: "Say hello", stream: true },
      { headers: DETAILS },
    );
    await drain(stream);
    expectUsage(await settleEvent(other.id, "gpt4o_tokens"), REPORTED, { model: "gpt-4o", door: "openai" });
  });

  it("completions: prompt_tokens_details too", async () => {
    const { id, key } = await newCustomer("free");
    await gatewayClient(key).completions.create(
      { model: "gpt-4o", prompt: "Say hello" },
      { headers: { "x-mock-cached-tokens": "3" } },
    );
    const classes = { ...REPORTED, input: MOCK_PROMPT_TOKENS - 3, cached_input: 3, reasoning: 0 };
    expectUsage(await settleEvent(id, "gpt4o_tokens"), classes, { model: "gpt-4o", door: "openai" });
  });

  it("embeddings: the prompt tokens are all input", async () => {
    const { id, key } = await newCustomer("free");
    await gatewayClient(key).embeddings.create({ model: "text-embedding-3-small", input: ["a", "b"] });
    const classes = { input: 10, cached_input: 0, cache_write: 0, output: 0, reasoning: 0 };
    const event = await settleEvent(id, "embed_tokens");
    expectUsage(event, classes, { model: "text-embedding-3-small", door: "openai" });
  });

  it("a model name longer than the object takes is cut, never failing the settle", async () => {
    const { id, key } = await newCustomer("free");
    const model = `gpt-4o-${"x".repeat(400)}`;
    await gatewayClient(key).chat.completions.create({ model, messages: HELLO }, { headers: DETAILS });
    const event = await settleEvent(id, "gpt4o_tokens");
    expectUsage(event, REPORTED, { model: model.slice(0, 256), door: "openai" });
  });

  it("an org-scoped model: the event lands in the org's log, naming the member", async () => {
    const org = unique("gw_org");
    await ok("PUT", `/v1/customers/${org}`, { type: "org", plan: "team" });
    const id = unique("gw_member");
    const key = `sk-tg-${unique("key")}`;
    await ok("PUT", `/v1/customers/${id}`, { plan: "team", org, alternateIds: [key] });
    await gatewayClient(key).chat.completions.create(
      { model: "gpt-4o", messages: HELLO },
      { headers: DETAILS },
    );
    const event = await settleEvent(org, "gpt4o_tokens");
    expectUsage(event, REPORTED, { model: "gpt-4o", door: "openai" });
    expect(event).toMatchObject({ customer: id, meteredOn: org });
  });
});

describe("the estimate, marked", () => {
  it("a stream cut short carries the estimate as input and output, estimated: true", async () => {
    const { id, key } = await newCustomer("free");
    const stream = await gatewayClient(key).chat.completions.create(
      { model: "gpt-4o", messages: HELLO, stream: true },
      { headers: { ...DETAILS, "x-mock-mode": "cutoff" } },
    );
    await drain(stream).catch(() => undefined);
    const streamed = MOCK_CHUNKS.slice(0, CUTOFF_CHUNKS).join("");
    const classes = {
      input: HELLO_PROMPT_TOKENS,
      cached_input: 0,
      cache_write: 0,
      output: Math.ceil(streamed.length / 4),
      reasoning: 0,
    };
    const event = await settleEvent(id, "gpt4o_tokens");
    expectUsage(event, classes, { estimated: true, model: "gpt-4o", door: "openai" });
  });

  it("a 2xx without usage carries the estimate too", async () => {
    const { id, key } = await newCustomer("free");
    await gatewayClient(key).chat.completions.create(
      { model: "gpt-4o", messages: HELLO },
      { headers: { "x-mock-mode": "nousage" } },
    );
    const classes = {
      input: HELLO_PROMPT_TOKENS,
      cached_input: 0,
      cache_write: 0,
      output: Math.ceil(MOCK_CHUNKS.join("").length / 4),
      reasoning: 0,
    };
    const event = await settleEvent(id, "gpt4o_tokens");
    expectUsage(event, classes, { estimated: true, model: "gpt-4o", door: "openai" });
  });

  it("an upstream error settles 0 and carries no usage", async () => {
    const { id, key } = await newCustomer("free");
    await gatewayClient(key)
      .chat.completions.create({ model: "gpt-4o", messages: HELLO }, { headers: { "x-mock-mode": "error" } })
      .catch(() => undefined);
    const event = await settleEvent(id, "gpt4o_tokens");
    expect(event.data).toMatchObject({ amount: 0, used: 0 });
    expect(event.data.usage).toBeUndefined();
  });
});

describe("the settle's usage at the RPC boundary", () => {
  const usage = {
    classes: { input: 5, cached_input: 0, cache_write: 0, output: 5, reasoning: 0 },
    model: "gpt-4o",
    door: "openai" as const,
    estimated: false,
  };
  const settleCall = (holdId: string, extra: Json) => ({
    op: "settle" as const,
    presentedAlternateId: null,
    entitlement: null,
    amount: 10,
    holdId,
    ttlMs: null,
    idempotencyKey: null,
    policyVersion,
    ...extra,
  });

  it("a usage of the wrong shape is refused and changes nothing", async () => {
    const { id } = await newCustomer("free");
    const { holdId } = await reserve({ customer: id, entitlement: "gpt4o_tokens", amount: 10 });
    const bad = { ...usage, classes: { ...usage.classes, output: -5 } };
    expect(await customerStub(id).meter(settleCall(holdId, { usage: bad }))).toMatchObject({
      ok: false,
      code: "invalid_request",
    });
    const held = await ok("GET", `/v1/customers/${id}`);
    expect(held.meters.gpt4o_tokens).toMatchObject({ used: 0, held: 10 });
  });

  it("an idempotent replay answers the first decision and writes no second event", async () => {
    const { id } = await newCustomer("free");
    const { holdId } = await reserve({ customer: id, entitlement: "gpt4o_tokens", amount: 10 });
    const keyed = settleCall(holdId, { usage, idempotencyKey: unique("idem") });
    const first = await customerStub(id).meter(keyed);
    const again = await customerStub(id).meter(keyed);
    expect(first).toMatchObject({ ok: true, value: { replayed: false } });
    expect(again).toMatchObject({ ok: true, value: { replayed: true, used: 10 } });
    const event = await settleEvent(id, "gpt4o_tokens");
    expect(event.data.usage).toEqual({ ...usage.classes, model: "gpt-4o", door: "openai" });
  });
});
