/** Number rules of money (SPEC §12): storage never rounds, comparisons at 1e-9, outputs rounded to 1e-9. */

export const EPSILON = 1e-9;

/** `x` rounded to 1e-9 for answers and events (never for storage). */
export function round9(x: number): number {
  if (!Number.isFinite(x) || Math.abs(x) >= 1e21) return x;
  const rounded = Number(x.toFixed(9));
  return rounded === 0 ? 0 : rounded; // folds -0
}

/** A meter's number as answers show it: whole numbers as they are, fractions (money) rounded to 1e-9. */
export function shown(x: number): number {
  return Number.isInteger(x) ? x : round9(x);
}

/** a ≤ b at the comparison tolerance. */
export function atMost(a: number, b: number): boolean {
  return a <= b + EPSILON;
}

/** True when `x` is zero at the comparison tolerance. */
export function isZero(x: number): boolean {
  return Math.abs(x) <= EPSILON;
}
