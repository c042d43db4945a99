/**
 * Claiming and freeing alternate IDs in their index objects (SPEC §3.4, §10). Run by the owning customer's
 * object, one change at a time per customer (`exclusive`), so two changes to one customer's list never
 * interleave and no claim is left behind that its record does not list.
 */
import type { CustomerRecord } from "../domain/types";
import { type Failure, fail } from "../errors/catalogue";
import type { CustomerContext } from "./customer-context";
import type { DirectoryPort } from "./ports";

/** `409 alternate_id_taken` for one ID. */
function alternateIdTaken(alternateId: string): Failure {
  return fail("alternate_id_taken", "an alternate ID is already held by another customer", { alternateId });
}

/** Alternate IDs one customer may hold (SPEC §11 "Bounds"). */
const MAX_ALTERNATE_IDS = 100;

/** `409 too_many_alternate_ids`: a list over `MAX_ALTERNATE_IDS`. */
function tooManyAlternateIds(count: number): Failure {
  return fail(
    "too_many_alternate_ids",
    `a customer holds at most ${MAX_ALTERNATE_IDS} alternate IDs (${count} requested)`,
    { limit: MAX_ALTERNATE_IDS, requested: count },
  );
}

/**
 * Claim `ids` for `customer`, and first (`creating`) its own id as canonical; on the first refusal free what
 * was claimed and answer the 409. Answers what was claimed otherwise, to free again if the write fails.
 */
async function claimAlternateIds(
  directory: DirectoryPort,
  customer: string,
  ids: string[],
  creating: boolean,
): Promise<{ refused: Failure } | { claimed: string[] }> {
  const claimed: string[] = [];
  if (creating) {
    // The index object of the id serialises its two uses: this creation against any alternate-ID claim.
    const claim = await directory.claim(customer, customer, true);
    if (!claim.ok) return { refused: alternateIdTaken(customer) };
    claimed.push(customer);
  }
  for (const alternateId of ids) {
    if (alternateId === customer) continue;
    // Another customer's canonical id cannot be an alternate ID (SPEC §11). Customers created before ids were
    // claimed in the index are found by asking their object; later ones refuse in the index itself.
    const isCustomer = await directory.isCustomer(alternateId);
    const claim = isCustomer ? { ok: false } : await directory.claim(alternateId, customer);
    if (!claim.ok) {
      await releaseAlternateIds(directory, customer, claimed);
      return { refused: alternateIdTaken(alternateId) };
    }
    claimed.push(alternateId);
  }
  return { claimed };
}

/** Free the `ids` that `customer` holds in the index (an ID since taken by someone else is left alone). */
async function releaseAlternateIds(directory: DirectoryPort, customer: string, ids: string[]): Promise<void> {
  for (const alternateId of ids) await directory.release(alternateId, customer);
}

/** Free a deleted customer's own id in the index, so the string may become someone's alternate ID. */
export function releaseCanonicalId(context: CustomerContext, id: string): Promise<void> {
  return releaseAlternateIds(context.ports.directory, id, [id]);
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

/**
 * Whether this customer lists `alternateId`, is it (its own id), or is claiming it now (the index asks before
 * a takeover).
 */
export function isHeldOrClaimed(context: CustomerContext, alternateId: string): boolean {
  const record = context.store.record;
  return (
    context.claiming.has(alternateId) ||
    record?.id === alternateId ||
    (record?.alternateIds.includes(alternateId) ?? false)
  );
}

/**
 * Move the alternate-ID list to `next`: claim what is new (409 and nothing changed when one is taken), and the
 * customer's own id when it is being created, run `write` (which stores the record), then free what is gone.
 * Call inside `exclusive`.
 */
export async function changeAlternateIds(
  context: CustomerContext,
  id: string,
  next: string[],
  write: () => void,
): Promise<Failure | null> {
  const { claiming } = context;
  const { directory } = context.ports;
  const before = context.store.record?.alternateIds ?? [];
  const added = next.filter((a) => !before.includes(a));
  // Checked here, under the lock, so concurrent adds cannot race past the bound. A change that only removes
  // is never refused (a list stored before the bound existed can still shrink).
  if (next.length > MAX_ALTERNATE_IDS && added.length > 0) return tooManyAlternateIds(next.length);
  const creating = context.store.record === null;
  const claims = creating ? [id, ...added] : added;
  for (const a of claims) claiming.add(a);
  try {
    const claim = await claimAlternateIds(directory, id, added, creating);
    if ("refused" in claim) return claim.refused;
    try {
      write();
    } catch (error) {
      await releaseAlternateIds(directory, id, claim.claimed);
      throw error;
    }
  } finally {
    for (const a of claims) claiming.delete(a);
  }
  await releaseAlternateIds(
    directory,
    id,
    before.filter((a) => !next.includes(a)),
  );
  return null;
}
