/**
 * Policies in Workers KV (SPEC §5.1, §10, §11 "Policy store"): immutable documents under `policy:<version>`
 * plus one small pointer `policy:active` (and `policy:last-good`, see below). Only the policy writer object
 * (src/objects/policy-object.ts) writes them; only validated versions are ever pointed at by it. An isolate
 * caches the pointer for POLICY_CACHE_SECONDS, each compiled version for its lifetime, and each version whose
 * document fails validation as bad, so a broken document costs one read and one validation per isolate.
 */
import type { CompiledPolicy } from "../domain/types";
import { validatePolicy } from "./load";

export const ACTIVE_KEY = "policy:active";
/**
 * The last version a validated write made active. A fresh isolate that finds `policy:active` naming a missing
 * or invalid document falls back to it, so the last valid policy stays in force everywhere, not only in
 * isolates that saw it before (SPEC §5.1). Written right after `policy:active`.
 */
export const LAST_GOOD_KEY = "policy:last-good";
export const documentKey = (version: string): string => `policy:${version}`;

/** What KV holds under `policy:<version>`. */
export interface StoredPolicy {
  version: string;
  updatedAt: string;
  document: Record<string, unknown>;
}

/** What KV holds under `policy:active`. */
export interface PolicyPointer {
  version: string;
  updatedAt: string;
}

export interface ActivePolicy {
  version: string;
  updatedAt: string;
  policy: CompiledPolicy;
  document: Record<string, unknown>;
}

/** `current`: the pointer names the policy in force (or there is no pointer); `stale`: it names another. */
export type PolicyState = "current" | "stale";

const DEFAULT_CACHE_SECONDS = 10;

// Per-isolate caches. A compiled version never changes (its key is its content hash).
const compiled = new Map<string, ActivePolicy>();
/**
 * Versions whose stored document failed validation (or is not its version), with the `updatedAt` of the
 * pointer that named them when they were found bad (null: no pointer did). They are not read again, unless a
 * pointer with another `updatedAt` names them: only a new write of that version (which rewrites the
 * document) produces one.
 */
const bad = new Map<string, string | null>();
let pointerCache: { pointer: PolicyPointer | null; present: boolean; fetchedAtMs: number } | null = null;
let lastGood: ActivePolicy | null = null;
let lastGoodLookupMs: number | null = null;

function cacheMs(env: Env): number {
  const raw = Number(env.POLICY_CACHE_SECONDS ?? DEFAULT_CACHE_SECONDS);
  return Number.isFinite(raw) && raw >= 0 ? raw * 1000 : DEFAULT_CACHE_SECONDS * 1000;
}

function rejectVersion(version: string, namedAt: string | null, msg: string): null {
  bad.set(version, namedAt);
  console.error(JSON.stringify({ level: "error", msg, version }));
  return null;
}

/**
 * Load and compile one stored version; null when it is missing (it may still arrive: KV is eventually
 * consistent) or does not validate (remembered: never read again in this isolate, see `bad`).
 * `namedAt` is the `updatedAt` of the pointer that names the version, when a pointer does.
 */
export async function loadPolicyVersion(
  env: Env,
  version: string,
  namedAt: string | null = null,
): Promise<ActivePolicy | null> {
  const hit = compiled.get(version);
  if (hit !== undefined) return hit;
  const markedAt = bad.get(version);
  if (markedAt !== undefined && (namedAt === null || markedAt === namedAt)) return null;
  const text = await env.POLICIES.get(documentKey(version), "text").catch(() => null);
  if (text === null) return null;
  let stored: Partial<StoredPolicy> | null;
  try {
    stored = JSON.parse(text) as Partial<StoredPolicy> | null;
  } catch {
    return rejectVersion(version, namedAt, "policy document in KV is not JSON; ignored");
  }
  if (stored === null || typeof stored !== "object" || stored.document === undefined) {
    return rejectVersion(version, namedAt, "policy document in KV has no document; ignored");
  }
  const result = await validatePolicy(stored.document);
  if (!result.ok) return rejectVersion(version, namedAt, "invalid policy document in KV ignored");
  if (result.policy.version !== version) {
    return rejectVersion(version, namedAt, "policy document does not match its version");
  }
  bad.delete(version);
  const active: ActivePolicy = {
    version,
    updatedAt: typeof stored.updatedAt === "string" ? stored.updatedAt : "",
    policy: result.policy,
    document: result.document,
  };
  compiled.set(version, active);
  return active;
}

function asPointer(value: unknown): PolicyPointer | null {
  return value !== null && typeof value === "object" && typeof (value as PolicyPointer).version === "string"
    ? (value as PolicyPointer)
    : null;
}

/**
 * Bumped by `rememberActivePolicy`: a KV read of the pointer that started before a write in this isolate must
 * not replace what the write made active (the read may see the pointer from before the write).
 */
let pointerGeneration = 0;
/**
 * When the background refresh under way started (at most one per isolate); null when none is. One that never
 * settles (its request cut short) stops counting after POLICY_CACHE_SECONDS.
 */
let refreshStartedMs: number | null = null;

/**
 * Runs a promise after the answer is sent (`ctx.waitUntil`). A caller that has one lets a cached pointer be
 * refreshed ahead of its expiry without waiting for KV; a caller without one reads KV when the cache expires.
 */
export type Background = (promise: Promise<unknown>) => void;

async function fetchPointer(env: Env, nowMs: number) {
  const generation = pointerGeneration;
  const text = await env.POLICIES.get(ACTIVE_KEY, "text").catch(() => null);
  let pointer: PolicyPointer | null = null;
  try {
    pointer = text === null ? null : asPointer(JSON.parse(text));
  } catch {
    pointer = null;
  }
  const read = { pointer, present: text !== null, fetchedAtMs: nowMs };
  // A write in this isolate while KV answered wins: its pointer stays (SPEC §10 "refreshed at once after a PUT").
  // So does a read that started later (a refresh ahead can finish after the read that followed its expiry).
  if (generation === pointerGeneration && (pointerCache === null || pointerCache.fetchedAtMs <= nowMs)) {
    pointerCache = read;
  }
  return pointerCache ?? read;
}

/**
 * The active pointer (`present`: the key exists, even if it does not parse as a pointer). A cached pointer is
 * trusted for POLICY_CACHE_SECONDS, never longer; with `background`, once half of that has passed it is
 * re-read after the answer (refresh ahead), so under steady traffic no request waits for KV.
 */
async function readPointer(env: Env, nowMs: number, fresh: boolean, background?: Background) {
  const ttlMs = cacheMs(env);
  if (!fresh && pointerCache !== null) {
    const ageMs = nowMs - pointerCache.fetchedAtMs;
    if (ageMs < ttlMs) {
      const idle = refreshStartedMs === null || nowMs - refreshStartedMs >= ttlMs;
      if (background !== undefined && ageMs >= ttlMs / 2 && idle) {
        const startedMs = nowMs;
        refreshStartedMs = startedMs;
        background(
          fetchPointer(env, nowMs).finally(() => {
            if (refreshStartedMs === startedMs) refreshStartedMs = null;
          }),
        );
      }
      return pointerCache;
    }
  }
  return fetchPointer(env, nowMs);
}

/** This isolate's last good policy, else (a fresh isolate) the one `policy:last-good` names, if it loads. */
async function recallLastGood(env: Env, nowMs: number): Promise<ActivePolicy | null> {
  if (lastGood !== null) return lastGood;
  if (lastGoodLookupMs !== null && nowMs - lastGoodLookupMs < cacheMs(env)) return null;
  lastGoodLookupMs = nowMs;
  const pointer = asPointer(await env.POLICIES.get<unknown>(LAST_GOOD_KEY, "json").catch(() => null));
  if (pointer !== null) lastGood = await loadPolicyVersion(env, pointer.version);
  return lastGood;
}

/**
 * The policy in force (null when there has never been a valid one: `503 policy_unavailable`) and whether the
 * pointer names it. A pointer to a missing or invalid document leaves the last good policy in force, and the
 * state `stale`. `fresh` reads the pointer from KV whatever the cache holds (the policy writer does).
 */
export async function readPolicyState(
  env: Env,
  nowMs = Date.now(),
  fresh = false,
  background?: Background,
): Promise<{ active: ActivePolicy | null; state: PolicyState }> {
  const { pointer, present } = await readPointer(env, nowMs, fresh, background);
  let active: ActivePolicy | null;
  if (pointer !== null && lastGood?.version === pointer.version) {
    active = lastGood;
  } else {
    const loaded = pointer === null ? null : await loadPolicyVersion(env, pointer.version, pointer.updatedAt);
    if (loaded !== null) lastGood = loaded;
    active = loaded ?? (await recallLastGood(env, nowMs));
  }
  const stale = present && (pointer === null || active?.version !== pointer.version);
  return { active, state: stale ? "stale" : "current" };
}

/**
 * The policy in force, or null when there has never been a valid one (`503 policy_unavailable`). With
 * `background` (the request's `waitUntil`), the cached pointer is refreshed ahead of its expiry.
 */
export async function getActivePolicy(
  env: Env,
  nowMs = Date.now(),
  background?: Background,
): Promise<ActivePolicy | null> {
  return (await readPolicyState(env, nowMs, false, background)).active;
}

const timeOf = (policy: ActivePolicy): number => {
  const ms = Date.parse(policy.updatedAt);
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
};

/**
 * The policy an object decides under when asked for `version` (SPEC §11 "Policy store"): that version; or,
 * when it cannot be read yet (KV is eventually consistent across locations) or is bad, the newest valid
 * version this isolate holds, else the one `policy:last-good` names. The decision's `policyVersion` says
 * which. Null only when none is held (`503 policy_unavailable`).
 */
export async function loadDecisionPolicy(
  env: Env,
  version: string,
  nowMs = Date.now(),
): Promise<ActivePolicy | null> {
  const exact = await loadPolicyVersion(env, version);
  if (exact !== null) return exact;
  let newest: ActivePolicy | null = null;
  for (const held of compiled.values()) {
    if (newest === null || timeOf(held) > timeOf(newest)) newest = held;
  }
  return newest ?? recallLastGood(env, nowMs);
}

/**
 * Write a validated policy to KV and point at it: document first, then `policy:active`, then
 * `policy:last-good`, so the pointer only ever names a stored, validated version. Only the policy writer
 * object calls this: it serialises writes, so its own record of the active version is a compare-and-set.
 */
export async function writePolicyToKv(env: Env, stored: StoredPolicy): Promise<void> {
  await env.POLICIES.put(documentKey(stored.version), JSON.stringify(stored));
  const pointer = JSON.stringify({
    version: stored.version,
    updatedAt: stored.updatedAt,
  } satisfies PolicyPointer);
  await env.POLICIES.put(ACTIVE_KEY, pointer);
  await env.POLICIES.put(LAST_GOOD_KEY, pointer);
}

/** After a write in this isolate: the new policy is in force here at once (SPEC §10). */
export function rememberActivePolicy(active: ActivePolicy, nowMs = Date.now()): void {
  compiled.set(active.version, active);
  bad.delete(active.version);
  lastGood = active;
  pointerGeneration += 1;
  pointerCache = {
    pointer: { version: active.version, updatedAt: active.updatedAt },
    present: true,
    fetchedAtMs: nowMs,
  };
}

/** Forget this isolate's caches (tests). */
export function clearPolicyCache(): void {
  compiled.clear();
  bad.clear();
  pointerCache = null;
  pointerGeneration += 1;
  refreshStartedMs = null;
  lastGood = null;
  lastGoodLookupMs = null;
}
