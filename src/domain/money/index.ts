/** Money (SPEC §12): the pure functions the objects layer and the gateway call. */

export { decideMoney, type MoneyCall, type MoneyDecision, type MoneyOp, type MoneyReason } from "./decide";
export { applyDraws, coverable, type Draw, planDraws, usableGrants } from "./draw";
export { coverOf, RUNE, resolveRoutes, runesFor, USD, unitsForRunes, unitValue } from "./exchange";
export {
  advanceGrant,
  advanceGrants,
  balancesOf,
  createGrant,
  type GrantEvent,
  isDrained,
  resetBalance,
} from "./grants";
export { type MarginInput, type MarginReport, marginOf } from "./margin";
export { callCost, estimateCost, fixedRunesPerUnit, runesToUnits, type TokenCounts } from "./model-cost";
export { EPSILON, round9 } from "./numbers";
export { curveTotal, priceAt, unitsFor } from "./pricing";
export type * from "./types";
