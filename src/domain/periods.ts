/** Lazy period resets for counters (SPEC §3.1, §11 "Decisions"). */
import { calendarPeriod, type Period } from "./calendar";
import type { CompiledLimit, MeterState, ResetRule } from "./types";

/** A fresh meter: nothing used, nothing held, no period yet. */
export function emptyMeter(): MeterState {
  return {
    used: 0,
    held: 0,
    overage: 0,
    periodStart: null,
    periodEnd: null,
    alertsFired: [],
    bucket: null,
  };
}

/** What a reset replaced, for the `meter.reset` event. */
export interface ResetInfo {
  previousUsed: number;
  previousOverage: number;
  previousPeriodStart: number | null;
  periodStart: number;
  periodEnd: number;
}

// Calendar boundaries need Intl in other zones: remember the last period per rule so a hot meter
// does not recompute it on every call.
const lastCalendarPeriod = new WeakMap<ResetRule, Period>();

function currentCalendarPeriod(rule: Extract<ResetRule, { kind: "calendar" }>, nowMs: number): Period {
  const cached = lastCalendarPeriod.get(rule);
  if (cached !== undefined && nowMs >= cached.start && nowMs < cached.end) return cached;
  const period = calendarPeriod(rule.schedule, rule.tz, nowMs);
  lastCalendarPeriod.set(rule, period);
  return period;
}

/**
 * The meter as of `nowMs`: the same object when no reset is due, else a copy with the period advanced and
 * usage, overage and alerts cleared (holds survive). `anchor` says whether this call records a change:
 * only a recorded change anchors a rolling period (a read or a denial does not).
 */
export function advancePeriod(
  meter: MeterState,
  limit: CompiledLimit,
  nowMs: number,
  anchor: boolean,
): { meter: MeterState; reset: ResetInfo | null } {
  const rule = limit.reset;
  if (rule.kind === "none") return { meter, reset: null };
  if (meter.periodEnd !== null && nowMs < meter.periodEnd) return { meter, reset: null };

  let start: number;
  let end: number;
  if (rule.kind === "rolling") {
    if (meter.periodStart === null) {
      if (!anchor) return { meter, reset: null };
      return { meter: { ...meter, periodStart: nowMs, periodEnd: nowMs + rule.periodMs }, reset: null };
    }
    // Whole steps from the anchor: a week of silence lands exactly on a boundary, without drift.
    const steps = Math.floor((nowMs - meter.periodStart) / rule.periodMs);
    start = meter.periodStart + steps * rule.periodMs;
    end = start + rule.periodMs;
  } else {
    const period = currentCalendarPeriod(rule, nowMs);
    start = period.start;
    end = period.end;
    if (meter.periodStart === null) {
      return { meter: { ...meter, periodStart: start, periodEnd: end }, reset: null };
    }
  }
  if (meter.periodStart !== null && start <= meter.periodStart) {
    // The stored period is still current (its end was unknown or the rule changed); just refresh the end.
    return { meter: { ...meter, periodEnd: end }, reset: null };
  }
  const reset: ResetInfo = {
    previousUsed: meter.used,
    previousOverage: meter.overage,
    previousPeriodStart: meter.periodStart,
    periodStart: start,
    periodEnd: end,
  };
  return {
    meter: {
      ...meter,
      used: 0,
      overage: 0,
      alertsFired: [],
      periodStart: start,
      periodEnd: end,
      // The period's overhead (SPEC §12.1) starts again with the period; a meter that never had one stays without.
      ...(meter.overhead === undefined ? {} : { overhead: 0 }),
    },
    reset,
  };
}

/** When the meter's current period ends, if known (ISO strings are made at the edge). */
export function resetsAtMs(meter: MeterState, limit: CompiledLimit, nowMs: number): number | null {
  const rule = limit.reset;
  if (rule.kind === "none") return null;
  if (meter.periodEnd !== null) return meter.periodEnd;
  if (rule.kind === "calendar") return currentCalendarPeriod(rule, nowMs).end;
  return null;
}
