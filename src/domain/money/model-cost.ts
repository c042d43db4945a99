/**
 * A gateway call's cost (SPEC §12.4): runes per `per` tokens of each class; a missing class costs as `input`,
 * `reasoning` as `output`. The estimate reserved before the call prices the prompt at `input` and the output
 * budget at `output`.
 */
import type { ModelCost, RuneRoute } from "./types";

/** Token counts by class, as a door reports them; absent or null classes count 0. */
export interface TokenCounts {
  input?: number | null;
  cached_input?: number | null;
  cache_write?: number | null;
  output?: number | null;
  reasoning?: number | null;
}

/** The cost in runes of a call's token classes. */
export function callCost(cost: ModelCost, tokens: TokenCounts): number {
  const n = (x: number | null | undefined) => (typeof x === "number" && Number.isFinite(x) && x > 0 ? x : 0);
  const runes =
    n(tokens.input) * cost.input +
    n(tokens.cached_input) * cost.cachedInput +
    n(tokens.cache_write) * cost.cacheWrite +
    (n(tokens.output) + n(tokens.reasoning)) * cost.output;
  return runes / cost.per;
}

/** The estimated cost reserved before a call: prompt at the input rate plus the output budget at the output rate. */
export function estimateCost(cost: ModelCost, promptTokens: number, maxOutputTokens: number): number {
  return callCost(cost, { input: promptTokens, output: maxOutputTokens });
}

/**
 * Runes per unit of a credit with a fixed rune value: an exchange chain to rune or usd, or a flat price (its
 * own, or the one its chain stops at); null for none, or a curve whose rate depends on the position.
 */
export function fixedRunesPerUnit(route: RuneRoute | undefined): number | null {
  if (route === undefined || route.kind === "none") return null;
  const rate =
    route.kind === "linear"
      ? route.runesPerUnit
      : route.curve.model === "flat"
        ? route.scale * route.curve.amount
        : Number.NaN;
  return rate > 0 ? rate : null;
}

/** Runes as units of a credit with a fixed rune value (`gateway.spend`); null when it has none. */
export function runesToUnits(route: RuneRoute | undefined, runes: number): number | null {
  const rate = fixedRunesPerUnit(route);
  return rate === null ? null : runes / rate;
}
