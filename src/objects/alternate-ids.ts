/**
 * Claiming and freeing alternate IDs in their index objects (SPEC §3.4, §10). Run by the owning customer's
 * object, one change at a time per customer, so two changes to one customer's list never interleave and no
 * claim is left behind that its record does not list.
 */
import type { RpcError } from "./contract";

function indexStub(env: Env, alternateId: string) {
  return env.ALTERNATE_IDS.get(env.ALTERNATE_IDS.idFromName(alternateId));
}

/** `409 alternate_id_taken` for one ID. */
export function alternateIdTaken(alternateId: string): RpcError {
  return {
    kind: "error",
    status: 409,
    code: "alternate_id_taken",
    message: "an alternate ID is already held by another customer",
    details: { alternateId },
  };
}

/** Claim `ids` for `customer`; on the first refusal free what was claimed and answer the 409. */
export async function claimAlternateIds(env: Env, customer: string, ids: string[]): Promise<RpcError | null> {
  const claimed: string[] = [];
  for (const alternateId of ids) {
    if (alternateId === customer) continue;
    // Another customer's canonical id cannot be an alternate ID (SPEC §11).
    const isCustomer = await env.CUSTOMERS.get(env.CUSTOMERS.idFromName(alternateId)).exists();
    const claim = isCustomer ? { ok: false } : await indexStub(env, alternateId).claim(customer, alternateId);
    if (!claim.ok) {
      await releaseAlternateIds(env, customer, claimed);
      return alternateIdTaken(alternateId);
    }
    claimed.push(alternateId);
  }
  return null;
}

/** Free the `ids` that `customer` holds in the index (an ID since taken by someone else is left alone). */
export async function releaseAlternateIds(env: Env, customer: string, ids: string[]): Promise<void> {
  for (const alternateId of ids) await indexStub(env, alternateId).release(customer);
}
