/** One meter as a bar: used (solid) and held (hatched) against the limit, with every number written beside it. */
import { amount, time } from "../format";
import type { MeterView } from "../types";

export function MeterBar({ name, meter }: { name: string; meter: MeterView }) {
  // The bar's full width is the limit, or used + held when that is past it (soft and observe meters).
  const scale = Math.max(meter.limit, meter.used + meter.held, Number.MIN_VALUE);
  const usedPct = Math.min(100, (meter.used / scale) * 100);
  const heldPct = Math.min(100 - usedPct, (meter.held / scale) * 100);
  const unit = meter.unit ?? meter.credit ?? "";
  const over = meter.used + meter.held > meter.limit;
  return (
    <div class="meter" data-testid={`meter-${name}`} data-entitlement={name}>
      <div class="meter-head">
        <strong>{name}</strong> <span class="muted">{meter.mode}</span>
        {unit !== "" && <span class="muted"> · {unit}</span>}
      </div>
      {/* The bar is for the eye; the numbers below say the same for a reader and a screen reader. */}
      <div class={`bar${over ? " over" : ""}`} aria-hidden="true">
        <span class="bar-used" style={{ width: `${usedPct}%` }} />
        <span class="bar-held" style={{ width: `${heldPct}%` }} />
      </div>
      <dl class="meter-numbers">
        <dt>used</dt>
        <dd data-field="used">{amount(meter.used)}</dd>
        <dt>held</dt>
        <dd data-field="held">{amount(meter.held)}</dd>
        <dt>limit</dt>
        <dd data-field="limit">{amount(meter.limit)}</dd>
        <dt>remaining</dt>
        <dd data-field="remaining">{amount(meter.remaining)}</dd>
        <dt>overage</dt>
        <dd data-field="overage">{amount(meter.overage)}</dd>
        <dt>resets</dt>
        <dd data-field="resetsAt">{meter.resetsAt === null ? "never" : time(meter.resetsAt)}</dd>
      </dl>
    </div>
  );
}
