/**
 * Margin (SPEC §12.5): revenue is the price of the period's usage past the limit, priced from position 0 with
 * grants ignored; cost is the period's recorded overhead; margin is a percentage rounded to 2 places.
 */
import { runesFor } from "./exchange";
import { round9 } from "./numbers";
import type { RuneRoute } from "./types";

/** One limited entitlement of the effective plan, in its current period. */
export interface MarginInput {
  entitlement: string;
  used: number;
  limit: number;
  /** The period's recorded overhead in runes. */
  overhead: number;
  route: RuneRoute | undefined;
}

export interface MarginLine {
  revenue: number;
  cost: number;
  /** null when revenue is 0. */
  margin: number | null;
}

export interface MarginReport {
  revenue: number;
  cost: number;
  /** -100 when revenue is 0. */
  margin: number;
  entitlements: Record<string, MarginLine>;
}

function percent(revenue: number, cost: number): number {
  const value = Math.round(((revenue - cost) / revenue) * 100 * 100) / 100;
  return value === 0 ? 0 : value;
}

/** The margin report of a customer's current periods. */
export function marginOf(inputs: readonly MarginInput[]): MarginReport {
  const entitlements: Record<string, MarginLine> = Object.create(null);
  let revenue = 0;
  let cost = 0;
  for (const input of inputs) {
    const lineRevenue = runesFor(input.route, 0, Math.max(0, input.used - input.limit));
    revenue += lineRevenue;
    cost += input.overhead;
    entitlements[input.entitlement] = {
      revenue: round9(lineRevenue),
      cost: round9(input.overhead),
      margin: lineRevenue > 0 ? percent(lineRevenue, input.overhead) : null,
    };
  }
  return {
    revenue: round9(revenue),
    cost: round9(cost),
    margin: revenue > 0 ? percent(revenue, cost) : -100,
    entitlements,
  };
}
