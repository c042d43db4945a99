/**
 * Idempotency keys (SPEC §3.6, §11): every mutating call with a key answers from the stored decision when the
 * key was used with the same normalised request, `409 idempotency_key_reused` when with another; a new key is
 * remembered with the decision, in the transaction of the change (src/objects/metering/commit.ts). Keys are
 * the customer's own, also for calls metered on its org: local and forwarded calls remember them alike.
 */
import type { CompiledPolicy, Decision } from "../../domain/types";
import { fail } from "../../errors/catalogue";
import { ok, type Result } from "../contract";
import type { CustomerStore } from "../customer-store";
import { entitlementDefinition, normaliseAmount, settleFingerprint } from "./normalise";

/** A call as its key is stored: whose key, which operation, which normalised request. */
export interface KeyedCall {
  customer: string;
  op: string;
  key: string | null;
  fingerprint: string;
}

/** Keys apply to every mutating call; `check` ignores them (SPEC §11). */
export function keyApplies(call: KeyedCall): call is KeyedCall & { key: string } {
  return call.key !== null && call.op !== "check";
}

/** The stored answer for this key, replayed; `409` when the key came with another request; null when new. */
export function replay(store: CustomerStore, call: KeyedCall, nowMs: number): Result<Decision> | null {
  if (!keyApplies(call)) return null;
  const entry = store.getIdempotency(call.customer, call.key, nowMs);
  if (entry === null) return null;
  if (entry.fingerprint !== call.fingerprint) return reused();
  return replayed(entry.response);
}

/**
 * A settle whose hold is not here: the stored answer when this key settled this very hold with the same
 * normalised amount, `409` when the key came with another request, `400 invalid_amount` for a bad amount, null
 * when the key is new (or absent).
 */
export function replaySettle(
  store: CustomerStore,
  policy: CompiledPolicy,
  customer: string,
  holdId: string,
  rawAmount: number | string | null,
  key: string | null,
  nowMs: number,
): Result<Decision> | null {
  if (key === null) return null;
  const entry = store.getIdempotency(customer, key, nowMs);
  if (entry === null) return null;
  const stored = JSON.parse(entry.fingerprint) as unknown[];
  if (stored[0] !== "settle" || stored[4] !== holdId || typeof stored[1] !== "string") return reused();
  const heldAmount = typeof stored[5] === "number" ? stored[5] : null;
  const amount = normaliseAmount(rawAmount, entitlementDefinition(policy, stored[1]));
  if (!amount.ok) return amount;
  if (settleFingerprint(stored[1], holdId, amount.value, heldAmount) !== entry.fingerprint) return reused();
  return replayed(entry.response);
}

/** Remember `decision` under the call's key (call inside the commit's transaction). */
export function remember(store: CustomerStore, call: KeyedCall, decision: Decision, nowMs: number): void {
  if (keyApplies(call)) {
    store.putIdempotency(call.customer, call.key, call.fingerprint, JSON.stringify(decision), nowMs);
  }
}

function replayed(response: string): Result<Decision> {
  return ok({ ...(JSON.parse(response) as Decision), replayed: true });
}

function reused() {
  return fail("idempotency_key_reused", "this idempotency key was used with a different request");
}
