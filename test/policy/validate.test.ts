import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parsePolicyText, unwrapPolicy, validatePolicy, validatePolicyText } from "../../src/policy/load";
import { IGNORED_KEYS, policySchema } from "../../src/policy/schema";
import { invalid, oneEntitlement, POLICIES_DIR, policyFiles, valid } from "./helpers";

/** SPEC §2's example, verbatim. */
const SPEC_EXAMPLE = `
credits:                        # units of something consumable
  seat:  { label: Seat }
  mb:    { label: Megabyte, unit: MB }      # \`unit\` (alias \`stof_units\`): the unit meters are kept in
  token: { description: A model token }     # no unit: a plain count
plans:
  free:
    label: Free
    default: true               # customers with no plan (and no org plan) get this one; at most one default
    entitlements:
      export_pdf: {}            # no limit: a feature flag, allowed while the plan has it
      seats:
        scope: org              # meter lives on the customer's org (§3.4)
        limit: { credit: seat, value: 3, increment: 1 }
      storage:
        limit: { credit: mb, value: 1GB, mode: hard, resets: true, reset_inc: 24hr }
      gpt4o_tokens:
        limit: { credit: token, value: 50000, resets: true, reset_sch: "monthly:1", alerts: [0.8, 1] }
        rate:  { limit: 10000, window: 1m }
gateway:
  default_max_tokens: 1024
  requests: api_requests        # optional: consumed by 1 per gateway call
  models:
    "gpt-4o*": gpt4o_tokens     # exact name or glob; first match wins; unmatched models are refused
`;

const ENTITLEMENT = "plans.free.entitlements.thing";

describe("policy files and the SPEC example", () => {
  const files = policyFiles();

  it("finds the default policy and the examples", () => {
    expect(files).toEqual(expect.arrayContaining(["default.yaml", "examples/seed-example.yaml"]));
  });

  it.each(files)("%s validates, and the one-schema form agrees", async (file) => {
    const result = await valid(readFileSync(join(POLICIES_DIR, file), "utf8"));
    expect(result.policy.version).toMatch(/^[0-9a-f]{16}$/);
    expect(policySchema.safeParse(result.document).success).toBe(true);
  });

  it("the SPEC §2 example validates once `requests` names an entitlement some plan has", async () => {
    const result = await valid(SPEC_EXAMPLE.replace(/^ {2}requests: api_requests.*$/m, ""));
    expect(result.policy.defaultPlan).toBe("free");
  });

  it("the SPEC §2 example verbatim has exactly one issue: its `requests` entitlement is in no plan", async () => {
    // SPEC §11: "An entitlement named by `gateway` must exist in some plan", and no plan has api_requests.
    expect(await invalid(SPEC_EXAMPLE)).toEqual([
      { path: "gateway.requests", message: expect.stringContaining('"api_requests"') },
    ]);
  });
});

describe("version", () => {
  const yaml = readFileSync(join(POLICIES_DIR, "default.yaml"), "utf8");

  it("is shared by the YAML and JSON forms, wrapped or not, whatever the comments and key order", async () => {
    const base = await valid(yaml);
    const json = JSON.stringify(base.document);
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(base.document).reverse()));
    const forms = [
      await valid(json, "application/json"),
      await valid(json),
      await valid(reordered, "application/json; charset=utf-8"),
      await valid(`# a comment\n${yaml}\n# another one`),
      await valid(stringify({ policy: base.document })),
      await valid(JSON.stringify({ policy: base.document, version: 3 }), "application/json"),
    ];
    for (const form of forms) expect(form.policy.version).toBe(base.policy.version);
  });

  it("re-validating the normalised document gives the same version (what the KV store relies on)", async () => {
    const first = await valid(readFileSync(join(POLICIES_DIR, "examples/seed-example.yaml"), "utf8"));
    const again = await validatePolicy(JSON.parse(JSON.stringify(first.document)));
    expect(again.ok && again.policy.version).toBe(first.policy.version);
  });

  it("changes when the policy changes", async () => {
    const a = await valid(oneEntitlement("{ limit: { credit: token, value: 5 } }"));
    const b = await valid(oneEntitlement("{ limit: { credit: token, value: 6 } }"));
    expect(a.policy.version).not.toBe(b.policy.version);
  });

  it("ignores ignored Limitr keys, and a null entitlement reads as {}", async () => {
    const a = await valid(oneEntitlement("{ limit: { credit: token, value: 5 } }"));
    const b = await valid(oneEntitlement("{ hidden: true, limit: { credit: token, value: 5, period: 1 } }"));
    expect(b.policy.version).toBe(a.policy.version);
    const flag = await valid(oneEntitlement("{}"));
    expect((await valid(oneEntitlement(""))).policy.version).toBe(flag.policy.version);
  });
});

/** [what, policy text, path of the expected issue, message pattern]. */
const ERRORS: [string, string, string, RegExp][] = [
  [
    "unknown credit",
    oneEntitlement("{ limit: { credit: nope, value: 1 } }"),
    `${ENTITLEMENT}.limit.credit`,
    /unknown credit "nope"/,
  ],
  [
    "unit mismatch",
    oneEntitlement("{ limit: { credit: token, value: 5GB } }"),
    `${ENTITLEMENT}.limit.value`,
    /GB.*token/,
  ],
  [
    "unknown unit",
    oneEntitlement("{ limit: { credit: mb, value: 5 parsecs } }"),
    `${ENTITLEMENT}.limit.value`,
    /parsecs/,
  ],
  [
    "negative value",
    oneEntitlement("{ limit: { credit: token, value: -1 } }"),
    `${ENTITLEMENT}.limit.value`,
    /≥ 0/,
  ],
  [
    "negative value string",
    oneEntitlement('{ limit: { credit: mb, value: "-1GB" } }'),
    `${ENTITLEMENT}.limit.value`,
    /negative/,
  ],
  ["missing value", oneEntitlement("{ limit: { credit: token } }"), `${ENTITLEMENT}.limit.value`, /required/],
  ["missing credit", oneEntitlement("{ limit: { value: 1 } }"), `${ENTITLEMENT}.limit.credit`, /required/],
  [
    "zero increment",
    oneEntitlement("{ limit: { credit: token, value: 5, increment: 0 } }"),
    `${ENTITLEMENT}.limit.increment`,
    /> 0/,
  ],
  [
    "negative minimum",
    oneEntitlement("{ limit: { credit: token, value: 5, minimum: -2 } }"),
    `${ENTITLEMENT}.limit.minimum`,
    /≥ 0/,
  ],
  [
    "zero alert",
    oneEntitlement("{ limit: { credit: token, value: 5, alerts: [0.5, 0] } }"),
    `${ENTITLEMENT}.limit.alerts.1`,
    /> 0/,
  ],
  [
    "bad mode",
    oneEntitlement("{ limit: { credit: token, value: 5, mode: strict } }"),
    `${ENTITLEMENT}.limit.mode`,
    /"hard", "soft", "observe"/,
  ],
  ["bad scope", oneEntitlement("{ scope: team }"), `${ENTITLEMENT}.scope`, /"customer", "org"/],
  [
    "reset_inc with reset_sch",
    oneEntitlement("{ limit: { credit: token, value: 5, reset_inc: 1d, reset_sch: daily } }"),
    `${ENTITLEMENT}.limit.reset_sch`,
    /reset_inc.*reset_sch/,
  ],
  [
    "resets false with reset_inc",
    oneEntitlement("{ limit: { credit: token, value: 5, resets: false, reset_inc: 1d } }"),
    `${ENTITLEMENT}.limit.resets`,
    /reset_inc/,
  ],
  [
    "resets false with reset_sch",
    oneEntitlement("{ limit: { credit: token, value: 5, resets: false, reset_sch: daily } }"),
    `${ENTITLEMENT}.limit.resets`,
    /reset_sch/,
  ],
  [
    "invalid schedule",
    oneEntitlement('{ limit: { credit: token, value: 5, reset_sch: "monthly:32" } }'),
    `${ENTITLEMENT}.limit.reset_sch`,
    /monthly:32/,
  ],
  [
    "invalid reset_tz",
    oneEntitlement("{ limit: { credit: token, value: 5, reset_sch: daily, reset_tz: Mars/Olympus } }"),
    `${ENTITLEMENT}.limit.reset_tz`,
    /Mars\/Olympus/,
  ],
  [
    "invalid reset_inc",
    oneEntitlement("{ limit: { credit: token, value: 5, reset_inc: fortnight } }"),
    `${ENTITLEMENT}.limit.reset_inc`,
    /fortnight/,
  ],
  [
    "zero window",
    oneEntitlement("{ limit: { credit: token, value: 5 }, rate: { limit: 1, window: 0 } }"),
    `${ENTITLEMENT}.rate.window`,
    /greater than zero/,
  ],
  [
    "zero burst",
    oneEntitlement("{ limit: { credit: token, value: 5 }, rate: { limit: 1, window: 1m, burst: 0 } }"),
    `${ENTITLEMENT}.rate.burst`,
    /> 0/,
  ],
  [
    "rate unit mismatch",
    oneEntitlement("{ limit: { credit: mb, value: 5 }, rate: { limit: 5 tokens, window: 1m } }"),
    `${ENTITLEMENT}.rate.limit`,
    /tokens/,
  ],
  [
    "unit on a flag's rate",
    oneEntitlement('{ rate: { limit: "5MB", window: 1m } }'),
    `${ENTITLEMENT}.rate.limit`,
    /no credit/,
  ],
  [
    "unit and stof_units differ",
    "credits: { mb: { unit: MB, stof_units: GB } }",
    "credits.mb.stof_units",
    /disagree/,
  ],
  ["bad unit", "credits: { x: { unit: '%' } }", "credits.x.unit", /"%"/],
  ["entitlement not an object", oneEntitlement("5"), ENTITLEMENT, /expected an object/],
  [
    "two defaults",
    "plans:\n  free: { default: true }\n  pro: { default: true }\n  team: { default: false }",
    "plans.pro.default",
    /"free"/,
  ],
  [
    "gateway model to no plan's entitlement",
    oneEntitlement("{}", 'gateway: { models: { "gpt-4o*": ghost } }'),
    "gateway.models.gpt-4o*",
    /"ghost".*no plan/,
  ],
  [
    "gateway.requests to no plan's entitlement",
    oneEntitlement("{}", "gateway: { requests: ghost }"),
    "gateway.requests",
    /"ghost".*no plan/,
  ],
  [
    "gateway default_max_tokens",
    "gateway: { default_max_tokens: 1.5 }",
    "gateway.default_max_tokens",
    /whole number/,
  ],
  ["no plans at all", "{}", "plans", /at least one plan/],
  ["an empty plans map", "plans: {}", "plans", /at least one plan/],
  ["credits but no plans", "credits: { token: {} }", "plans", /at least one plan/],
  ["no plans inside `policy:`", "policy: { plans: {} }", "plans", /at least one plan/],
  ["unknown top-level key", "credits: {}\nplna: {}", "plna", /unknown key "plna".*credits, plans, gateway/],
  ["unknown credit key", "credits: { token: { units: x } }", "credits.token.units", /unknown key "units"/],
  ["unknown plan key", "plans: { free: { defualt: true } }", "plans.free.defualt", /unknown key/],
  ["unknown entitlement key", oneEntitlement("{ limits: {} }"), `${ENTITLEMENT}.limits`, /unknown key/],
  [
    "unknown limit key",
    oneEntitlement("{ limit: { credit: token, value: 1, reset: daily } }"),
    `${ENTITLEMENT}.limit.reset`,
    /unknown key/,
  ],
  [
    "unknown rate key",
    oneEntitlement("{ rate: { limit: 1, window: 1m, refill: 2 } }"),
    `${ENTITLEMENT}.rate.refill`,
    /unknown key/,
  ],
  ["unknown gateway key", "gateway: { model: {} }", "gateway.model", /unknown key/],
  [
    "paths inside `policy:` are relative to it",
    `policy:\n  plans: { free: { colour: red } }`,
    "plans.free.colour",
    /unknown key/,
  ],
  ["a key beside `policy:`", "policy: {}\nplans: {}", "", /"plans" beside the top-level "policy:"/],
  ["`policy:` holding a list", "policy: [1]", "", /expected an object/],
  ["a list", "- 1", "", /expected an object/],
  ["empty text", "", "", /expected an object/],
  ["YAML syntax", "plans: { free: [", "", /invalid YAML/],
  ["duplicate YAML key", "plans: {}\nplans: {}", "", /invalid YAML/],
  [
    "one entitlement with two credits across plans",
    "credits: { token: {}, mb: {} }\nplans:\n  a: { entitlements: { x: { limit: { credit: token, value: 1 } } } }\n  b: { entitlements: { x: { limit: { credit: mb, value: 1 } } } }",
    "plans.b.entitlements.x.limit.credit",
    /"token".*same credit/,
  ],
];

describe("each error names its path", () => {
  it.each(ERRORS)("%s", async (_what, text, path, message) => {
    const issues = await invalid(text);
    expect(issues).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it("invalid JSON under a JSON media type is an issue at the root", async () => {
    expect(await invalid("{ credits: ", "application/json")).toEqual([
      { path: "", message: expect.stringMatching(/^invalid JSON/) },
    ]);
  });

  it("parsePolicyText reads YAML by default and JSON when told", () => {
    expect(parsePolicyText('{"a": 1}')).toEqual({ ok: true, document: { a: 1 } });
    expect(parsePolicyText("a: 1", "application/json").ok).toBe(false);
    expect(parsePolicyText("a: 1", "text/yaml")).toEqual({ ok: true, document: { a: 1 } });
  });

  it("unwrapPolicy takes the value of `policy:` and leaves other documents alone", () => {
    expect(unwrapPolicy({ policy: { plans: {} }, version: 2 })).toEqual({ root: { plans: {} }, issues: [] });
    expect(unwrapPolicy({ plans: {} })).toEqual({ root: { plans: {} }, issues: [] });
  });

  it("a reset_tz without reset_sch is ignored, even when it names no zone", async () => {
    await valid(
      oneEntitlement("{ limit: { credit: token, value: 5, reset_inc: 1d, reset_tz: Nowhere/Land } }"),
    );
  });

  it("unit and stof_units may both be given when they agree", async () => {
    const result = await valid("credits: { mb: { unit: MB, stof_units: MB } }\nplans: { free: {} }");
    expect(result.policy.credits.get("mb")?.unit).toBe("MB");
  });
});

describe("collecting every issue", () => {
  it("reports structural and semantic issues across the whole document in one pass", async () => {
    const issues = await invalid(`
credits: { token: {}, mb: { unit: MB, stof_units: GB } }
plans:
  free:
    default: true
    entitlements:
      a: { limit: { credit: nope, value: -1, typo: 1 } }
      b: { limit: { credit: token, value: 5GB, reset_inc: 1h, reset_sch: daily } }
      c: { limit: { credit: token, value: 5, alerts: [0], resets: false, reset_sch: "weekly:xyz" } }
  pro: { default: true, extra: 1 }
gateway: { requests: ghost, models: { "gpt-*": phantom }, default_max_tokens: 0 }
`);
    expect(issues.map((issue) => issue.path).sort()).toEqual(
      [
        "credits.mb.stof_units",
        "plans.free.entitlements.a.limit.credit",
        "plans.free.entitlements.a.limit.value",
        "plans.free.entitlements.a.limit.typo",
        "plans.free.entitlements.b.limit.value",
        "plans.free.entitlements.b.limit.reset_sch",
        "plans.free.entitlements.c.limit.alerts.0",
        "plans.free.entitlements.c.limit.resets",
        "plans.free.entitlements.c.limit.reset_sch",
        "plans.pro.default",
        "plans.pro.extra",
        "gateway.default_max_tokens",
        "gateway.models.gpt-*",
        "gateway.requests",
      ].sort(),
    );
    for (const issue of issues) expect(issue.message.length).toBeGreaterThan(5);
  });

  it("keeps the issues of a wrapped document and of its wrapper together", async () => {
    const issues = await invalid("policy: { plans: { free: { x: 1 } } }\nplans: {}");
    expect(issues.map((issue) => issue.path)).toEqual(["", "plans.free.x"]);
  });
});

describe("ignored Limitr keys", () => {
  const everywhere = IGNORED_KEYS.map((key) => `${key}: 1`).join(", ");
  const text = `
${IGNORED_KEYS.map((key) => `${key}: { any: [thing] }`).join("\n")}
credits: { token: { ${everywhere} } }
plans:
  free:
    default: true
    ${everywhere.replaceAll(", ", "\n    ")}
    entitlements:
      thing:
        ${everywhere.replaceAll(", ", "\n        ")}
        limit: { credit: token, value: 5, ${everywhere} }
        rate: { limit: 1, window: 1s, ${everywhere} }
gateway: { models: { "m*": thing }, ${everywhere} }
`;

  it("are accepted at every level, dropped from the document, and leave the version alone", async () => {
    const withKeys = await valid(text);
    expect(JSON.stringify(withKeys.document)).not.toMatch(/"(price|tiers|hidden|grants_apply)"/);
    const without = await valid(
      oneEntitlement(
        "{ limit: { credit: token, value: 5 }, rate: { limit: 1, window: 1s } }",
        'gateway: { models: { "m*": thing } }',
      ).replace("mb: { unit: MB }", ""),
    );
    expect(withKeys.policy.version).toBe(without.policy.version);
  });

  it("may stand beside a top-level `policy:`", async () => {
    await valid(`version: 2\nsubscription: monthly\npolicy:\n  plans: { free: { default: true } }`);
  });
});

describe("names that are Object.prototype members", () => {
  // Computed keys: a literal `__proto__: x` would set the prototype instead of making an own key.
  const json = JSON.stringify({
    credits: { ["__proto__"]: { unit: "MB" }, toString: {} },
    plans: {
      ["__proto__"]: {
        default: true,
        entitlements: {
          constructor: { limit: { credit: "__proto__", value: "1GB" } },
          ["__proto__"]: { limit: { credit: "toString", value: 2 } },
        },
      },
      constructor: { entitlements: { hasOwnProperty: {} } },
    },
    gateway: { models: { "__proto__*": "constructor" } },
  });

  it("are plain names: nothing crashes, nothing leaks into prototypes", async () => {
    const result = await validatePolicyText(json, "application/json");
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const { policy, document } = result;
    expect(policy.defaultPlan).toBe("__proto__");
    expect(policy.plans.get("__proto__")?.entitlements.get("constructor")?.limit?.value).toBe(1000);
    expect(policy.plans.get("__proto__")?.entitlements.get("__proto__")?.credit?.name).toBe("toString");
    expect(policy.plans.get("toString")).toBeUndefined();
    expect([...policy.entitlementNames].sort()).toEqual(["__proto__", "constructor", "hasOwnProperty"]);
    expect(Object.hasOwn(document.plans ?? {}, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).default).toBeUndefined();
    expect(Object.getPrototypeOf(document.plans)).toBe(Object.prototype);
    const again = await validatePolicy(JSON.parse(JSON.stringify(document)));
    expect(again.ok && again.policy.version).toBe(policy.version);
  });

  it("which YAML reads the same way", async () => {
    const yaml = "plans:\n  __proto__: { default: true, entitlements: { toString: {} } }\n  constructor: {}";
    const result = await valid(yaml);
    expect([...result.policy.plans.keys()]).toEqual(["__proto__", "constructor"]);
  });

  it("are unknown when not declared", async () => {
    const issues = await invalid(
      oneEntitlement("{ limit: { credit: toString, value: 1 } }", "gateway: { requests: constructor }"),
    );
    expect(issues.map((issue) => issue.path)).toEqual([`${ENTITLEMENT}.limit.credit`, "gateway.requests"]);
  });
});
