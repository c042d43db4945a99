/** Threshold alerts on limits: `meter.threshold_crossed` once per threshold per period (SPEC §2 `alerts`). */
import type { DecisionContext } from "./decision";
import type { CompiledLimit, DomainEvent, MeterState } from "./types";

/**
 * Fire the thresholds `meter` has reached and not yet fired this period (mutates `meter.alertsFired`, which
 * the caller owns). Counters re-arm at a reset; a gauge re-arms a threshold when it falls back below it.
 */
export function evaluateAlerts(
  meter: MeterState,
  limit: CompiledLimit,
  ctx: DecisionContext,
  events: DomainEvent[],
): void {
  if (limit.alerts.length === 0) return;
  const gauge = limit.reset.kind === "none";
  let fired = meter.alertsFired;
  for (const threshold of limit.alerts) {
    const level = threshold * limit.value;
    const wasFired = fired.includes(threshold);
    if (!wasFired && meter.used >= level) {
      fired = [...fired, threshold];
      events.push({
        type: "meter.threshold_crossed",
        entitlement: ctx.entitlement.name,
        data: {
          threshold,
          thresholdAmount: level,
          used: meter.used,
          limit: limit.value,
          unit: ctx.entitlement.credit?.unit ?? "",
          plan: ctx.plan,
          periodStart: meter.periodStart === null ? null : new Date(meter.periodStart).toISOString(),
        },
      });
    } else if (wasFired && gauge && meter.used < level) {
      fired = fired.filter((t) => t !== threshold);
    }
  }
  meter.alertsFired = fired;
}
