/**
 * What a customer object's operations share: bindings, storage, the store, the webhook settings, the alarm
 * bookkeeping and the alternate-ID lock. One per object instance; `CustomerObject` passes it to every module.
 */
import type { CustomerRecord } from "../domain/types";
import { type WebhookConfig, webhookConfig } from "../webhooks/config";
import { type RpcResult, UNKNOWN } from "./contract";
import { onEventsAppended } from "./customer-alarm";
import { CustomerStore } from "./customer-store";
import { customerStub } from "./directory";

export interface CustomerContext {
  readonly env: Env;
  readonly storage: DurableObjectStorage;
  readonly store: CustomerStore;
  readonly webhooks: WebhookConfig;
  /** The alarm time this instance last set, so appending events does not set it again and again. */
  alarmAtMs: number | null;
  /** Alternate-ID changes run one after another (see `exclusive`). */
  alternateIdLock: Promise<unknown>;
  /** IDs being claimed right now, before the record lists them. */
  readonly claiming: Set<string>;
  /** This object's id (`DurableObjectId` hex): an org's member holds carry it (see `memberHoldId`). */
  readonly objectId: string;
  /** An org's joins and its own change of type run one after another (src/objects/org-members.ts). */
  membershipLock: Promise<unknown>;
  /** Orgs this customer is joining right now, before its record names them. */
  readonly joining: Set<string>;
}

/** The context of a new object instance, its store loaded from storage. */
export function createCustomerContext(state: DurableObjectState, env: Env): CustomerContext {
  const webhooks = webhookConfig(env);
  const context: CustomerContext = {
    env,
    storage: state.storage,
    webhooks,
    // Only with webhooks on do new events enter the outbox; off or misconfigured, they are `skipped` (SPEC §7).
    store: new CustomerStore(state.storage, webhooks.state === "on", () => onEventsAppended(context)),
    alarmAtMs: null,
    alternateIdLock: Promise.resolve(),
    claiming: new Set(),
    objectId: state.id.toString(),
    membershipLock: Promise.resolve(),
    joining: new Set(),
  };
  return context;
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

/** `answer` of the confirmed record (see `confirmRecord`), or unknown. */
export function answerConfirmed<T>(
  context: CustomerContext,
  presentedAlternateId: string | null,
  answer: (record: CustomerRecord) => T,
): RpcResult<T> {
  const record = confirmRecord(context, presentedAlternateId);
  return record === null ? UNKNOWN : { kind: "ok", value: answer(record) };
}

/** The org's own plan when a member inherits it; null when it has none or is gone. */
export async function inheritedPlan(
  context: CustomerContext,
  record: CustomerRecord,
): Promise<string | null> {
  if (record.org === null || record.plan !== null) return null;
  const info = await customerStub(context.env, record.org).orgInfo();
  return info.exists ? info.plan : null;
}
