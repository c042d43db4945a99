/**
 * Compile the money keys (SPEC §12): credit prices and costs, the exchange, plan top-ups and gateway model
 * costs, recording every issue with its path.
 */
import { RUNE, resolveRoutes, USD } from "../domain/money/exchange";
import type {
  CompiledExchange,
  CompiledTopup,
  CreditMoney,
  GrantStrategy,
  ModelCost,
  PriceCurve,
  RuneRoute,
  Tier,
} from "../domain/money/types";
import type { CompiledCredit } from "../domain/types";
import { amountAt, durationAt, resetRule } from "./compile-limit";
import type { IssueList, Path } from "./issues";
import {
  type CreditDocument,
  exchangePairSchema,
  type ModelCostDocument,
  runeSchema,
  topupSchema,
} from "./schema";

const STRATEGIES: readonly GrantStrategy[] = ["expires_first", "cheapest_first", "valuable_first"];

/** A credit's price curve and overhead; null when its money keys are wrong (issues recorded). */
export function compileCreditMoney(
  doc: CreditDocument,
  unit: CompiledCredit,
  path: Path,
  issues: IssueList,
): CreditMoney | null {
  const model = doc.pricing_model ?? "flat";
  const overheadCost = doc.overhead_cost ?? 0;
  if (model === "flat") {
    if (doc.tiers !== undefined) {
      issues.add(
        [...path, "tiers"],
        "a flat price takes no tiers (set pricing_model to tiered, volume or stairstep)",
      );
      return null;
    }
    return { price: doc.price ? { model: "flat", amount: doc.price.amount } : null, overheadCost };
  }
  let ok = true;
  if (doc.price !== undefined && doc.price !== null) {
    issues.add([...path, "price"], `a ${model} credit is priced by its tiers: price must be null`);
    ok = false;
  }
  if (doc.tiers === undefined || doc.tiers.length === 0) {
    issues.add([...path, "tiers"], `required: a ${model} credit needs tiers`);
    return null;
  }
  const tiers: Tier[] = [];
  let previous = 0;
  doc.tiers.forEach((tier, index) => {
    const at = [...path, "tiers", index, "up_to"];
    const last = index === (doc.tiers?.length ?? 0) - 1;
    if (tier.up_to === undefined) {
      if (!last) {
        issues.add(at, "required: only the last tier is open-ended");
        ok = false;
      }
      tiers.push({ upTo: null, amount: tier.price.amount });
      return;
    }
    if (last) {
      issues.add(at, "the last tier must have no up_to: it takes everything past the previous bound");
      ok = false;
      return;
    }
    const upTo = amountAt(tier.up_to, unit, "positive", at, issues);
    if (upTo === null) ok = false;
    else if (upTo <= previous) {
      issues.add(at, `tiers must be sorted by up_to: ${upTo} is not above ${previous}`);
      ok = false;
    } else previous = upTo;
    tiers.push({ upTo, amount: tier.price.amount });
  });
  if (!ok) return null;
  const price: PriceCurve = { model, tiers };
  return { price, overheadCost };
}

/** The top-level `exchange` and every credit's rune route; pairs that cycle or never reach rune are issues. */
export function compileExchange(
  raw: unknown,
  credits: ReadonlyMap<string, CreditMoney>,
  declared: ReadonlySet<string>,
  issues: IssueList,
): {
  exchange: CompiledExchange;
  routes: Map<string, RuneRoute>;
  document: Record<string, unknown> | undefined;
} {
  const exchange: CompiledExchange = { grantStrategy: "expires_first", usdPerRune: 1, pairs: new Map() };
  const document: Record<string, unknown> = {};
  const entries = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? Object.entries(raw) : [];
  for (const [key, value] of entries) {
    const path = ["exchange", key];
    if (key === "grant_strategy") {
      if (typeof value !== "string" || !STRATEGIES.includes(value as GrantStrategy))
        issues.add(path, `must be one of ${STRATEGIES.map((s) => JSON.stringify(s)).join(", ")}`);
      else exchange.grantStrategy = value as GrantStrategy;
      document[key] = value;
    } else if (key === "rune") {
      const rune = issues.parse(runeSchema, value, path);
      if (rune?.clean) {
        exchange.usdPerRune = rune.value.value;
        document[key] = rune.value;
      }
    } else {
      const pair = issues.parse(exchangePairSchema, value, path);
      if (!declared.has(key))
        issues.add(path, `unknown credit "${key}" (an exchange pair is keyed by a credit)`);
      else if (pair?.clean) {
        exchange.pairs.set(key, { value: pair.value.value, currency: pair.value.currency });
        document[key] = pair.value;
        const currency = pair.value.currency;
        if (currency !== RUNE && currency !== USD && !declared.has(currency))
          issues.add([...path, "currency"], `unknown currency "${currency}" (a credit, rune or usd)`);
      }
    }
  }
  // Only credits that compiled are walked; a pair naming a broken credit is already reported there.
  const { routes, problems } = resolveRoutes(credits, exchange);
  for (const problem of problems) {
    if (declared.has(problem.credit) && !problem.message.includes("neither a credit nor"))
      issues.add(["exchange", problem.credit], problem.message);
  }
  return { exchange, routes, document: raw === undefined ? undefined : document };
}

/** One plan's top-ups; null entries are left out (issues recorded). */
export function compileTopups(
  raw: unknown,
  credits: ReadonlyMap<string, CompiledCredit | null>,
  path: Path,
  issues: IssueList,
): { topups: Map<string, CompiledTopup>; documents: Record<string, unknown> } {
  const topups = new Map<string, CompiledTopup>();
  const documents: Record<string, unknown> = {};
  const entries = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? Object.entries(raw) : [];
  for (const [name, value] of entries) {
    const at = [...path, name];
    const parsed = issues.parse(topupSchema, value, at);
    if (parsed === undefined) continue;
    const doc = parsed.value;
    const credit = credits.get(doc.credit);
    if (credit === undefined && !credits.has(doc.credit)) {
      const known = [...credits.keys()].join(", ") || "none";
      issues.add([...at, "credit"], `unknown credit "${doc.credit}" (declared credits: ${known})`);
    }
    const unit = credit ?? undefined;
    const amount = (key: "rollover_min" | "rollover_max" | "max_balance") =>
      doc[key] === undefined ? null : amountAt(doc[key], unit, "nonnegative", [...at, key], issues);
    const grantValue = amountAt(doc.value, unit, "positive", [...at, "value"], issues);
    const rolloverMin = amount("rollover_min");
    const rolloverMax = amount("rollover_max");
    const maxBalance = amount("max_balance");
    const reset = resetRule(doc, at, issues);
    const expiresAfterMs =
      doc.expires_after === undefined
        ? null
        : durationAt(doc.expires_after, [...at, "expires_after"], issues);
    const pctOk = doc.rollover_pct === undefined || doc.rollover_pct <= 1;
    if (!pctOk)
      issues.add(
        [...at, "rollover_pct"],
        `is a fraction of the old balance (0.5 carries half), at most 1; got ${doc.rollover_pct}`,
      );
    if (rolloverMin !== null && rolloverMax !== null && rolloverMin > rolloverMax)
      issues.add([...at, "rollover_min"], `is above rollover_max (${rolloverMin} > ${rolloverMax})`);
    if (
      !parsed.clean ||
      !pctOk ||
      credit == null ||
      grantValue === null ||
      reset === null ||
      (doc.expires_after !== undefined && expiresAfterMs === null) ||
      (doc.rollover_min !== undefined && rolloverMin === null) ||
      (doc.rollover_max !== undefined && rolloverMax === null) ||
      (doc.max_balance !== undefined && maxBalance === null)
    )
      continue;
    topups.set(name, {
      name,
      credit: doc.credit,
      description: doc.description ?? null,
      price: doc.price?.amount ?? null,
      included: doc.included === true,
      includedScopes: doc.included_scopes ?? null,
      expiresAfterMs,
      terms: {
        value: grantValue,
        reset,
        resetMode: doc.reset_mode ?? "hard",
        rolloverPct: doc.rollover_pct ?? 1,
        rolloverMin,
        rolloverMax,
        maxBalance,
        catchupCap: doc.reset_catchup_cap ?? null,
      },
    });
    documents[name] = doc;
  }
  return { topups, documents };
}

/** A model's compiled cost: a missing class costs as input (output too), `per` defaults to 1M. */
export function compileModelCost(doc: ModelCostDocument): ModelCost {
  const per = doc.per === undefined || doc.per === "1M" ? 1e6 : doc.per === "1K" ? 1e3 : doc.per;
  return {
    input: doc.input,
    cachedInput: doc.cached_input ?? doc.input,
    cacheWrite: doc.cache_write ?? doc.input,
    output: doc.output ?? doc.input,
    per,
  };
}
