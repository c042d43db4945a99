/**
 * Money through the gateway (SPEC §12.4): what a call costs from its token classes and the model's `cost`,
 * and, when the policy names `gateway.spend`, the estimate reserved there before forwarding and the actual
 * cost settled after, in that entitlement's credit. A model with no cost while spend is metered is refused
 * (`model_not_priced`) unless `gateway.unpriced: allow`.
 */
import { callCost, estimateCost, fixedRunesPerUnit } from "../../domain/money";
import type { ModelCost } from "../../domain/money/types";
import type { TokenClasses } from "../../domain/token-usage";
import type { CompiledModelRoute, CompiledPolicy } from "../../domain/types";
import { type Failure, fail } from "../../errors/catalogue";

/** The spend meter of a priced call: its entitlement and what one unit of its credit is worth in runes. */
export interface SpendMeter {
  entitlement: string;
  runesPerUnit: number;
  /** The estimated cost reserved before the call, in the spend credit's units. */
  estimate: number;
}

/** A call's money: the model's price (null: unpriced) and the spend meter it also reserves on (null: none). */
export interface CallMoney {
  cost: ModelCost | null;
  spend: SpendMeter | null;
}

/** The money of a call on `route`, or `model_not_priced` when spend is metered and the model has no cost. */
export function callMoney(
  policy: CompiledPolicy,
  route: CompiledModelRoute,
  model: string,
  promptTokens: number,
  outputBudget: number,
): { ok: true; money: CallMoney } | Failure {
  const cost = route.cost ?? null;
  const spend = policy.gateway.spend ?? null;
  if (spend === null) return { ok: true, money: { cost, spend: null } };
  if (cost === null) {
    if (policy.gateway.unpriced === "allow") return { ok: true, money: { cost, spend: null } };
    return fail("model_not_priced", `model ${model} has no cost in the policy, and gateway spend is metered`);
  }
  const runesPerUnit = spendRunesPerUnit(policy, spend);
  // The policy compiler checked the spend credit has a fixed rune value; a policy that lost it meters nothing.
  if (runesPerUnit === null) return { ok: true, money: { cost, spend: null } };
  const estimate = estimateCost(cost, promptTokens, outputBudget) / runesPerUnit;
  return { ok: true, money: { cost, spend: { entitlement: spend, runesPerUnit, estimate } } };
}

/** Runes per unit of the credit `entitlement` counts in (the first plan that has it), or null. */
function spendRunesPerUnit(policy: CompiledPolicy, entitlement: string): number | null {
  for (const plan of policy.plans.values()) {
    const credit = plan.entitlements.get(entitlement)?.credit;
    if (credit == null) continue;
    return fixedRunesPerUnit(policy.money.routes.get(credit.name));
  }
  return null;
}

/**
 * The cost in runes of a call's token classes. `output` already includes `reasoning` (SPEC §6), so reasoning
 * is not priced again: it costs as output, once.
 */
export function classesCost(cost: ModelCost, classes: TokenClasses): number {
  const { input, cached_input, cache_write, output } = classes;
  return callCost(cost, { input, cached_input, cache_write, output });
}

/**
 * Tokens of a model the spend meter's `remaining` still buys, at the model's dearer of its input and output
 * rates (what the RateLimit headers show as the tighter of the two meters); null when the model is free.
 */
export function tokensForSpend(money: CallMoney, remainingUnits: number): number | null {
  if (money.cost === null || money.spend === null) return null;
  const rate = Math.max(money.cost.input, money.cost.output);
  if (!(rate > 0)) return null;
  return Math.floor(((remainingUnits * money.spend.runesPerUnit) / rate) * money.cost.per);
}
