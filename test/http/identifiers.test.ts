import { beforeAll, describe, expect, it } from "vitest";
import { call, consume, expectError, getCustomer, putCustomer, putPolicy, TEST_POLICY } from "../support/api";

// SPEC §5.3 input rules beyond control characters: text must be well-formed, JSON must not nest without end.
describe("identifiers and nesting", () => {
  beforeAll(async () => {
    await putPolicy(TEST_POLICY);
  });

  it.each([
    ["customer", { customer: "ada\ud800", entitlement: "tokens" }],
    ["entitlement", { customer: "ada", entitlement: "tok\udfffens" }],
    ["idempotencyKey", { customer: "ada", entitlement: "tokens", idempotencyKey: "\udc00" }],
  ])("a lone surrogate in %s is 400 invalid_request", async (field, body) => {
    const error = await expectError(400, "invalid_request", "POST", "/v1/consume", body);
    expect(error.details.issues.map((i: { path: string }) => i.path)).toContain(field);
  });

  it("valid non-ASCII identifiers work by id and by alternate ID", async () => {
    await putCustomer("ümlaut-客户-🦊", { alternateIds: ["ключ-🔑"] });
    expect(await consume({ customer: "ключ-🔑", entitlement: "tokens", amount: 2 })).toMatchObject({
      allowed: true,
      customer: "ümlaut-客户-🦊",
      used: 2,
    });
    expect((await getCustomer("ümlaut-客户-🦊")).meters.tokens.used).toBe(2);
  });

  it("metadata nested past 32 levels is 400 and nothing is created", async () => {
    let metadata: unknown = { leaf: true };
    for (let i = 0; i < 40; i++) metadata = { next: metadata };
    await expectError(400, "invalid_request", "PUT", "/v1/customers/deep_meta", { metadata });
    expect((await call("GET", "/v1/customers/deep_meta")).status).toBe(404);
  });

  it("a policy nested past 64 levels is 400 invalid_policy and the active one stays", async () => {
    const before = (await call("GET", "/v1/policy")).json.version;
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    const error = await expectError(400, "invalid_policy", "PUT", "/v1/policy", deep, {
      "Content-Type": "application/json",
    });
    expect(error.details.issues[0].message).toContain("nests deeper");
    // The same depth as YAML is refused by the YAML parser, also as a 400.
    await expectError(400, "invalid_policy", "PUT", "/v1/policy", deep, {
      "Content-Type": "application/yaml",
    });
    expect((await call("GET", "/v1/policy")).json.version).toBe(before);
  });
});
