/**
 * The read model lags by seconds (SPEC §13.1, issue 13 "Done when"): against a real server, whose alarms
 * fire on their own, `GET /v1/usage` reaches the exact totals of the consumes within a 15 s deadline. It is
 * polled until then; there is no fixed sleep.
 */
import { randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { gate, type Json, pool, putLoadPolicy } from "./support";

const DEADLINE_MS = 15_000;
const client = gate();

beforeAll(async () => {
  await putLoadPolicy(client);
});

describe("the read model within seconds", () => {
  it("usage by customer equals the admitted consumes, and every customer is listed", async () => {
    const run = randomBytes(4).toString("hex");
    const org = `rm_${run}_org`;
    const members = Array.from({ length: 10 }, (_, i) => `rm_${run}_u${i}`);
    await client.expect("PUT", `/v1/customers/${org}`, { type: "org" });
    await pool(members, 5, (id) =>
      client.expect("PUT", `/v1/customers/${id}`, { org, label: `Member ${id}` }),
    );

    const expected = new Map<string, number>();
    const calls = Array.from({ length: 300 }, (_, i) => ({
      customer: members[i % members.length] as string,
      entitlement: i % 3 === 0 ? "org_tokens" : "tokens",
      amount: 1 + (i % 7),
    }));
    await pool(calls, 16, async (call) => {
      const decision = await client.expect("POST", "/v1/consume", call);
      if (decision.allowed) expected.set(call.customer, (expected.get(call.customer) ?? 0) + call.amount);
    });
    // The meters agree with the decisions (the objects are the truth the read model must reach).
    let metered = 0;
    for (const id of [org, ...members]) {
      const view = await client.expect("GET", `/v1/customers/${id}`);
      for (const meter of Object.values(view.meters as Record<string, Json>)) metered += meter.used;
    }
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    expect(metered).toBe(total);

    const startedAt = Date.now();
    let last: Json = null;
    for (;;) {
      const { series } = await client.expect("GET", `/v1/usage?org=${org}&groupBy=customer`);
      last = Object.fromEntries(series.map((p: Json) => [p.group.customer, p.amount]));
      if (isDeepStrictEqual(last, Object.fromEntries(expected))) break;
      if (Date.now() - startedAt > DEADLINE_MS) break;
      await new Promise((resolve) => setTimeout(resolve, 200)); // polling interval, not a wait for the answer
    }
    expect(last).toEqual(Object.fromEntries(expected));
    expect(Date.now() - startedAt).toBeLessThanOrEqual(DEADLINE_MS);

    const listed = await client.expect("GET", `/v1/customers?org=${org}&limit=1000`);
    expect(listed.customers.map((c: Json) => c.id)).toEqual([...members].sort());
  });
});
