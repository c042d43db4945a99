/**
 * A metering call normalised once (SPEC §5.3, §11): the entitlement's definition, the amount in its credit's
 * unit with its default, and the fingerprint an idempotency key is compared by. Errors come in §11's order:
 * `unknown_entitlement`, then `invalid_amount` (body shape is the Worker's; the decision comes after).
 */
import { refusalDecision } from "../../domain/decision";
import { type EntitlementRoute, routeEntitlement } from "../../domain/plans";
import type {
  CompiledCredit,
  CompiledEntitlement,
  CompiledPolicy,
  CustomerRecord,
  Decision,
  Hold,
} from "../../domain/types";
import { fail } from "../../errors/catalogue";
import { parseAmount } from "../../policy/units";
import { type MeterCall, ok, type Result } from "../contract";

const WORD_ONE: CompiledCredit = { name: "", label: null, unit: "", dimension: "word", factor: 1 };

// Per policy: the first definition of each entitlement across plans, for callers that know no plan yet.
const definitions = new WeakMap<CompiledPolicy, Map<string, CompiledEntitlement>>();

/** The first definition of an entitlement in the policy (plans may differ; the meter is keyed by name). */
export function entitlementDefinition(policy: CompiledPolicy, name: string): CompiledEntitlement | undefined {
  let byName = definitions.get(policy);
  if (byName === undefined) {
    byName = new Map();
    for (const plan of policy.plans.values()) {
      for (const [entName, ent] of plan.entitlements) if (!byName.has(entName)) byName.set(entName, ent);
    }
    definitions.set(policy, byName);
  }
  return byName.get(name);
}

/**
 * An amount as sent (number, string with a unit, or absent) in the entitlement's credit unit; `400
 * invalid_amount` when it is none. Feature flags count plain numbers.
 */
export function normaliseAmount(
  raw: number | string | null,
  ent: CompiledEntitlement | undefined,
): Result<number | null> {
  if (raw === null) return ok(null);
  const parsed = parseAmount(raw, ent?.credit ?? WORD_ONE);
  return parsed.ok ? ok(parsed.value) : fail("invalid_amount", parsed.message);
}

type Checked = Pick<MeterCall, "op" | "entitlement" | "amount">;

/**
 * The checks a call from the admin API passes before any customer is looked at: the entitlement is in some
 * plan, and the amount is one of its credit (a settle's string amount waits for its hold's credit).
 */
export function checkCall(policy: CompiledPolicy, call: Checked): Result<number | null> {
  const { op, entitlement } = call;
  if (op !== "settle" && (entitlement === null || !policy.entitlementNames.has(entitlement))) {
    return fail("unknown_entitlement", `entitlement ${entitlement} is in no plan of the policy`);
  }
  const def = entitlement === null ? undefined : entitlementDefinition(policy, entitlement);
  const amount = normaliseAmount(
    op === "settle" && typeof call.amount === "string" ? null : call.amount,
    def,
  );
  // A hold of nothing only takes a place among the object's live holds (SPEC §11 "Bounds").
  if (amount.ok && op === "reserve" && amount.value === 0) {
    return fail("invalid_amount", "a reserve's amount must be greater than 0");
  }
  return amount;
}

/** The decision for a customer no object holds, once the call passed `checkCall`'s checks. */
export function unknownCustomerDecision(
  policy: CompiledPolicy,
  policyVersion: string,
  customer: string,
  call: Checked,
): Result<Decision> {
  const amount = checkCall(policy, call);
  if (!amount.ok) return amount;
  const def = call.entitlement === null ? undefined : entitlementDefinition(policy, call.entitlement);
  return ok(
    refusalDecision({
      customer,
      entitlement: call.entitlement ?? "",
      reason: "unknown_customer",
      message: `customer ${customer} not found`,
      plan: null,
      meteredOn: null,
      amount: amount.value ?? def?.limit?.increment ?? 1,
      policyVersion,
    }),
  );
}

/** A call on an entitlement, routed and normalised. */
export interface NormalisedCall {
  route: EntitlementRoute;
  entitlement: string;
  /** In credit units; null for the definition's default. */
  amount: number | null;
  /** `amount` or its default: what a refusal reports. */
  effectiveAmount: number;
  fingerprint: string;
}

/** Route a check, consume, release or reserve on `record` and normalise its amount by the route's definition. */
export function normaliseCall(
  policy: CompiledPolicy,
  record: CustomerRecord,
  orgPlan: string | null,
  call: Pick<MeterCall, "op" | "entitlement" | "amount" | "ttlMs">,
): Result<NormalisedCall> {
  const entitlement = call.entitlement ?? "";
  const route = routeEntitlement(policy, record, orgPlan, entitlement);
  const def =
    route.kind === "local"
      ? route.entitlement
      : ((route.kind === "org" ? route.plan.entitlements.get(entitlement) : undefined) ??
        entitlementDefinition(policy, entitlement));
  const amount = normaliseAmount(call.amount, def);
  if (!amount.ok) return amount;
  const effectiveAmount = amount.value ?? def?.limit?.increment ?? 1;
  const fingerprint = fingerprintOf({
    op: call.op,
    entitlement,
    amount: effectiveAmount,
    ttlMs: call.ttlMs,
    holdId: null,
  });
  return ok({ route, entitlement, amount: amount.value, effectiveAmount, fingerprint });
}

/** A settle of `hold` normalised by the definition it settles under. */
export function normaliseSettle(
  hold: Hold,
  def: CompiledEntitlement,
  raw: number | string | null,
): Result<{ amount: number | null; fingerprint: string }> {
  const amount = normaliseAmount(raw, def);
  if (!amount.ok) return amount;
  return ok({
    amount: amount.value,
    fingerprint: settleFingerprint(hold.entitlement, hold.id, amount.value, hold.amount),
  });
}

/** A settle's fingerprint: it carries the held amount, so a replay compares once the hold is gone. */
export function settleFingerprint(
  entitlement: string,
  holdId: string,
  amount: number | null,
  heldAmount: number | null,
): string {
  // An omitted amount means the held amount.
  return fingerprintOf({
    op: "settle",
    entitlement,
    amount: amount ?? heldAmount,
    ttlMs: null,
    holdId,
    heldAmount,
  });
}

/** The normalised request compared on replays (SPEC §11): `"1GB"` and `1000` in an MB credit are one body. */
function fingerprintOf(parts: {
  op: string;
  entitlement: string | null;
  amount: number | null;
  ttlMs: number | null;
  holdId: string | null;
  heldAmount?: number | null;
}): string {
  return JSON.stringify([
    parts.op,
    parts.entitlement,
    parts.amount,
    parts.ttlMs,
    parts.holdId,
    parts.heldAmount ?? null,
  ]);
}
