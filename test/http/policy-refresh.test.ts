/**
 * The policy pointer refreshed ahead of its expiry (SPEC §10, §11 "Policy store"): with the request's
 * `waitUntil`, a cached pointer past half of POLICY_CACHE_SECONDS is re-read after the answer, so no request
 * waits for KV under steady traffic; it is never trusted past POLICY_CACHE_SECONDS; a write in this isolate
 * wins over a refresh that started before it.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  clearPolicyCache,
  getActivePolicy,
  loadPolicyVersion,
  rememberActivePolicy,
} from "../../src/policy/store";
import { meterUnchecked } from "../../src/services/metering";
import { ok, putPolicy } from "../support/api";

const policyWith = (tokens: number) => ({
  credits: { token: { label: "Token" } },
  plans: { free: { default: true, entitlements: { tokens: { limit: { credit: "token", value: tokens } } } } },
});

/** POLICY_CACHE_SECONDS=10 and a POLICIES binding that counts pointer reads. */
function cachingEnv(): { env: Env; pointerReads: () => number } {
  let reads = 0;
  const kv = env.POLICIES;
  const POLICIES = new Proxy(kv, {
    get(target, property) {
      if (property === "get") {
        return (key: string, ...rest: unknown[]) => {
          if (key === "policy:active") reads += 1;
          return (target.get as (...args: unknown[]) => unknown)(key, ...rest);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { env: { ...env, POLICIES, POLICY_CACHE_SECONDS: "10" }, pointerReads: () => reads };
}

/** Point `policy:active` at a valid stored version straight in KV, as another location's write would. */
async function pointAt(document: object): Promise<string> {
  const { version } = await ok("POST", "/v1/policy/validate", document);
  const updatedAt = new Date().toISOString();
  await env.POLICIES.put(`policy:${version}`, JSON.stringify({ version, updatedAt, document }));
  await env.POLICIES.put("policy:active", JSON.stringify({ version, updatedAt }));
  return version as string;
}

function collector() {
  const promises: Promise<unknown>[] = [];
  return { background: (p: Promise<unknown>) => void promises.push(p), promises };
}

let first = "";
beforeAll(async () => {
  first = await putPolicy(JSON.stringify(policyWith(5)));
});

describe("the policy pointer's refresh ahead (POLICY_CACHE_SECONDS=10)", () => {
  it("is re-read after the answer past half its age, and the new version is in force on the next call", async () => {
    clearPolicyCache();
    const { env: caching, pointerReads } = cachingEnv();
    const t0 = 1_000_000;
    expect((await getActivePolicy(caching, t0))?.version).toBe(first);
    expect(pointerReads()).toBe(1);
    const early = collector();
    expect((await getActivePolicy(caching, t0 + 4_000, early.background))?.version).toBe(first);
    expect(early.promises).toHaveLength(0);

    const second = await pointAt(policyWith(6));
    const late = collector();
    // Served from the cache at once; the read runs in the background, one at a time.
    expect((await getActivePolicy(caching, t0 + 6_000, late.background))?.version).toBe(first);
    expect((await getActivePolicy(caching, t0 + 6_001, late.background))?.version).toBe(first);
    expect(late.promises).toHaveLength(1);
    await Promise.all(late.promises);
    expect(pointerReads()).toBe(2);
    expect((await getActivePolicy(caching, t0 + 6_002))?.version).toBe(second);
    expect(pointerReads()).toBe(2);
  });

  it("without a background, or past POLICY_CACHE_SECONDS, the pointer is read before answering", async () => {
    clearPolicyCache();
    const { env: caching, pointerReads } = cachingEnv();
    const t0 = 2_000_000;
    const before = (await getActivePolicy(caching, t0))?.version;
    const next = await pointAt(policyWith(7));
    expect((await getActivePolicy(caching, t0 + 9_000))?.version).toBe(before);
    expect(pointerReads()).toBe(1);
    // Never trusted longer than POLICY_CACHE_SECONDS, background or not.
    const bg = collector();
    expect((await getActivePolicy(caching, t0 + 10_000, bg.background))?.version).toBe(next);
    expect(pointerReads()).toBe(2);
    expect(bg.promises).toHaveLength(0);
  });

  it("a write in this isolate wins over a refresh that started before it", async () => {
    clearPolicyCache();
    const { env: caching } = cachingEnv();
    const t0 = 3_000_000;
    const inKv = (await getActivePolicy(caching, t0))?.version;
    const written = await loadPolicyVersion(env, first);
    expect(written).not.toBeNull();
    expect(inKv).not.toBe(first);
    const bg = collector();
    await getActivePolicy(caching, t0 + 6_000, bg.background);
    expect(bg.promises).toHaveLength(1);
    // The write lands while the refresh is reading the pointer from before it.
    if (written !== null) rememberActivePolicy(written, t0 + 6_000);
    await Promise.all(bg.promises);
    expect((await getActivePolicy(caching, t0 + 6_001))?.version).toBe(first);
  });

  it("the metering service behind Workers RPC refreshes in the background too", async () => {
    clearPolicyCache();
    const { env: caching, pointerReads } = cachingEnv();
    // A pointer read 6 s ago: past half its age, still within it.
    await getActivePolicy(caching, Date.now() - 6_000);
    const bg = collector();
    const body = { customer: "refresh_rpc_caller", entitlement: "tokens", amount: 1 };
    await meterUnchecked(caching, "check", body, bg.background);
    // The re-read was handed to the background, not awaited before the decision.
    expect(bg.promises).toHaveLength(1);
    await Promise.all(bg.promises);
    expect(pointerReads()).toBe(2);
  });
});
