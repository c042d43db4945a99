/** Read-only views of meters (the customer view of SPEC §5.2) and plan-change resets. */
import { isoOrNull } from "./decision";
import { shown } from "./money/numbers";
import { advancePeriod, emptyMeter, resetsAtMs } from "./periods";
import type { CompiledEntitlement, DomainEvent, MeterState } from "./types";

export interface MeterView {
  credit: string | null;
  unit: string | null;
  mode: string;
  used: number;
  held: number;
  limit: number;
  remaining: number;
  overage: number;
  periodStart: string | null;
  resetsAt: string | null;
}

/** The meter as a read sees it now: due resets computed, nothing stored (SPEC §11). */
export function viewMeter(
  stored: MeterState | undefined,
  ent: CompiledEntitlement,
  nowMs: number,
): MeterView | null {
  const limit = ent.limit;
  if (limit === null) return null;
  const meter = advancePeriod(stored ?? emptyMeter(), limit, nowMs, false).meter;
  return {
    credit: ent.credit?.name ?? null,
    unit: ent.credit?.unit ?? null,
    mode: limit.mode,
    used: shown(meter.used),
    held: shown(meter.held),
    limit: limit.value,
    remaining: shown(Math.max(0, limit.value - meter.used - meter.held)),
    overage: shown(meter.overage),
    periodStart: isoOrNull(meter.periodStart),
    resetsAt: isoOrNull(resetsAtMs(meter, limit, nowMs)),
  };
}

/**
 * `keepUsage: false`: clear used, overage and alerts (holds, period and bucket kept), with one
 * `meter.reset` event.
 */
export function clearUsage(
  meter: MeterState,
  entitlement: string,
  plan: string | null,
): { meter: MeterState; event: DomainEvent } {
  return {
    meter: {
      ...meter,
      used: 0,
      overage: 0,
      alertsFired: [],
      ...(meter.overhead === undefined ? {} : { overhead: 0 }),
    },
    event: {
      type: "meter.reset",
      entitlement,
      data: {
        reason: "plan_changed",
        previousUsed: meter.used,
        previousOverage: meter.overage,
        periodStart: isoOrNull(meter.periodStart),
        plan,
      },
    },
  };
}
