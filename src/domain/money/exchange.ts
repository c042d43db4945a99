/**
 * The exchange (SPEC §12.2): how a credit turns into runes, and how a grant in one credit covers units of
 * another. Conversions walk the pairs toward `rune`, multiplying; a pair wins over a credit's own price; a
 * chain stops at a credit that has a price, whose curve then applies at the scaled position.
 */
import { priceAt, unitRate, unitsFor } from "./pricing";
import type { CompiledExchange, CreditMoney, RuneRoute } from "./types";

/** The money units a pair may point at besides credits. */
export const RUNE = "rune";
export const USD = "usd";

/** Why a credit's chain does not reach runes: a cycle, or a credit with neither a pair nor a price. */
export interface RouteProblem {
  credit: string;
  message: string;
}

/** Resolve every credit's rune route; a pair that cycles or never reaches rune is a problem, not a route. */
export function resolveRoutes(
  credits: ReadonlyMap<string, CreditMoney>,
  exchange: CompiledExchange,
): { routes: Map<string, RuneRoute>; problems: RouteProblem[] } {
  const routes = new Map<string, RuneRoute>();
  const problems: RouteProblem[] = [];
  for (const [name, money] of credits) {
    if (!exchange.pairs.has(name)) {
      routes.set(
        name,
        money.price === null ? { kind: "none" } : { kind: "curve", via: name, scale: 1, curve: money.price },
      );
      continue;
    }
    const walked = walk(name, credits, exchange);
    if ("problem" in walked) problems.push({ credit: name, message: walked.problem });
    else routes.set(name, walked.route);
  }
  return { routes, problems };
}

function walk(
  start: string,
  credits: ReadonlyMap<string, CreditMoney>,
  exchange: CompiledExchange,
): { route: RuneRoute } | { problem: string } {
  const seen = [start];
  let scale = 1;
  let current = start;
  for (;;) {
    const pair = exchange.pairs.get(current);
    if (pair === undefined) {
      const price = credits.get(current)?.price ?? null;
      if (price === null)
        return {
          problem: `its exchange chain ${seen.join(" → ")} stops at "${current}", which has neither a pair nor a price, so it never reaches rune`,
        };
      return { route: flatten({ kind: "curve", via: current, scale, curve: price }) };
    }
    scale *= pair.value;
    if (pair.currency === RUNE) return { route: { kind: "linear", runesPerUnit: scale } };
    if (pair.currency === USD)
      return { route: { kind: "linear", runesPerUnit: scale / exchange.usdPerRune } };
    if (seen.includes(pair.currency))
      return { problem: `exchange cycle ${[...seen, pair.currency].join(" → ")}` };
    if (!credits.has(pair.currency))
      return { problem: `exchange pair names "${pair.currency}", which is neither a credit nor rune or usd` };
    seen.push(pair.currency);
    current = pair.currency;
  }
}

/** A flat curve at a scale is a fixed rate. */
function flatten(route: Extract<RuneRoute, { kind: "curve" }>): RuneRoute {
  return route.curve.model === "flat"
    ? { kind: "linear", runesPerUnit: route.scale * route.curve.amount }
    : route;
}

/** Runes for `amount` units of a credit starting at billable `position` (0 for a credit with no rune value). */
export function runesFor(route: RuneRoute | undefined, position: number, amount: number): number {
  if (route === undefined || route.kind === "none") return 0;
  if (route.kind === "linear") return amount * route.runesPerUnit;
  return priceAt(route.curve, position * route.scale, amount * route.scale);
}

/** Units a budget of runes buys from `position` (Infinity when free). */
export function unitsForRunes(route: RuneRoute, position: number, runes: number): number {
  if (route.kind === "none") return 0;
  if (route.kind === "linear")
    return route.runesPerUnit <= 0 ? Number.POSITIVE_INFINITY : runes / route.runesPerUnit;
  return unitsFor(route.curve, position * route.scale, runes * 1) / route.scale;
}

/** A representative rune value of one unit (grant ordering; a grant's own worth); 0 without a rune value. */
export function unitValue(route: RuneRoute | undefined): number {
  if (route === undefined || route.kind === "none") return 0;
  if (route.kind === "linear") return route.runesPerUnit;
  return route.scale * unitRate(route.curve);
}

/**
 * How units of a grant's credit cover units of the metered credit. `cost(position, units)` is what covering
 * `units` metered units from billable `position` takes from the grant; `reach(position, balance)` is the most
 * metered units a balance covers from there.
 */
export interface Cover {
  cost(position: number, units: number): number;
  reach(position: number, balance: number): number;
}

const SAME: Cover = { cost: (_p, units) => units, reach: (_p, balance) => balance };

/** Metered units per grant unit along a chain of pairs from `from` to `to`, or null when there is none. */
function chainRate(exchange: CompiledExchange, from: string, to: string): number | null {
  let rate = 1;
  let current = from;
  for (let steps = 0; steps <= exchange.pairs.size; steps++) {
    const pair = exchange.pairs.get(current);
    if (pair === undefined) return null;
    rate *= pair.value;
    if (pair.currency === to) return rate;
    current = pair.currency;
  }
  return null;
}

/**
 * How a grant in `grantCredit` covers `metered`, or null when it cannot (SPEC §12.3: grants with no rune value
 * never cover another credit). A chain of pairs between the two converts exactly; otherwise both go through
 * runes: the metered side at its curve, the grant side at its per-unit value.
 */
export function coverOf(
  routes: ReadonlyMap<string, RuneRoute>,
  exchange: CompiledExchange,
  metered: string,
  grantCredit: string,
): Cover | null {
  if (metered === grantCredit) return SAME;
  const down = chainRate(exchange, metered, grantCredit); // 1 metered unit = down grant units
  if (down !== null && down > 0) return linearCover(down);
  const up = chainRate(exchange, grantCredit, metered); // 1 grant unit = up metered units
  if (up !== null && up > 0) return linearCover(1 / up);
  const grantValue = unitValue(routes.get(grantCredit));
  const route = routes.get(metered);
  if (!(grantValue > 0) || route === undefined || !(unitValue(route) > 0)) return null;
  if (route.kind === "linear") return linearCover(route.runesPerUnit / grantValue);
  return {
    cost: (position, units) => runesFor(route, position, units) / grantValue,
    reach: (position, balance) => unitsForRunes(route, position, balance * grantValue),
  };
}

function linearCover(grantUnitsPerUnit: number): Cover {
  return {
    cost: (_p, units) => units * grantUnitsPerUnit,
    reach: (_p, balance) => balance / grantUnitsPerUnit,
  };
}
