/**
 * Hold ids. A member's hold on its org names the org's object (`hold_<24 hex>_<64 hex object id>`), so the
 * member can settle it after it moved to another org or left this one (SPEC §11 "Policy store"); the org
 * still checks that the hold is that member's.
 */
import type { OrgRef } from "../ports";

const MEMBER_HOLD_ID = /^hold_[0-9a-f]{24}_([0-9a-f]{64})$/;

/** A fresh hold id. */
export function newHoldId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `hold_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A fresh id for a member's hold kept on the org whose object id is `orgObjectId`. */
export function memberHoldId(orgObjectId: string): string {
  return `${newHoldId()}_${orgObjectId}`;
}

/**
 * The org that keeps a member's hold: the object its id names, else (older ids) the member's current org;
 * null when there is none, or the id names this very object (`ownObjectId`), which does not keep it.
 */
export function orgKeeping(holdId: string, org: string | null, ownObjectId: string): OrgRef | null {
  const named = MEMBER_HOLD_ID.exec(holdId)?.[1];
  if (named === undefined) return org === null ? null : { org };
  return named === ownObjectId ? null : { objectId: named };
}
