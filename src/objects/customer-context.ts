/**
 * What a customer object's operations share: the store, the webhook settings, the ports to everything outside
 * the object (src/objects/ports.ts), and the locks of alternate-ID and membership changes. One per object
 * instance; `CustomerObject`'s constructor builds it and passes it to every module.
 */
import type { CustomerRecord } from "../domain/types";
import type { WebhookConfig } from "../webhooks/config";
import { ok, type Result, unknownCustomer } from "./contract";
import type { CustomerStore } from "./customer-store";
import type { AlarmPort, Clock, DirectoryPort, OrgPort, PolicyPort } from "./ports";

/** Everything outside the object that its modules call. */
export interface CustomerPorts {
  org: OrgPort;
  directory: DirectoryPort;
  policies: PolicyPort;
  clock: Clock;
  alarm: AlarmPort;
}

export interface CustomerContext {
  readonly store: CustomerStore;
  readonly webhooks: WebhookConfig;
  readonly ports: CustomerPorts;
  /** This object's id (`DurableObjectId` hex): an org's member holds carry it (src/objects/metering/hold-ids.ts). */
  readonly objectId: string;
  /** Alternate-ID changes run one after another (see `exclusive`). */
  alternateIdLock: Promise<unknown>;
  /** IDs being claimed right now, before the record lists them. */
  readonly claiming: Set<string>;
  /** An org's joins and its own change of type run one after another (src/objects/org-members.ts). */
  membershipLock: Promise<unknown>;
  /** Orgs this customer is joining right now, before its record names them. */
  readonly joining: Set<string>;
  /**
   * The org's own plan as last answered by the org (see `inheritedPlan`): only ever an assumption, which the
   * org checks on every member call that relies on it (src/objects/metering/pipeline.ts), never a decision.
   */
  orgPlan: { org: string; plan: string | null } | null;
}

/** The context of a new object instance. */
export function createCustomerContext(
  store: CustomerStore,
  webhooks: WebhookConfig,
  objectId: string,
  ports: CustomerPorts,
): CustomerContext {
  return {
    store,
    webhooks,
    ports,
    objectId,
    alternateIdLock: Promise.resolve(),
    claiming: new Set(),
    membershipLock: Promise.resolve(),
    joining: new Set(),
    orgPlan: null,
  };
}

/** The record, when a customer lives here and the presented alternate ID (if any) is still its own. */
export function confirmRecord(
  context: CustomerContext,
  presentedAlternateId: string | null,
): CustomerRecord | null {
  const record = context.store.record;
  if (record === null) return null;
  if (presentedAlternateId !== null && !record.alternateIds.includes(presentedAlternateId)) return null;
  return record;
}

/** `answer` of the confirmed record (see `confirmRecord`), or `customer_not_found`. */
export function answerConfirmed<T>(
  context: CustomerContext,
  presentedAlternateId: string | null,
  answer: (record: CustomerRecord) => T,
): Result<T> {
  const record = confirmRecord(context, presentedAlternateId);
  return record === null ? unknownCustomer() : ok(answer(record));
}

/** The org's own plan when a member inherits it; null when it has none, is gone, or there is no member. */
export async function inheritedPlan(
  context: CustomerContext,
  record: CustomerRecord | null,
): Promise<string | null> {
  if (record === null || record.org === null || record.plan !== null) return null;
  const org = record.org;
  const info = await context.ports.org.info(org);
  context.orgPlan = info.exists ? { org, plan: info.plan } : null;
  return info.exists ? info.plan : null;
}

/**
 * The org's plan this object last heard of, when `record` inherits it from that org: an assumption to be
 * checked by the org (`assumedOrgPlan` of a member call), never a decision on its own. Undefined when none.
 */
export function assumedOrgPlan(
  context: CustomerContext,
  record: CustomerRecord,
): { plan: string | null } | undefined {
  const cached = context.orgPlan;
  if (record.org === null || record.plan !== null || cached === null || cached.org !== record.org) {
    return undefined;
  }
  return { plan: cached.plan };
}
