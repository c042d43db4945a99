import { describe, expect, it } from "vitest";
import { round9 } from "../../../src/domain/money/numbers";
import { curveTotal, priceAt, unitsFor } from "../../../src/domain/money/pricing";
import type { PriceCurve } from "../../../src/domain/money/types";
import { TIERS } from "../../support/money";

const volume: PriceCurve = { model: "volume", tiers: TIERS.model === "flat" ? [] : TIERS.tiers };
const stairs: PriceCurve = {
  model: "stairstep",
  tiers: [
    { upTo: 100, amount: 5 },
    { upTo: 1000, amount: 20 },
    { upTo: null, amount: 50 },
  ],
};
const flat: PriceCurve = { model: "flat", amount: 0.002 };

describe("price curves (SPEC §12.1 worked values)", () => {
  it.each<[string, PriceCurve, number, number, number]>([
    ["tiered total(1000)", TIERS, 0, 1000, 5.5],
    ["tiered 50 from 75", TIERS, 75, 50, 0.375],
    ["tiered band edge: 100 is in the first band", TIERS, 0, 100, 1],
    ["tiered past the last bound", TIERS, 1000, 500, 0.5],
    ["volume total(101)", volume, 0, 101, 0.505],
    ["volume total(100)", volume, 0, 100, 1],
    ["volume marginal from 100 to 101 is negative", volume, 100, 1, -0.495],
    ["stairstep 1 from 100", stairs, 100, 1, 15],
    ["stairstep 1 from 0", stairs, 0, 1, 5],
    ["stairstep top band", stairs, 1000, 1e6, 30],
    ["flat", flat, 12, 500, 1],
    ["negative position: first band rate", TIERS, -10, 20, 0.2],
    ["negative position: free for stairstep", stairs, -10, 5, 0],
  ])("%s", (_what, curve, position, amount, expected) => {
    expect(round9(priceAt(curve, position, amount))).toBe(expected);
  });

  it("totals are 0 at 0", () => {
    for (const curve of [TIERS, volume, stairs, flat]) expect(curveTotal(curve, 0)).toBe(0);
  });
});

describe("units a budget buys (the inverse)", () => {
  it.each<[string, PriceCurve, number, number, number]>([
    ["tiered from 0, 5.5 runes", TIERS, 0, 5.5, 1000],
    ["tiered from 75, 0.375 runes", TIERS, 75, 0.375, 50],
    ["tiered into the open band", TIERS, 1000, 1, 1000],
    ["flat", flat, 0, 1, 500],
    ["volume 1 rune from 0: 200 at the second band's rate", volume, 0, 1, 200],
    ["volume 5 runes from 0 reaches 5000 in the open band", volume, 0, 5, 5000],
    ["stairstep 15 from 100 reaches the next bound", stairs, 100, 15, 900],
    ["stairstep too little for the next band", stairs, 100, 14, 0],
  ])("%s", (_what, curve, position, budget, expected) => {
    expect(round9(unitsFor(curve, position, budget))).toBe(expected);
  });

  it("never buys more than the budget pays for (tiered, flat)", () => {
    for (const position of [0, 50, 99, 100, 250, 999, 1000, 5000]) {
      for (const budget of [0, 0.01, 0.3, 1, 4.5, 7]) {
        for (const curve of [TIERS, flat]) {
          const units = unitsFor(curve, position, budget);
          expect(priceAt(curve, position, units)).toBeLessThanOrEqual(budget + 1e-9);
          expect(priceAt(curve, position, units + 1e-3)).toBeGreaterThan(budget - 1e-9);
        }
      }
    }
  });
});
