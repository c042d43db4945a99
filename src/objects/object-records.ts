/** The customer record inside its object: views, upserts, plan changes and state export/restore (SPEC §5.2). */
import { isoOrNull } from "../domain/decision";
import type { Grant } from "../domain/money/types";
import { resolvePlan } from "../domain/plans";
import type { CompiledPolicy, CustomerRecord, DomainEvent, Hold, MeterState } from "../domain/types";
import { clearUsage, viewMeter } from "../domain/view";
import type { CustomerPatch, CustomerState, CustomerView, GrantState } from "./contract";
import type { CustomerStore } from "./customer-store";
import { grantsOfView } from "./grant-records";
import { entitlementDefinition } from "./metering/normalise";

/** The customer view: record, effective plan and the meters metered on this customer. */
export function buildView(
  store: CustomerStore,
  record: CustomerRecord,
  policy: CompiledPolicy | null,
  orgPlan: string | null,
  nowMs: number,
): CustomerView {
  const meters: CustomerView["meters"] = {};
  let effectivePlan: string | null = null;
  if (policy !== null) {
    const resolved = resolvePlan(policy, record.plan, record.org === null ? null : orgPlan);
    if (resolved.ok) {
      effectivePlan = resolved.plan.name;
      for (const ent of resolved.plan.entitlements.values()) {
        if (ent.limit === null || (ent.scope === "org" && record.type !== "org")) continue;
        const view = viewMeter(store.meters.get(ent.name), ent, nowMs);
        if (view !== null) setOwn(meters, ent.name, view);
      }
    } else {
      effectivePlan = resolved.planName;
    }
    for (const [name, meter] of store.meters) {
      if (Object.hasOwn(meters, name) || (meter.used === 0 && meter.held === 0)) continue;
      const ent = entitlementDefinition(policy, name);
      const view = ent === undefined ? null : viewMeter(meter, ent, nowMs);
      if (view !== null) setOwn(meters, name, view);
    }
  }
  return {
    id: record.id,
    type: record.type,
    plan: record.plan,
    org: record.org,
    label: record.label,
    metadata: record.metadata,
    alternateIds: record.alternateIds,
    effectivePlan,
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
    meters,
    ...grantsOfView(store, nowMs),
  };
}

/** Merge a patch into the record (absent keeps, null clears) and say which events it causes. */
export function mergeRecord(
  current: CustomerRecord | null,
  id: string,
  patch: CustomerPatch,
  nowMs: number,
): { record: CustomerRecord; events: DomainEvent[] } {
  const base: CustomerRecord = current ?? {
    id,
    type: "user",
    plan: null,
    org: null,
    label: null,
    metadata: null,
    alternateIds: [],
    createdAt: nowMs,
    updatedAt: nowMs,
  };
  const record: CustomerRecord = {
    ...base,
    ...(patch.type === undefined ? {} : { type: patch.type }),
    ...(patch.plan === undefined ? {} : { plan: patch.plan }),
    ...(patch.org === undefined ? {} : { org: patch.org }),
    ...(patch.label === undefined ? {} : { label: patch.label }),
    ...(patch.metadata === undefined ? {} : { metadata: patch.metadata }),
    ...(patch.alternateIds === undefined ? {} : { alternateIds: [...new Set(patch.alternateIds)] }),
    updatedAt: nowMs,
  };
  const events: DomainEvent[] = [];
  if (current === null) {
    events.push({ type: "customer.created", data: { customer: recordData(record) } });
  } else {
    const changed = Object.keys(patch).filter(
      (k) =>
        JSON.stringify(current[k as keyof CustomerRecord]) !==
        JSON.stringify(record[k as keyof CustomerRecord]),
    );
    events.push({ type: "customer.updated", data: { changed, customer: recordData(record) } });
    if (current.plan !== record.plan) {
      events.push({
        type: "customer.plan_changed",
        data: { from: current.plan, to: record.plan, keepUsage: true },
      });
    }
  }
  return { record, events };
}

/** `keepUsage: false`: clear every meter on this customer, one `meter.reset` each. */
export function clearAllUsage(store: CustomerStore, plan: string | null): DomainEvent[] {
  const events: DomainEvent[] = [];
  for (const [name, meter] of store.meters) {
    const cleared = clearUsage(meter, name, plan);
    store.putMeter(name, cleared.meter);
    events.push(cleared.event);
  }
  return events;
}

/** Record fields as events carry them (alternate IDs are left out: they may be credentials). */
function recordData(record: CustomerRecord): Record<string, unknown> {
  return { id: record.id, type: record.type, plan: record.plan, org: record.org, label: record.label };
}

/** The complete serialised state (format 1): record, meters with bucket and alert state, live holds. */
export function exportState(store: CustomerStore, record: CustomerRecord): CustomerState {
  const meters: CustomerState["meters"] = {};
  for (const [name, m] of store.meters) {
    setOwn(meters, name, {
      used: m.used,
      held: m.held,
      overage: m.overage,
      ...(m.overhead === undefined ? {} : { overhead: m.overhead }),
      periodStart: isoOrNull(m.periodStart),
      periodEnd: isoOrNull(m.periodEnd),
      alertsFired: m.alertsFired,
      bucket:
        m.bucket === null
          ? null
          : { tokens: m.bucket.tokens, updatedAt: new Date(m.bucket.updatedAt).toISOString() },
    });
  }
  const holds = [...store.holds.values()]
    .filter((h) => !h.expired)
    .map((h) => ({
      ...h,
      createdAt: new Date(h.createdAt).toISOString(),
      expiresAt: new Date(h.expiresAt).toISOString(),
    }));
  const grants: GrantState[] = store.grants.map((g) => ({
    ...g,
    createdAt: new Date(g.createdAt).toISOString(),
    expiresAt: isoOrNull(g.expiresAt),
    nextResetAt: isoOrNull(g.nextResetAt),
  }));
  return {
    format: 1,
    customer: {
      ...record,
      createdAt: new Date(record.createdAt).toISOString(),
      updatedAt: new Date(record.updatedAt).toISOString(),
    },
    meters,
    holds,
    grants,
  };
}

const msOrNull = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));

/** Decode a state document into what the store holds. */
export function decodeState(state: CustomerState): {
  record: CustomerRecord;
  meters: Map<string, MeterState>;
  holds: Hold[];
  grants: Grant[];
} {
  const record: CustomerRecord = {
    ...state.customer,
    createdAt: Date.parse(state.customer.createdAt),
    updatedAt: Date.parse(state.customer.updatedAt),
  };
  const meters = new Map<string, MeterState>();
  for (const [name, m] of Object.entries(state.meters)) {
    meters.set(name, {
      used: m.used,
      held: m.held,
      overage: m.overage,
      ...(m.overhead === undefined ? {} : { overhead: m.overhead }),
      periodStart: msOrNull(m.periodStart),
      periodEnd: msOrNull(m.periodEnd),
      alertsFired: m.alertsFired,
      bucket:
        m.bucket === null ? null : { tokens: m.bucket.tokens, updatedAt: Date.parse(m.bucket.updatedAt) },
    });
  }
  const holds = state.holds.map((h) => ({
    ...h,
    createdAt: Date.parse(h.createdAt),
    expiresAt: Date.parse(h.expiresAt),
  }));
  const grants = (state.grants ?? []).map((g) => ({
    ...g,
    createdAt: Date.parse(g.createdAt),
    expiresAt: msOrNull(g.expiresAt),
    nextResetAt: msOrNull(g.nextResetAt),
  }));
  return { record, meters, holds, grants };
}

/** Set an own property even for names like `__proto__` (entitlement names are user data). */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
