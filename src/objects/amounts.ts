/** Amount and credit helpers shared by the Worker and the objects (SPEC §5.3 input rules). */
import type { CompiledCredit, CompiledEntitlement, CompiledPolicy } from "../domain/types";
import { parseAmount } from "../policy/units";

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

export type AmountResult = { ok: true; amount: number | null } | { ok: false; message: string };

/**
 * An amount as sent (number, string with a unit, or absent) in the entitlement's credit unit. Feature flags
 * count plain numbers.
 */
export function normaliseAmount(
  raw: number | string | null,
  ent: CompiledEntitlement | undefined,
): AmountResult {
  if (raw === null) return { ok: true, amount: null };
  const credit = ent?.credit ?? WORD_ONE;
  const parsed = parseAmount(raw, credit);
  return parsed.ok ? { ok: true, amount: parsed.value } : { ok: false, message: parsed.message };
}
