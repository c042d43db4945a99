/**
 * The policy store under a bad or lagging KV (SPEC §11 "Policy store"): a document that fails validation is
 * read and validated once per isolate, decisions keep the last valid version, `/healthz` says `stale`; an
 * object asked for a version it cannot read decides under the newest valid one it holds.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { statusOf } from "../../src/errors/catalogue";
import type { Result } from "../../src/objects/contract";
import { clearPolicyCache, getActivePolicy } from "../../src/policy/store";
import { check, customerStub, ok, putCustomer, putPolicy, unique } from "../support/api";

// Storage is isolated per test file, not per test: these tests run in order and build on each other.

const policyWith = (tokens: number) => `
credits:
  token: { label: Token }
plans:
  free:
    default: true
    entitlements:
      tokens:
        limit: { credit: token, value: ${tokens} }
`;

/** The env with a POLICIES binding that records every key read, to count what the store fetches. */
function countingEnv(): { env: Env; reads: string[] } {
  const reads: string[] = [];
  const kv = env.POLICIES;
  const POLICIES = new Proxy(kv, {
    get(target, property) {
      if (property === "get") {
        return (key: string, ...rest: unknown[]) => {
          reads.push(key);
          return (target.get as (...args: unknown[]) => unknown)(key, ...rest);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { env: { ...env, POLICIES }, reads };
}

async function health(): Promise<{ policyVersion: string | null; policyState: string }> {
  const res = await exports.default.fetch("http://gate.test/healthz");
  return (await res.json()) as { policyVersion: string | null; policyState: string };
}

/** A large document that fails validation (an unknown key in every one of many plans). */
function badDocument(): Record<string, unknown> {
  const plans: Record<string, unknown> = {};
  for (let i = 0; i < 4000; i++)
    plans[`plan_${i}`] = { entitlements: { x: { limit: { credit: "nope", value: 1 } } } };
  return { credits: { token: {} }, plans };
}

let good = "";
beforeAll(async () => {
  good = await putPolicy(policyWith(5));
});

describe("a bad document in KV (SPEC §11 Policy store)", () => {
  const BAD = "badbadbadbadbad1";

  it("/healthz says current while the pointer names the policy in force", async () => {
    expect(await health()).toEqual(expect.objectContaining({ policyVersion: good, policyState: "current" }));
  });

  it("is read and validated once per isolate; decisions keep the last valid version; /healthz says stale", async () => {
    const at = new Date().toISOString();
    await env.POLICIES.put(
      `policy:${BAD}`,
      JSON.stringify({ version: BAD, updatedAt: at, document: badDocument() }),
    );
    await env.POLICIES.put("policy:active", JSON.stringify({ version: BAD, updatedAt: at }));

    const counting = countingEnv();
    for (let i = 0; i < 5; i++) expect((await getActivePolicy(counting.env))?.version).toBe(good);
    // The pointer is read every time (POLICY_CACHE_SECONDS is 0 here); the broken document only once.
    expect(counting.reads.filter((key) => key === `policy:${BAD}`)).toHaveLength(1);
    expect(counting.reads.filter((key) => key === "policy:active")).toHaveLength(5);

    const id = unique("bad_doc");
    await putCustomer(id);
    expect(await check({ customer: id, entitlement: "tokens", amount: 6 })).toMatchObject({
      allowed: false,
      limit: 5,
      policyVersion: good,
    });
    expect(await health()).toEqual(expect.objectContaining({ policyVersion: good, policyState: "stale" }));
    expect((await ok("GET", "/v1/policy")).version).toBe(good);
  });

  it("a pointer that is not JSON is stale too", async () => {
    await env.POLICIES.put("policy:active", "not json {");
    expect(await health()).toEqual(expect.objectContaining({ policyVersion: good, policyState: "stale" }));
  });

  it("a version written again (a new pointer) is read again, and used once it is valid", async () => {
    // A document stored under the version of a valid policy, but with other content: bad.
    const document = { credits: { token: {} }, plans: { free: { default: true } } };
    const { version } = await ok("POST", "/v1/policy/validate", document);
    const forged = { ...document, plans: { free: { default: true, label: "forged" } } };
    const first = "2026-01-01T00:00:00.000Z";
    await env.POLICIES.put(
      `policy:${version}`,
      JSON.stringify({ version, updatedAt: first, document: forged }),
    );
    await env.POLICIES.put("policy:active", JSON.stringify({ version, updatedAt: first }));
    const counting = countingEnv();
    expect((await getActivePolicy(counting.env))?.version).toBe(good);
    expect((await getActivePolicy(counting.env))?.version).toBe(good);
    expect(counting.reads.filter((key) => key === `policy:${version}`)).toHaveLength(1);
    // The right document under that version, and a pointer written after it.
    const second = new Date().toISOString();
    await env.POLICIES.put(`policy:${version}`, JSON.stringify({ version, updatedAt: second, document }));
    await env.POLICIES.put("policy:active", JSON.stringify({ version, updatedAt: second }));
    expect((await getActivePolicy(counting.env))?.version).toBe(version);
    expect(await health()).toEqual(
      expect.objectContaining({ policyVersion: version, policyState: "current" }),
    );
    expect(await putPolicy(policyWith(5))).toBe(good);
    expect(await health()).toEqual(expect.objectContaining({ policyVersion: good, policyState: "current" }));
  });
});

describe("an object asked for a version it cannot read yet (SPEC §11 Policy store)", () => {
  const UNREADABLE = "0123456789abcdef";
  const call = (policyVersion: string) => ({
    op: "check" as const,
    presentedAlternateId: null,
    entitlement: "tokens",
    amount: 6,
    holdId: null,
    ttlMs: null,
    idempotencyKey: null,
    policyVersion,
  });

  it("decides under the newest valid version it holds, and says so in policyVersion", async () => {
    const id = unique("lagging");
    await putCustomer(id);
    // The object decides under `good` (limit 5), then under `newer` (limit 10): it holds both.
    expect(await check({ customer: id, entitlement: "tokens", amount: 6 })).toMatchObject({ limit: 5 });
    const newer = await putPolicy(policyWith(10));
    expect(await check({ customer: id, entitlement: "tokens", amount: 6 })).toMatchObject({ limit: 10 });

    const answer = await customerStub(id).meter(call(UNREADABLE));
    expect(answer).toMatchObject({ ok: true, value: { allowed: true, limit: 10, policyVersion: newer } });
  });

  it("answers 503 policy_unavailable only when it holds none", async () => {
    const id = unique("none_held");
    await putCustomer(id);
    // An isolate that never loaded a policy, in a location whose KV has no fallback yet either.
    const lastGood = await env.POLICIES.get("policy:last-good");
    await env.POLICIES.delete("policy:last-good");
    clearPolicyCache();
    try {
      // The stub types the failure away (`details` holds `unknown`, which RPC types cannot name).
      const answer = (await customerStub(id).meter(call(UNREADABLE))) as Result<unknown>;
      expect(answer).toMatchObject({ ok: false, code: "policy_unavailable" });
      expect(answer.ok ? null : statusOf(answer.code)).toBe(503);
    } finally {
      if (lastGood !== null) await env.POLICIES.put("policy:last-good", lastGood);
    }
    // Once it can read the fallback (`policy:last-good`), it decides again.
    expect(await customerStub(id).meter(call(UNREADABLE))).toMatchObject({
      ok: true,
      value: { limit: 10 },
    });
  });
});
