/** Effective-plan resolution and entitlement routing (SPEC §3.4, §11 "Org scope"). */
import type { CompiledEntitlement, CompiledPlan, CompiledPolicy, CustomerRecord } from "./types";

/** The plan a customer's calls are decided under, or why there is none. */
export type PlanResolution =
  | { ok: true; plan: CompiledPlan }
  | { ok: false; planName: string | null; message: string };

/**
 * Effective plan: the customer's own plan, else the plan it inherits from its org, else the policy's
 * default. A named plan missing from the policy is `plan_not_found`, never a silent fallback.
 */
export function resolvePlan(
  policy: CompiledPolicy,
  ownPlan: string | null,
  inheritedPlan: string | null,
): PlanResolution {
  const name = ownPlan ?? inheritedPlan ?? policy.defaultPlan;
  if (name === null) {
    return {
      ok: false,
      planName: null,
      message: "no plan: the customer has none and the policy has no default",
    };
  }
  const plan = policy.plans.get(name);
  if (plan === undefined) {
    return { ok: false, planName: name, message: `plan ${name} is not in the policy` };
  }
  return { ok: true, plan };
}

/** Where a call on an entitlement is metered. */
export type EntitlementRoute =
  | { kind: "local"; plan: CompiledPlan; entitlement: CompiledEntitlement }
  | { kind: "org"; org: string; plan: CompiledPlan }
  | {
      kind: "refused";
      reason: "not_entitled" | "no_org" | "plan_not_found";
      plan: string | null;
      meteredOn: string | null;
      message: string;
    };

/**
 * Route a customer's call: refused (plan missing, not entitled, org scope without an org), metered on the
 * customer itself, or forwarded to its org (`scope: org`, the customer not being an org).
 * `orgPlan` is the org's own plan (null when it has none or the customer has no live org).
 */
export function routeEntitlement(
  policy: CompiledPolicy,
  customer: CustomerRecord,
  orgPlan: string | null,
  entitlementName: string,
): EntitlementRoute {
  const resolved = resolvePlan(policy, customer.plan, customer.org === null ? null : orgPlan);
  if (!resolved.ok) {
    return {
      kind: "refused",
      reason: "plan_not_found",
      plan: resolved.planName,
      meteredOn: customer.id,
      message: resolved.message,
    };
  }
  const plan = resolved.plan;
  const entitlement = plan.entitlements.get(entitlementName);
  if (entitlement === undefined) {
    return {
      kind: "refused",
      reason: "not_entitled",
      plan: plan.name,
      meteredOn: customer.id,
      message: `plan ${plan.name} does not include ${entitlementName}`,
    };
  }
  if (entitlement.scope === "org" && customer.type !== "org") {
    if (customer.org === null) {
      return {
        kind: "refused",
        reason: "no_org",
        plan: plan.name,
        meteredOn: null,
        message: `${entitlementName} is metered per org and ${customer.id} has no org`,
      };
    }
    return { kind: "org", org: customer.org, plan };
  }
  return { kind: "local", plan, entitlement };
}

/**
 * The org's side of an org-scoped call: the limit, mode and plan come from the org's effective plan
 * (its own plan or the default), which must contain the entitlement.
 */
export function routeOrgEntitlement(
  policy: CompiledPolicy,
  org: CustomerRecord,
  entitlementName: string,
): EntitlementRoute {
  const resolved = resolvePlan(policy, org.plan, null);
  if (!resolved.ok) {
    return {
      kind: "refused",
      reason: "plan_not_found",
      plan: resolved.planName,
      meteredOn: org.id,
      message: resolved.message,
    };
  }
  const entitlement = resolved.plan.entitlements.get(entitlementName);
  if (entitlement === undefined) {
    return {
      kind: "refused",
      reason: "not_entitled",
      plan: resolved.plan.name,
      meteredOn: org.id,
      message: `org plan ${resolved.plan.name} does not include ${entitlementName}`,
    };
  }
  return { kind: "local", plan: resolved.plan, entitlement };
}
