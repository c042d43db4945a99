/**
 * Policies in Workers KV (SPEC §5.1, §10): immutable documents under `policy:<version>` plus one small pointer
 * `policy:active` (and `policy:last-good`, see below). Only validated versions are ever pointed at; an
 * isolate caches the pointer for POLICY_CACHE_SECONDS and each compiled version for its lifetime.
 */
import type { CompiledPolicy } from "../domain/types";
import { validatePolicy } from "./load";

export const ACTIVE_KEY = "policy:active";
/**
 * The last version a validated write made active. A fresh isolate that finds `policy:active` naming a missing
 * or invalid document falls back to it, so the last valid policy stays in force everywhere, not only in
 * isolates that saw it before (SPEC §5.1). Writers should put it right after `policy:active`.
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

const DEFAULT_CACHE_SECONDS = 10;

// Per-isolate caches. A compiled version never changes (its key is its content hash).
const compiled = new Map<string, ActivePolicy>();
let pointerCache: { pointer: PolicyPointer | null; fetchedAtMs: number } | null = null;
let lastGood: ActivePolicy | null = null;
let lastGoodLookupMs: number | null = null;

function cacheMs(env: Env): number {
  const raw = Number(env.POLICY_CACHE_SECONDS ?? DEFAULT_CACHE_SECONDS);
  return Number.isFinite(raw) && raw >= 0 ? raw * 1000 : DEFAULT_CACHE_SECONDS * 1000;
}

/** Load and compile one stored version; null when it is missing or does not validate (never used then). */
export async function loadPolicyVersion(env: Env, version: string): Promise<ActivePolicy | null> {
  const hit = compiled.get(version);
  if (hit !== undefined) return hit;
  const stored = await env.POLICIES.get<StoredPolicy>(documentKey(version), "json").catch(() => null);
  if (stored === null || typeof stored !== "object" || stored.document === undefined) return null;
  const result = await validatePolicy(stored.document);
  if (!result.ok) {
    console.error(JSON.stringify({ level: "error", msg: "invalid policy document in KV ignored", version }));
    return null;
  }
  if (result.policy.version !== version) {
    console.error(
      JSON.stringify({ level: "error", msg: "policy document does not match its version", version }),
    );
    return null;
  }
  const active: ActivePolicy = {
    version,
    updatedAt: stored.updatedAt,
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

async function readPointer(env: Env, nowMs: number): Promise<PolicyPointer | null> {
  if (pointerCache !== null && nowMs - pointerCache.fetchedAtMs < cacheMs(env)) return pointerCache.pointer;
  const pointer = await env.POLICIES.get<unknown>(ACTIVE_KEY, "json").catch(() => null);
  pointerCache = { pointer: asPointer(pointer), fetchedAtMs: nowMs };
  return pointerCache.pointer;
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
 * The policy in force, or null when there has never been a valid one (`503 policy_unavailable`).
 * A pointer to a missing or invalid document leaves the last good policy in force.
 */
export async function getActivePolicy(env: Env, nowMs = Date.now()): Promise<ActivePolicy | null> {
  const pointer = await readPointer(env, nowMs);
  if (pointer !== null && lastGood?.version === pointer.version) return lastGood;
  const active = pointer === null ? null : await loadPolicyVersion(env, pointer.version);
  if (active === null) return recallLastGood(env, nowMs);
  lastGood = active;
  return active;
}

/**
 * Store a validated policy and make it active. Putting the active policy again keeps its version
 * (and its `updatedAt`).
 */
export async function storePolicy(
  env: Env,
  policy: CompiledPolicy,
  document: Record<string, unknown>,
  nowMs = Date.now(),
): Promise<ActivePolicy> {
  const current = await getActivePolicy(env, nowMs);
  const same = current !== null && current.version === policy.version;
  // The same policy again is a no-op, unless the pointer in KV no longer names it (then it is repaired).
  if (same && pointerCache?.pointer?.version === policy.version) return current;
  const updatedAt = same ? current.updatedAt : new Date(nowMs).toISOString();
  const stored: StoredPolicy = { version: policy.version, updatedAt, document };
  // Document first, pointer second: the pointer only ever names a stored, validated version.
  await env.POLICIES.put(documentKey(policy.version), JSON.stringify(stored));
  const pointer = JSON.stringify({ version: policy.version, updatedAt } satisfies PolicyPointer);
  await env.POLICIES.put(ACTIVE_KEY, pointer);
  await env.POLICIES.put(LAST_GOOD_KEY, pointer);
  const active: ActivePolicy = { version: policy.version, updatedAt, policy, document };
  compiled.set(policy.version, active);
  lastGood = active;
  pointerCache = { pointer: { version: policy.version, updatedAt }, fetchedAtMs: nowMs };
  return active;
}

/** Forget this isolate's caches (tests). */
export function clearPolicyCache(): void {
  compiled.clear();
  pointerCache = null;
  lastGood = null;
  lastGoodLookupMs = null;
}
