/** Compile a limit (amounts, defaults, reset rule) and a rate, recording every issue with its path. */
import { isValidTimeZone } from "../domain/calendar";
import type { CompiledLimit, CompiledRate, ResetRule } from "../domain/types";
import type { IssueList, Path } from "./issues";
import { parseSchedule } from "./schedule";
import type { LimitDocument, RateDocument } from "./schema";
import { MAX_AMOUNT, parseAmount, parseDuration, type UnitInfo } from "./units";

/** `resets: true` with neither `reset_inc` nor `reset_sch` (SPEC §2). */
export const DEFAULT_ROLLING_PERIOD_MS = 30 * 24 * 60 * 60 * 1000;

type Sign = "nonnegative" | "positive";

/**
 * Parse an amount field into the credit's unit. `unit` is undefined when the credit is unknown or invalid
 * (already reported: only the sign of a bare number is still checked) and null when the entitlement has
 * no credit at all (a rate on a feature flag: bare numbers only).
 */
export function amountAt(
  input: number | string,
  unit: UnitInfo | null | undefined,
  sign: Sign,
  path: Path,
  issues: IssueList,
): number | null {
  let value = typeof input === "number" ? input : null;
  if (typeof input === "string") {
    if (unit === undefined) return null;
    if (unit === null) {
      issues.add(path, "this entitlement has no credit, so its amounts are plain numbers");
      return null;
    }
    const parsed = parseAmount(input, unit);
    if (!parsed.ok) {
      // Unit messages ("unit "GB" is a size and cannot measure token") do not repeat the input; add it.
      const message = parsed.message.startsWith("amount ")
        ? parsed.message
        : `amount "${input}": ${parsed.message}`;
      issues.add(path, message);
      return null;
    }
    value = parsed.value;
  }
  if (value === null || (sign === "positive" ? !(value > 0) : !(value >= 0))) {
    issues.add(path, `must be ${sign === "positive" ? ">" : "≥"} 0, got ${JSON.stringify(input)}`);
    return null;
  }
  if (value > MAX_AMOUNT) {
    issues.add(path, `must be at most 10^15 in the credit's unit, got ${JSON.stringify(input)}`);
    return null;
  }
  return value;
}

export function durationAt(input: number | string, path: Path, issues: IssueList): number | null {
  const parsed = parseDuration(input);
  if (parsed.ok) return parsed.value; // parseDuration only accepts durations > 0
  issues.add(path, parsed.message);
  return null;
}

export function resetRule(
  doc: Pick<LimitDocument, "resets" | "reset_inc" | "reset_sch" | "reset_tz">,
  path: Path,
  issues: IssueList,
): ResetRule | null {
  const { resets, reset_inc: inc, reset_sch: sch } = doc;
  let ok = true;
  // Each field is checked on its own first, so a conflict does not hide a typo in one of them.
  const periodMs = inc === undefined ? null : durationAt(inc, [...path, "reset_inc"], issues);
  if (inc !== undefined && periodMs === null) ok = false;
  const schedule = sch === undefined ? null : parseSchedule(sch);
  if (schedule !== null && !schedule.ok) {
    issues.add([...path, "reset_sch"], schedule.message);
    ok = false;
  }
  // reset_tz only means something beside reset_sch; elsewhere it is ignored (SPEC §11).
  const tz = doc.reset_tz ?? "UTC";
  if (sch !== undefined && !isValidTimeZone(tz)) {
    issues.add(
      [...path, "reset_tz"],
      `unknown time zone "${tz}" (expected an IANA name such as Europe/Paris)`,
    );
    ok = false;
  }
  if (resets === false && (inc !== undefined || sch !== undefined)) {
    const other = inc !== undefined ? "reset_inc" : "reset_sch";
    issues.add([...path, "resets"], `"resets: false" contradicts ${other}, which makes the limit reset`);
    ok = false;
  }
  if (inc !== undefined && sch !== undefined) {
    issues.add(
      [...path, "reset_sch"],
      "reset_inc (a rolling period) and reset_sch (a calendar schedule) cannot both be set",
    );
    ok = false;
  }
  if (!ok) return null;
  if (periodMs !== null) return { kind: "rolling", periodMs };
  if (schedule?.ok && sch !== undefined)
    return { kind: "calendar", schedule: schedule.value, tz, source: sch };
  return resets === true ? { kind: "rolling", periodMs: DEFAULT_ROLLING_PERIOD_MS } : { kind: "none" };
}

/** Compile a limit: amounts in the credit's unit (`unit` undefined: the credit is unknown), defaults, reset rule. */
export function compileLimit(
  doc: LimitDocument,
  unit: UnitInfo | undefined,
  path: Path,
  issues: IssueList,
): CompiledLimit | null {
  const at = (key: string) => [...path, key];
  const value = amountAt(doc.value, unit, "nonnegative", at("value"), issues);
  const increment =
    doc.increment === undefined ? 1 : amountAt(doc.increment, unit, "positive", at("increment"), issues);
  const minimum =
    doc.minimum === undefined ? 0 : amountAt(doc.minimum, unit, "nonnegative", at("minimum"), issues);
  const reset = resetRule(doc, path, issues);
  if (value === null || increment === null || minimum === null || reset === null) return null;
  const alerts = [...new Set(doc.alerts ?? [])].sort((a, b) => a - b);
  return {
    value,
    mode: doc.mode ?? "hard",
    increment,
    minimum,
    reset,
    alerts,
    grantsApply: doc.grants_apply ?? true,
    hardTrailing: doc.hard_trailing ?? false,
  };
}

/** Compile a rate: a token bucket of `burst` (default `limit`) refilled at `limit` per `window`. */
export function compileRate(
  doc: RateDocument,
  unit: UnitInfo | null | undefined,
  path: Path,
  issues: IssueList,
): CompiledRate | null {
  const limit = amountAt(doc.limit, unit, "positive", [...path, "limit"], issues);
  const windowMs = durationAt(doc.window, [...path, "window"], issues);
  const burst =
    doc.burst === undefined ? limit : amountAt(doc.burst, unit, "positive", [...path, "burst"], issues);
  if (limit === null || windowMs === null || burst === null) return null;
  return { limit, windowMs, burst };
}
