/**
 * Price curves (SPEC §12.1): what `amount` billable units cost from a position on a credit's curve, and the
 * inverse, how many units a budget in runes buys. Positions are units past the limit; a negative position is
 * inside the included amount and is priced at the first band's rate (free for stairstep).
 */
import type { PriceCurve, Tier } from "./types";

function firstRate(curve: PriceCurve): number {
  return curve.model === "flat" ? curve.amount : (curve.tiers[0]?.amount ?? 0);
}

/** The band `x` (> 0) lands in: exactly `upTo` falls in that band. */
function bandOf(tiers: readonly Tier[], x: number): number {
  for (let i = 0; i < tiers.length; i++) {
    const upTo = tiers[i]?.upTo ?? null;
    if (upTo === null || x <= upTo) return i;
  }
  return tiers.length - 1;
}

/** The curve's total for the first `x` billable units (x may be negative: see the module header). */
export function curveTotal(curve: PriceCurve, x: number): number {
  if (x <= 0) return curve.model === "stairstep" ? 0 : x * firstRate(curve);
  switch (curve.model) {
    case "flat":
      return x * curve.amount;
    case "volume":
      return x * (curve.tiers[bandOf(curve.tiers, x)]?.amount ?? 0);
    case "stairstep":
      return curve.tiers[bandOf(curve.tiers, x)]?.amount ?? 0;
    case "tiered": {
      let total = 0;
      let lower = 0;
      for (const tier of curve.tiers) {
        const upper = tier.upTo === null ? x : Math.min(x, tier.upTo);
        if (upper > lower) total += (upper - lower) * tier.amount;
        if (tier.upTo === null || x <= tier.upTo) break;
        lower = tier.upTo;
      }
      return total;
    }
  }
}

/** Runes for `amount` units starting at `position` (SPEC §12.1 worked values: tiered 50 from 75 = 0.375). */
export function priceAt(curve: PriceCurve, position: number, amount: number): number {
  if (amount === 0) return 0;
  if (curve.model === "flat") return amount * curve.amount;
  return curveTotal(curve, position + amount) - curveTotal(curve, position);
}

/**
 * The most units (≥ 0) that `budget` runes buy from `position`: the largest u with priceAt(position, u) ≤
 * budget. Infinity when the curve ends free. Volume curves are not monotone, so every band is tried.
 */
export function unitsFor(curve: PriceCurve, position: number, budget: number): number {
  if (budget < 0) return 0;
  if (curve.model === "flat") return curve.amount <= 0 ? Number.POSITIVE_INFINITY : budget / curve.amount;
  const base = curveTotal(curve, position);
  const allowed = base + budget; // the curve total may reach this
  let best = position;
  // Below zero the curve is linear at the first rate (or free for stairstep).
  if (position < 0) {
    const rate = curve.model === "stairstep" ? 0 : firstRate(curve);
    const reach = rate <= 0 ? 0 : Math.min(0, position + budget / rate);
    best = Math.max(best, rate <= 0 ? 0 : reach);
    if (rate > 0 && reach < 0) return best - position;
  }
  let lower = 0;
  let runningTotal = 0; // tiered: the total at `lower`
  for (const tier of curve.tiers) {
    const upper = tier.upTo ?? Number.POSITIVE_INFINITY;
    const from = Math.max(lower, position);
    if (upper > from) {
      let reach: number;
      if (curve.model === "stairstep") reach = tier.amount <= allowed ? upper : from;
      else if (curve.model === "volume")
        reach = tier.amount <= 0 ? upper : Math.min(upper, allowed / tier.amount);
      else reach = tier.amount <= 0 ? upper : Math.min(upper, lower + (allowed - runningTotal) / tier.amount);
      if (reach > best && reach > lower) best = reach;
      // Tiered totals only grow: once a band is not crossed, none after it is reached.
      if (curve.model === "tiered" && reach < upper) break;
    }
    if (curve.model === "tiered" && tier.upTo !== null) runningTotal += (tier.upTo - lower) * tier.amount;
    if (tier.upTo === null) break;
    lower = tier.upTo;
  }
  return Math.max(0, best - position);
}

/** One representative rune rate per unit (grant ordering by value): the flat price or the first band's rate. */
export function unitRate(curve: PriceCurve): number {
  if (curve.model !== "stairstep") return firstRate(curve);
  const first = curve.tiers[0];
  return first === undefined
    ? 0
    : first.upTo === null || first.upTo <= 0
      ? first.amount
      : first.amount / first.upTo;
}
