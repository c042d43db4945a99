/**
 * Worker-side customer resolution (SPEC §3.4, §10): a canonical id goes straight to its object; an alternate
 * ID goes through its index object once per isolate, then straight to the owner, which confirms on every
 * call that the ID is still its own. A mismatch drops the cached answer and resolves again.
 */
import { type CustomerIdentity, isUnknown, type Result, unknownCustomer } from "./contract";

type CustomerStub = ReturnType<Env["CUSTOMERS"]["get"]>;

// Bounded so a flood of distinct keys cannot grow the isolate without limit.
const MAX_CACHED = 10_000;
const altCache = new Map<string, string>();

export function customerStub(env: Env, id: string): CustomerStub {
  return env.CUSTOMERS.get(env.CUSTOMERS.idFromName(id));
}

function alternateIdStub(env: Env, alternateId: string) {
  return env.ALTERNATE_IDS.get(env.ALTERNATE_IDS.idFromName(alternateId));
}

function remember(alternateId: string, id: string): void {
  if (altCache.size >= MAX_CACHED) {
    const oldest = altCache.keys().next().value;
    if (oldest !== undefined) altCache.delete(oldest);
  }
  altCache.set(alternateId, id);
}

/** Forget what this isolate knows about an alternate ID (after a local removal or delete). */
export function forgetAlternateId(alternateId: string): void {
  altCache.delete(alternateId);
}

export type CustomerCall<T> = (
  stub: CustomerStub,
  presentedAlternateId: string | null,
  id: string,
) => Promise<Result<T>>;

/**
 * Run `call` on the customer `key` names. `canonical: false` accepts only alternate IDs (gateway keys).
 * Answers `customer_not_found` when no customer has that id or alternate ID.
 */
export async function withCustomer<T>(
  env: Env,
  key: string,
  call: CustomerCall<T>,
  options: { canonical?: boolean } = {},
): Promise<Result<T>> {
  const cached = altCache.get(key);
  if (cached !== undefined) {
    const result = await call(customerStub(env, cached), key, cached);
    if (!isUnknown(result)) return result;
    altCache.delete(key);
  }
  if (options.canonical !== false) {
    const result = await call(customerStub(env, key), null, key);
    if (!isUnknown(result)) return result;
  }
  const owner = await alternateIdStub(env, key).lookup();
  if (owner === null) return unknownCustomer();
  const result = await call(customerStub(env, owner), key, owner);
  if (!isUnknown(result)) remember(key, owner);
  return result;
}

/**
 * The canonical id an alternate ID points at, from this isolate's cache or the index object, without asking
 * the owner: a cheap first check (the gateway's, before it reads a body). The call that follows through
 * `withCustomer` is confirmed by the owner as usual, and drops a stale entry.
 */
export async function alternateIdOwner(env: Env, alternateId: string): Promise<string | null> {
  const cached = altCache.get(alternateId);
  if (cached !== undefined) return cached;
  const owner = await alternateIdStub(env, alternateId).lookup();
  if (owner !== null) remember(alternateId, owner);
  return owner;
}

/** The customer `key` (an id or alternate ID) names, or null. */
export async function resolveCustomer(env: Env, key: string): Promise<CustomerIdentity | null> {
  const result = await withCustomer(env, key, (stub, alternateId) => stub.identify(alternateId));
  return result.ok ? result.value : null;
}
