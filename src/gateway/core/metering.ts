/**
 * The gateway's calls to the customer's Durable Object. A gateway key is resolved as an alternate ID only
 * (a canonical id is never a key, SPEC §11); once resolved, later calls of the same request go to the
 * canonical id, so a key removed mid-stream cannot drop usage that happened (SPEC §3.5).
 */
import { DEFAULT_HOLD_TTL_MS } from "../../domain/holds";
import type { SettleUsage } from "../../domain/token-usage";
import type { Decision } from "../../domain/types";
import type { Failure } from "../../errors/catalogue";
import type { GatewayReserve, MeterCall, Result } from "../../objects/contract";
import { alternateIdOwner, type CustomerCall, customerStub, withCustomer } from "../../objects/directory";

/** An object's answer and whose object gave it; `customer_not_found` when the key is no customer's. */
export type KeyedResult = { ok: true; customer: string; decision: Decision } | Failure;

function call(op: MeterCall["op"], entitlement: string | null, policyVersion: string): MeterCall {
  return {
    op,
    presentedAlternateId: null,
    entitlement,
    amount: null,
    holdId: null,
    ttlMs: op === "reserve" ? DEFAULT_HOLD_TTL_MS : null,
    idempotencyKey: null,
    policyVersion,
  };
}

/** Run `fn` on the object of the customer whose alternate ID is `key`, and say whose object answered. */
async function onKeyedCustomer<T>(
  env: Env,
  key: string,
  fn: CustomerCall<T>,
): Promise<{ ok: true; customer: string; value: T } | Failure> {
  let customer = "";
  const result = await withCustomer<T>(
    env,
    key,
    (stub, presentedAlternateId, id) => {
      customer = id;
      return fn(stub, presentedAlternateId, id);
    },
    { canonical: false },
  );
  return result.ok ? { ok: true, customer, value: result.value } : result;
}

/** Reserve (or consume) `amount` of `entitlement` for the customer whose alternate ID is `key`. */
export async function meterByKey(
  env: Env,
  key: string,
  op: "reserve" | "consume",
  entitlement: string,
  amount: number,
  policyVersion: string,
): Promise<KeyedResult> {
  const result = await onKeyedCustomer<Decision>(env, key, (stub, presentedAlternateId) =>
    stub.meter({ ...call(op, entitlement, policyVersion), presentedAlternateId, amount }),
  );
  return result.ok ? { ok: true, customer: result.customer, decision: result.value } : result;
}

export type KeyedReserve = { ok: true; customer: string; reserve: GatewayReserve } | Failure;

/**
 * The pre-forward step in one call to the object of the customer whose alternate ID is `key`: reserve
 * `amount` of `entitlement`, then (when `spend` is set) the call's estimated cost on it, then (when `requests`
 * is set) consume 1 of it; a refused step cancels what was reserved before it.
 */
export async function reserveByKey(
  env: Env,
  key: string,
  entitlement: string,
  amount: number,
  requests: string | null,
  spend: { entitlement: string; amount: number } | null,
  policyVersion: string,
): Promise<KeyedReserve> {
  const result = await onKeyedCustomer<GatewayReserve>(env, key, (stub, presentedAlternateId) =>
    stub.gatewayReserve({
      presentedAlternateId,
      entitlement,
      amount,
      requests,
      spend,
      ttlMs: DEFAULT_HOLD_TTL_MS,
      policyVersion,
    }),
  );
  return result.ok ? { ok: true, customer: result.customer, reserve: result.value } : result;
}

/**
 * Whether `key` is some customer's alternate ID, as far as the directory knows without an object call
 * (SPEC §11 "Order of work": checked before the body is read). The metering call after it confirms.
 */
export async function keyIsKnown(env: Env, key: string): Promise<boolean> {
  return (await alternateIdOwner(env, key)) !== null;
}

/** The canonical id of the customer whose alternate ID is `key`, or null. */
export async function identifyKey(env: Env, key: string): Promise<string | null> {
  const result = await withCustomer(env, key, (stub, alternateId) => stub.identify(alternateId), {
    canonical: false,
  });
  return result.ok ? result.value.id : null;
}

/**
 * Settle a hold with the actual amount (0 cancels it); `usage`, when known, is what the amount was made of,
 * carried by the settle's `meter.changed` event as `data.usage`; `cost`, when the model is priced, what the
 * call cost in runes (the meter's `overheadDiff` and the event's `data.cost`, SPEC §12.4).
 */
export async function settleHold(
  env: Env,
  customer: string,
  holdId: string,
  amount: number,
  policyVersion: string,
  usage: SettleUsage | null = null,
  cost: number | null = null,
): Promise<KeyedResult> {
  const result: Result<Decision> = await customerStub(env, customer).meter({
    ...call("settle", null, policyVersion),
    holdId,
    amount,
    usage,
    cost,
  });
  return result.ok ? { ok: true, customer, decision: result.value } : result;
}
