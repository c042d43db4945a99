/**
 * Claiming and freeing alternate IDs in their index objects (SPEC §3.4, §10). Run by the owning customer's
 * object, one change at a time per customer (`exclusive`), so two changes to one customer's list never
 * interleave and no claim is left behind that its record does not list.
 */
import type { CustomerRecord } from "../domain/types";
import type { RpcError } from "./contract";
import type { CustomerContext } from "./customer-context";
import { alternateIdStub, customerStub } from "./directory";

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
async function claimAlternateIds(env: Env, customer: string, ids: string[]): Promise<RpcError | null> {
  const claimed: string[] = [];
  for (const alternateId of ids) {
    if (alternateId === customer) continue;
    // Another customer's canonical id cannot be an alternate ID (SPEC §11).
    const isCustomer = await customerStub(env, alternateId).exists();
    const claim = isCustomer
      ? { ok: false }
      : await alternateIdStub(env, alternateId).claim(customer, alternateId);
    if (!claim.ok) {
      await releaseAlternateIds(env, customer, claimed);
      return alternateIdTaken(alternateId);
    }
    claimed.push(alternateId);
  }
  return null;
}

/** Free the `ids` that `customer` holds in the index (an ID since taken by someone else is left alone). */
async function releaseAlternateIds(env: Env, customer: string, ids: string[]): Promise<void> {
  for (const alternateId of ids) await alternateIdStub(env, alternateId).release(customer);
}

/**
 * Run a change to the alternate-ID list alone, handing it the record as the previous change left it: each one
 * diffs against that list, so concurrent changes cannot leave a claim in the index that the record does not list.
 */
export function exclusive<T>(
  context: CustomerContext,
  fn: (current: CustomerRecord | null) => Promise<T>,
): Promise<T> {
  const run = context.alternateIdLock.then(() => fn(context.store.record));
  context.alternateIdLock = run.catch(() => undefined);
  return run;
}

/** Whether this customer lists `alternateId` or is claiming it now (the index asks before a takeover). */
export function isHeldOrClaimed(context: CustomerContext, alternateId: string): boolean {
  return (
    context.claiming.has(alternateId) || (context.store.record?.alternateIds.includes(alternateId) ?? false)
  );
}

/**
 * Move the alternate-ID list to `next`: claim what is new (409 and nothing changed when one is taken), run
 * `write` (which stores the record), then free what is gone. Call inside `exclusive`.
 */
export async function changeAlternateIds(
  context: CustomerContext,
  id: string,
  next: string[],
  write: () => void,
): Promise<RpcError | null> {
  const { env, claiming } = context;
  const before = context.store.record?.alternateIds ?? [];
  const added = next.filter((a) => !before.includes(a));
  for (const a of added) claiming.add(a);
  try {
    const refused = await claimAlternateIds(env, id, added);
    if (refused !== null) return refused;
    try {
      write();
    } catch (error) {
      await releaseAlternateIds(env, id, added);
      throw error;
    }
  } finally {
    for (const a of added) claiming.delete(a);
  }
  await releaseAlternateIds(
    env,
    id,
    before.filter((a) => !next.includes(a)),
  );
  return null;
}
