/**
 * An org's members (SPEC §11 "Integrity"). A customer registers with an org before its record names it, and an
 * org that would stop being an org first confirms it has no members; both run under the org's membership lock,
 * so no member can join an org while it turns into something else. The members' records stay the truth: an
 * entry whose member no longer names the org (a lost `leave`) is dropped when the org asks.
 */
import { type Failure, fail } from "../errors/catalogue";
import type { CustomerContext } from "./customer-context";

function orgHasMembers(id: string): Failure {
  return fail("org_has_members", `${id} has members: move them to another org or remove their org first`);
}

function unknownOrg(org: string): Failure {
  return fail("unknown_org", `org ${org} is not an existing customer of type org`);
}

/** Run `fn` after every earlier membership change of this org (see the module header). */
function withMembershipLock<T>(context: CustomerContext, fn: () => T | Promise<T>): Promise<T> {
  const run = context.membershipLock.then(fn);
  context.membershipLock = run.catch(() => undefined);
  return run;
}

/** On the org: register `member`; false when this customer is not (or no longer) an org. */
export function addMember(context: CustomerContext, member: string): Promise<boolean> {
  return withMembershipLock(context, () => {
    const record = context.store.record;
    if (record === null || record.type !== "org") return false;
    context.store.transaction(() => context.store.putMember(member));
    return true;
  });
}

/** On the org: forget `member` (it left, or its join failed). */
export function removeMember(context: CustomerContext, member: string): void {
  if (context.store.hasMember(member)) context.store.transaction(() => context.store.deleteMember(member));
}

/** On a member: whether its record names `org`, or it is joining `org` right now. */
export function isMemberOf(context: CustomerContext, org: string): boolean {
  return context.store.record?.org === org || context.joining.has(org);
}

/** Where a record change moves the customer: its org before and after, and its type after. */
export interface MembershipChange {
  fromOrg: string | null;
  toOrg: string | null;
  type: string;
}

/**
 * Run `apply` (which writes the record) under the membership rules: joining a new org registers with it
 * first (`400 unknown_org` when it has stopped being an org); an org with members that would stop being one
 * is `409 org_has_members`; the org left behind forgets the member afterwards. Nothing is left registered
 * when `apply` refuses or throws.
 */
export async function changeMembership(
  context: CustomerContext,
  id: string,
  change: MembershipChange,
  apply: () => Promise<Failure | null>,
): Promise<Failure | null> {
  const { fromOrg, toOrg } = change;
  const guarded =
    change.type !== "org" && context.store.hasMembers() ? () => unlessMembers(context, id, apply) : apply;
  const joins = toOrg !== null && toOrg !== fromOrg;
  if (joins) {
    context.joining.add(toOrg);
    try {
      if (!(await context.ports.org.addMember(toOrg, id))) return unknownOrg(toOrg);
      let refused: Failure | null;
      try {
        refused = await guarded();
      } catch (error) {
        await leave(context, id, toOrg);
        throw error;
      }
      if (refused !== null) {
        await leave(context, id, toOrg);
        return refused;
      }
    } finally {
      context.joining.delete(toOrg);
    }
  } else {
    const refused = await guarded();
    if (refused !== null) return refused;
  }
  if (fromOrg !== null && fromOrg !== toOrg) await leave(context, id, fromOrg);
  return null;
}

/**
 * Run `apply` only when no registered member confirms it belongs to this org; the lock is held through
 * `apply`, so no member joins between the check and the write.
 */
function unlessMembers(
  context: CustomerContext,
  id: string,
  apply: () => Promise<Failure | null>,
): Promise<Failure | null> {
  return withMembershipLock(context, async () => {
    for (const member of context.store.listMembers()) {
      if (await context.ports.directory.isMemberOf(member, id)) return orgHasMembers(id);
      removeMember(context, member);
    }
    return apply();
  });
}

/** Tell `org` that `member` left. Best effort: an entry left behind is dropped when the org next asks. */
export async function leave(context: CustomerContext, member: string, org: string): Promise<void> {
  try {
    await context.ports.org.removeMember(org, member);
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "error",
        msg: "could not tell an org that a member left",
        error: String(error),
      }),
    );
  }
}
