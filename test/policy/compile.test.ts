import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CompiledPolicy } from "../../src/domain/types";
import { globToRegExp } from "../../src/policy/glob";
import { canonicalJson } from "../../src/policy/version";
import { entitlementOf, oneEntitlement, POLICIES_DIR, valid } from "./helpers";

const DAY_MS = 86_400_000;

/** Compile one entitlement body (a YAML flow mapping) in a policy with `token` and `mb` (MB) credits. */
async function compiled(body: string, extra = "") {
  const { policy } = await valid(oneEntitlement(body, extra));
  return entitlementOf(policy, "free", "thing");
}

/** The gateway's lookup: first route whose glob matches the whole model name. */
function route(policy: CompiledPolicy, model: string): string | undefined {
  return policy.gateway.models.find((candidate) => candidate.regex.test(model))?.entitlement;
}

describe("credits", () => {
  it("compile their unit: none is a word unit named after the credit; MB is bytes; stof_units is an alias", async () => {
    const { policy } = await valid(
      "credits: { token: { label: Token }, mb: { unit: MB }, gib: { stof_units: GiB } }\nplans: { free: {} }",
    );
    expect(policy.credits.get("token")).toEqual({
      name: "token",
      label: "Token",
      unit: "token",
      dimension: "word",
      factor: 1,
    });
    expect(policy.credits.get("mb")).toEqual({
      name: "mb",
      label: null,
      unit: "MB",
      dimension: "bytes",
      factor: 1e6,
    });
    expect(policy.credits.get("gib")?.factor).toBe(2 ** 30);
  });
});

describe("limits", () => {
  it("take the documented defaults", async () => {
    const thing = await compiled("{ label: Thing, limit: { credit: token, value: 5 } }");
    expect(thing).toMatchObject({ name: "thing", label: "Thing", scope: "customer", rate: null });
    expect(thing.credit?.name).toBe("token");
    expect(thing.limit).toEqual({
      value: 5,
      mode: "hard",
      increment: 1,
      minimum: 0,
      reset: { kind: "none" },
      alerts: [],
      grantsApply: true,
      hardTrailing: false,
    });
  });

  it.each([
    ["1GB", 1000],
    ["1 GB", 1000],
    ["1.5GB", 1500],
    ["2GiB", 2147.483648],
    ["1GB500MB", 1500],
    ["750", 750],
    [250, 250],
    [0, 0],
  ])("value %j in an MB credit is %d", async (value, expected) => {
    const thing = await compiled(`{ limit: { credit: mb, value: ${JSON.stringify(value)} } }`);
    expect(thing.limit?.value).toBe(expected);
  });

  it("parse increment and minimum in the credit's unit, and word units against the credit's name", async () => {
    const mb = await compiled("{ limit: { credit: mb, value: 1GB, increment: 5MB, minimum: 0.5GB } }");
    expect(mb.limit).toMatchObject({ increment: 5, minimum: 500 });
    const tokens = await compiled('{ limit: { credit: token, value: "300 tokens", mode: soft } }');
    expect(tokens.limit).toMatchObject({ value: 300, mode: "soft" });
  });

  it("sort and de-duplicate alerts", async () => {
    const thing = await compiled("{ limit: { credit: token, value: 5, alerts: [1, 0.5, 1.5, 0.8, 0.5] } }");
    expect(thing.limit?.alerts).toEqual([0.5, 0.8, 1, 1.5]);
  });
});

describe("reset rules", () => {
  it.each([
    ["no resets: a gauge", "", { kind: "none" }],
    ["resets: false", ", resets: false", { kind: "none" }],
    ["resets: true alone: rolling 30 days", ", resets: true", { kind: "rolling", periodMs: 30 * DAY_MS }],
    ["reset_inc", ", reset_inc: 24hr", { kind: "rolling", periodMs: DAY_MS }],
    [
      "reset_inc with resets: true",
      ", resets: true, reset_inc: 1h30m",
      { kind: "rolling", periodMs: 5_400_000 },
    ],
    ["a bare reset_inc is seconds", ", reset_inc: 3600", { kind: "rolling", periodMs: 3_600_000 }],
    ["a bare reset_inc string is seconds", ', reset_inc: "90"', { kind: "rolling", periodMs: 90_000 }],
    [
      "reset_sch, UTC by default",
      ', reset_sch: "monthly:1"',
      { kind: "calendar", schedule: { kind: "monthly", day: 1 }, tz: "UTC", source: "monthly:1" },
    ],
    [
      "reset_sch with reset_tz",
      ", resets: true, reset_sch: weekly:mon, reset_tz: Europe/Paris",
      {
        kind: "calendar",
        schedule: { kind: "weekly", weekday: 1 },
        tz: "Europe/Paris",
        source: "weekly:mon",
      },
    ],
    [
      "reset_tz without reset_sch is ignored",
      ", reset_inc: 1d, reset_tz: Asia/Tokyo",
      { kind: "rolling", periodMs: DAY_MS },
    ],
  ])("%s", async (_what, fields, reset) => {
    const thing = await compiled(`{ limit: { credit: token, value: 5${fields} } }`);
    expect(thing.limit?.reset).toEqual(reset);
  });
});

describe("entitlements", () => {
  it("a rate compiles to limit, window in ms and burst (default: the limit), in the credit's unit", async () => {
    const plain = await compiled("{ limit: { credit: token, value: 5 }, rate: { limit: 100, window: 1m } }");
    expect(plain.rate).toEqual({ limit: 100, windowMs: 60_000, burst: 100 });
    const mb = await compiled(
      "{ limit: { credit: mb, value: 5GB }, rate: { limit: 1GB, window: 30, burst: 2GB } }",
    );
    expect(mb.rate).toEqual({ limit: 1000, windowMs: 30_000, burst: 2000 });
  });

  it.each(["{}", "", "{ label: Export, description: PDF export }"])("%j is a feature flag", async (body) => {
    const flag = await compiled(body);
    expect(flag).toMatchObject({ credit: null, limit: null, rate: null, scope: "customer" });
  });

  it("a feature flag may carry a rate in bare numbers", async () => {
    const flag = await compiled("{ scope: org, rate: { limit: 10, window: 1h } }");
    expect(flag).toMatchObject({
      scope: "org",
      credit: null,
      limit: null,
      rate: { limit: 10, windowMs: 3_600_000, burst: 10 },
    });
  });
});

describe("plans and the gateway", () => {
  const defaultPolicy = valid(readFileSync(join(POLICIES_DIR, "default.yaml"), "utf8"));

  it("plans live in a Map with their default, and entitlementNames spans every plan", async () => {
    const { policy } = await defaultPolicy;
    expect([...policy.plans.keys()]).toEqual(["free", "pro"]);
    expect(policy.defaultPlan).toBe("free");
    expect(policy.plans.get("free")?.isDefault).toBe(true);
    expect(policy.plans.get("pro")?.isDefault).toBe(false);
    expect(policy.plans.get("free")?.entitlements.has("export_pdf")).toBe(false);
    expect(policy.entitlementNames.has("export_pdf")).toBe(true);
    expect(entitlementOf(policy, "pro", "seats")).toMatchObject({ scope: "org", limit: { value: 25 } });
    expect(entitlementOf(policy, "free", "storage").limit).toMatchObject({
      value: 1000,
      reset: { kind: "rolling", periodMs: DAY_MS },
    });
    expect(entitlementOf(policy, "pro", "embedding_tokens").limit?.mode).toBe("soft");
  });

  it("no default plan and no gateway section are fine", async () => {
    const { policy } = await valid("plans: { a: {}, b: { default: false } }");
    expect(policy.defaultPlan).toBeNull();
    expect(policy.gateway).toEqual({
      defaultMaxTokens: 1024,
      requests: null,
      models: [],
      passthrough: [],
      spend: null,
      unpriced: "refuse",
    });
  });

  it("routes models in document order, first match wins", async () => {
    const { policy } = await defaultPolicy;
    expect(policy.gateway.defaultMaxTokens).toBe(1024);
    expect(policy.gateway.requests).toBe("api_requests");
    expect(policy.gateway.models.map((m) => m.pattern)).toEqual([
      "gpt-4o-mini*",
      "gpt-4o*",
      "text-embedding-*",
      "claude-*",
    ]);
    expect(route(policy, "gpt-4o-mini")).toBe("gpt4o_mini_tokens");
    expect(route(policy, "gpt-4o-mini-2024-07-18")).toBe("gpt4o_mini_tokens");
    expect(route(policy, "gpt-4o-2024-08-06")).toBe("gpt4o_tokens");
    expect(route(policy, "text-embedding-3-small")).toBe("embedding_tokens");
    expect(route(policy, "claude-sonnet-4-5")).toBe("claude_tokens");
    expect(route(policy, "gpt-3.5-turbo")).toBeUndefined();
  });
});

describe("model globs", () => {
  it.each([
    ["gpt-4o*", "gpt-4o", true],
    ["gpt-4o*", "gpt-4o-2024", true],
    ["gpt-4o*", "xgpt-4o", false],
    ["gpt-4o*", "GPT-4o", false],
    ["gpt-4o*", "gpt-4", false],
    ["gpt-4o", "gpt-4o-mini", false],
    ["gpt-4.1", "gpt-4.1", true],
    ["gpt-4.1", "gpt-4x1", false],
    ["o?-mini", "o1-mini", true],
    ["o?-mini", "o-mini", false],
    ["o?-mini", "o10-mini", false],
    ["o?", "oé", true],
    ["*", "", true],
    ["*", "anything at all", true],
    ["a**b", "ab", true],
    ["*mini*", "gpt-4o-mini-tts", true],
    ["a+b(c)|[d]{2}^$\\/", "a+b(c)|[d]{2}^$\\/", true],
    ["a+b", "aab", false],
    ["line*", "line\nbreak", true],
  ])("%j on %j: %s", (pattern, model, matches) => {
    expect(globToRegExp(pattern).test(model)).toBe(matches);
  });
});

describe("canonical JSON", () => {
  it("sorts keys at every depth, keeps list order and drops undefined members", () => {
    expect(canonicalJson({ b: [3, { z: 1, a: null }], a: "x", c: undefined })).toBe(
      '{"a":"x","b":[3,{"a":null,"z":1}]}',
    );
  });

  it("keeps an own __proto__ key as data", () => {
    expect(canonicalJson(JSON.parse('{"__proto__": {"x": 1}, "a": 2}'))).toBe('{"__proto__":{"x":1},"a":2}');
  });
});
