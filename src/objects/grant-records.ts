/**
 * Grants as their meter owner's object stores and shows them (SPEC §12.3): the view of a grant, the lifecycle
 * applied lazily (a read computes it, a write stores it with its events), included top-ups re-synced to a
 * plan. The operations on them are in ./grants.ts; metering draws them in ./metering/pipeline.ts.
 */
import { isoOrNull } from "../domain/decision";
import { advanceGrants, balancesOf, createGrant, type Grant, round9 } from "../domain/money";
import { resolvePlan } from "../domain/plans";
import type { CompiledPolicy, CustomerRecord, DomainEvent } from "../domain/types";
import type { GrantView } from "./contract";
import type { CustomerStore } from "./customer-store";

/** A grant as answers show it (SPEC §12.3): times as ISO strings, numbers rounded to 1e-9. */
export function grantView(grant: Grant): GrantView {
  return {
    id: grant.id,
    topup: grant.topup,
    credit: grant.credit,
    balance: round9(grant.balance),
    startingValue: round9(grant.startingValue),
    createdAt: isoOrNull(grant.createdAt) ?? "",
    expiresAt: isoOrNull(grant.expiresAt),
    resets: grant.resets,
    resetMode: grant.resetMode,
    nextResetAt: isoOrNull(grant.nextResetAt),
    included: grant.included,
  };
}

/** The stored grants as of `nowMs`, computed and not stored (a read). */
export function grantsAsOf(store: CustomerStore, nowMs: number): Grant[] {
  return advanceGrants(store.grants, nowMs).grants;
}

/** `grants` and `balances` of the customer view. */
export function grantsOfView(
  store: CustomerStore,
  nowMs: number,
): { grants: GrantView[]; balances: Record<string, number> } {
  const grants = grantsAsOf(store, nowMs);
  // A plain object (the domain's has no prototype, which RPC cannot carry); credit names are user data.
  const balances: Record<string, number> = {};
  for (const [credit, sum] of Object.entries(balancesOf(grants))) setOwn(balances, credit, round9(sum));
  return { grants: grants.map(grantView), balances };
}

export function newGrantId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `grt_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export function grantedEvent(grant: Grant, price: number | null): DomainEvent {
  return {
    type: "customer.topup_granted",
    data: {
      topup: grant.topup,
      grantId: grant.id,
      credit: grant.credit,
      value: round9(grant.startingValue),
      price,
      included: grant.included,
    },
  };
}

/** The plan a record decides under, or null (no plan). */
export function effectivePlanOf(
  policy: CompiledPolicy,
  record: Pick<CustomerRecord, "plan" | "org">,
  orgPlan: string | null,
): string | null {
  const resolved = resolvePlan(policy, record.plan, record.org === null ? null : orgPlan);
  return resolved.ok ? resolved.plan.name : null;
}

/**
 * Included top-ups re-synced to `plan` (SPEC §12.3), on a create or a change of the effective plan: included
 * grants the plan still includes (same top-up) stay as they are, other included grants go (`grant.revoked`),
 * missing ones are granted (`customer.topup_granted`). Purchased grants are kept whatever the plan.
 */
export function syncIncluded(
  grants: readonly Grant[],
  policy: CompiledPolicy,
  plan: string | null,
  type: string,
  nowMs: number,
): { grants: Grant[]; events: DomainEvent[] } {
  const wanted = new Map(
    [...(plan === null ? [] : (policy.money.topups.get(plan)?.values() ?? []))]
      .filter((t) => t.included && (t.includedScopes === null || t.includedScopes.includes(type)))
      .map((t) => [t.name, t]),
  );
  const next: Grant[] = [];
  const events: DomainEvent[] = [];
  const kept = new Set<string>();
  for (const grant of grants) {
    if (!grant.included) next.push(grant);
    else if (wanted.get(grant.topup)?.credit === grant.credit && !kept.has(grant.topup)) {
      kept.add(grant.topup);
      next.push(grant);
    } else {
      events.push({ type: "grant.revoked", data: { ...revokedData(grant), reason: "plan_changed" } });
    }
  }
  for (const topup of wanted.values()) {
    if (kept.has(topup.name)) continue;
    const grant = createGrant(topup, newGrantId(), nowMs, true);
    next.push(grant);
    events.push(grantedEvent(grant, topup.price));
  }
  return { grants: next, events };
}

export function revokedData(grant: Grant): Record<string, unknown> {
  return { grantId: grant.id, topup: grant.topup, credit: grant.credit, balance: round9(grant.balance) };
}

/**
 * Apply the lifecycle, then `change`, to the stored grants and store the result with its events, in one
 * transaction (call it with nothing awaited since the record was confirmed).
 */
export function writeGrants(
  store: CustomerStore,
  customer: string,
  nowMs: number,
  change: (grants: Grant[]) => { grants: Grant[]; events: DomainEvent[] },
): void {
  const lifecycle = advanceGrants(store.grants, nowMs);
  const changed = change(lifecycle.grants);
  store.putGrants(changed.grants);
  store.appendEvents([...lifecycle.events, ...changed.events], customer, customer, nowMs);
}

/** Set an own property even for names like `__proto__`. */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
