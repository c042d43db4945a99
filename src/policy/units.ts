/** Units and amounts (SPEC §2 "Units and amounts", §5.3 input rules, §11 policy rules). */
import type { Dimension } from "../domain/types";

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** Largest amount accepted, in the credit's unit (SPEC §5.3). */
export const MAX_AMOUNT = 1e15;

/** What a credit's `unit` declaration compiles to. */
export interface UnitInfo {
  unit: string;
  dimension: Dimension;
  factor: number;
}

/** Resolve a credit's declared unit (or none: the credit's own name as a word unit). */
export function describeUnit(_declared: string | null, _creditName: string): ParseResult<UnitInfo> {
  throw new Error("not implemented");
}

/** Parse an amount (number already in the unit, or a string with an optional unit) into the credit's unit. */
export function parseAmount(_input: number | string, _unit: UnitInfo): ParseResult<number> {
  throw new Error("not implemented");
}

/** Parse a duration to milliseconds; a bare number is seconds. */
export function parseDuration(_input: number | string): ParseResult<number> {
  throw new Error("not implemented");
}
