import { describe, expect, it } from "vitest";
import seedPolicy from "../../policies/examples/seed-example.yaml?raw";
import { check, consume, ok, putPolicy } from "../support/api";

// The worked example of the seed note, driven over HTTP against real Durable Objects and KV.
describe("seed example: seats per org, tokens per user, usage in MB, plan change", () => {
  it("runs end to end", async () => {
    const version = await putPolicy(seedPolicy);
    await ok("PUT", "/v1/customers/acme", { type: "org", label: "Acme" });
    const user = await ok("PUT", "/v1/customers/free_user", {
      org: "acme",
      alternateIds: ["cus_stripe_123", "ada@acme.test"],
    });
    expect(user).toMatchObject({ id: "free_user", plan: null, org: "acme", effectivePlan: "free" });

    // Seats are the org's: three fit, the fourth is denied, whoever asks.
    for (let i = 0; i < 3; i++) {
      expect(await consume({ customer: "free_user", entitlement: "seats" })).toMatchObject({
        allowed: true,
        meteredOn: "acme",
      });
    }
    expect(await consume({ customer: "ada@acme.test", entitlement: "seats" })).toMatchObject({
      allowed: false,
      reason: "limit_exceeded",
      customer: "free_user",
      meteredOn: "acme",
      used: 3,
      limit: 3,
    });

    // Tokens per user through an alternate ID: 300, then 201 against 500 is denied.
    expect(
      await consume({ customer: "cus_stripe_123", entitlement: "davinci_tokens", amount: 300 }),
    ).toMatchObject({
      allowed: true,
      customer: "free_user",
      used: 300,
    });
    const denied = await consume({ customer: "cus_stripe_123", entitlement: "davinci_tokens", amount: 201 });
    expect(denied).toMatchObject({
      allowed: false,
      outcome: "denied",
      reason: "limit_exceeded",
      message: "davinci_tokens: 300 of 500 token used, 201 requested",
      customer: "free_user",
      meteredOn: "free_user",
      entitlement: "davinci_tokens",
      plan: "free",
      credit: "token",
      unit: "token",
      amount: 201,
      used: 300,
      held: 0,
      limit: 500,
      remaining: 200,
      overage: 0,
      resetsAt: null,
      retryAfterSeconds: null,
      holdId: null,
      replayed: false,
      policyVersion: version,
    });

    // Usage in MB: "20MB" is 20, "1GB" is 1000 of the 1GB limit.
    expect(await consume({ customer: "free_user", entitlement: "storage", amount: "20MB" })).toMatchObject({
      used: 20,
      unit: "MB",
    });
    expect(await check({ customer: "free_user", entitlement: "storage", amount: "1GB" })).toMatchObject({
      allowed: false,
      remaining: 980,
    });

    // The org upgrades: the user's larger cap applies on the very next call, usage kept.
    await ok("PUT", "/v1/customers/acme/plan", { plan: "pro" });
    expect(
      await consume({ customer: "free_user", entitlement: "davinci_tokens", amount: 201 }),
    ).toMatchObject({
      allowed: true,
      plan: "pro",
      used: 501,
      limit: 100000,
    });
    expect(await consume({ customer: "free_user", entitlement: "seats" })).toMatchObject({
      allowed: true,
      used: 4,
      limit: 25,
      plan: "pro",
    });
    const view = await ok("GET", "/v1/customers/ada@acme.test");
    expect(view).toMatchObject({ id: "free_user", effectivePlan: "pro" });
    expect(view.meters.davinci_tokens).toMatchObject({ used: 501, limit: 100000 });
    expect(view.meters.storage).toMatchObject({ used: 20, unit: "MB" });
    expect(view.meters.seats).toBeUndefined();
    const org = await ok("GET", "/v1/customers/acme");
    expect(org.meters.seats).toMatchObject({ used: 4, limit: 25 });
  });
});
