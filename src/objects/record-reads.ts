/**
 * Reading a customer through its object: identity, what an org tells its members, the view, the state
 * document and the event log. Each read by a presented alternate ID first confirms the ID is still its own.
 */
import {
  type CustomerIdentity,
  type CustomerState,
  type CustomerView,
  type EventPage,
  type OrgInfo,
  ok,
  type Result,
  unknownCustomer,
} from "./contract";
import { answerConfirmed, type CustomerContext, confirmRecord, inheritedPlan } from "./customer-context";
import { buildView, exportState } from "./object-records";

/** Who lives here, when the presented alternate ID (if any) is still this customer's own. */
export function identifyCustomer(
  context: CustomerContext,
  presentedAlternateId: string | null,
): Result<CustomerIdentity> {
  return answerConfirmed(context, presentedAlternateId, (record) => ({
    id: record.id,
    type: record.type,
    plan: record.plan,
    org: record.org,
    alternateIds: record.alternateIds,
  }));
}

/** What a member needs from its org: whether it exists and its own plan. */
export function describeOrg(context: CustomerContext): OrgInfo {
  const r = context.store.record;
  return { exists: r !== null, type: r?.type ?? null, plan: r?.plan ?? null };
}

/** The customer view, or unknown. */
export async function viewCustomer(
  context: CustomerContext,
  presentedAlternateId: string | null,
  policyVersion: string | null,
): Promise<Result<CustomerView>> {
  const record = confirmRecord(context, presentedAlternateId);
  if (record === null) return unknownCustomer();
  const active = policyVersion === null ? null : await context.ports.policies.load(policyVersion);
  const orgPlan = await inheritedPlan(context, record);
  const current = context.store.record;
  if (current === null) return unknownCustomer();
  return ok(buildView(context.store, current, active?.policy ?? null, orgPlan, context.ports.clock.nowMs()));
}

/** The serialised state (format 1). */
export function exportCustomerState(
  context: CustomerContext,
  presentedAlternateId: string | null,
): Result<CustomerState> {
  return answerConfirmed(context, presentedAlternateId, (record) => exportState(context.store, record));
}

/** A page of the event log. */
export function listCustomerEvents(
  context: CustomerContext,
  presentedAlternateId: string | null,
  after: number,
  limit: number,
): Result<EventPage> {
  return answerConfirmed(context, presentedAlternateId, () => {
    const page = context.store.listEvents(after, limit);
    const last = page.events.at(-1);
    return { events: page.events, next: page.more && last !== undefined ? last.seq : null };
  });
}
