/**
 * A gateway call in the read model (SPEC §13.1 with §6): its settle shows up in `GET /v1/usage` under its
 * model, with the token classes the upstream reported, and its amount is what the meter recorded.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { putPolicy, runProjection } from "../support/api";
import { MOCK_PROMPT_TOKENS, MOCK_TOTAL_TOKENS } from "../support/mock-upstream";
import { usage } from "../support/read-model";
import { GATEWAY_POLICY, gatewayClient, HELLO, newCustomer, settledMeter } from "./helpers";

beforeAll(async () => {
  await putPolicy(GATEWAY_POLICY);
});

const CACHED = 4;
const REASONING = 2;

describe("gateway usage in GET /v1/usage", () => {
  it("a settle shows its model and token classes; the reserve is not usage", async () => {
    const { id, key } = await newCustomer("free", "rm");
    await gatewayClient(key).chat.completions.create(
      { model: "gpt-4o", messages: HELLO },
      { headers: { "x-mock-cached-tokens": String(CACHED), "x-mock-reasoning-tokens": String(REASONING) } },
    );
    const meter = await settledMeter(id, "gpt4o_tokens");
    await runProjection(id);
    const { series } = await usage(`customer=${id}&groupBy=model,entitlement`);
    const tokens = series.find(
      (p: { group: { entitlement: string } }) => p.group.entitlement === "gpt4o_tokens",
    );
    expect(tokens).toMatchObject({
      group: { entitlement: "gpt4o_tokens", model: "gpt-4o" },
      bucket: null,
      amount: meter.used,
      usage: {
        input: MOCK_PROMPT_TOKENS - CACHED,
        cached_input: CACHED,
        cache_write: 0,
        output: MOCK_TOTAL_TOKENS - MOCK_PROMPT_TOKENS,
        reasoning: REASONING,
      },
    });
    expect(meter.used).toBe(MOCK_TOTAL_TOKENS);
    // The request count is not a gateway settle: no model, no classes.
    const requests = series.find(
      (p: { group: { entitlement: string } }) => p.group.entitlement === "api_requests",
    );
    expect(requests.group.model).toBeNull();
    expect(requests.usage).toBeUndefined();
    expect((await usage(`model=gpt-4o&customer=${id}`)).series[0].amount).toBe(MOCK_TOTAL_TOKENS);
  });
});
