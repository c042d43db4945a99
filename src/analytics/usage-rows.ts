/**
 * Which events are recorded usage and what a usage row holds (SPEC §13.1): a `meter.changed` of a consume or
 * a settle adds its amount, a release subtracts what it took off the meter; reserves and hold expiry are not
 * usage. Gateway settles carry their token classes, model and door (`data.usage`, SPEC §6), and every
 * recorded change what it cost you (`data.overheadDiff`, SPEC §12.1; for a gateway call it is the model's
 * cost, also in `data.cost`). Pure.
 */
import { TOKEN_CLASSES } from "../domain/token-usage";
import type { StoredEvent } from "../domain/types";
import type { UsageClasses } from "./types";

/** One usage row, keyed by its event's id. */
export interface UsageRow {
  eventId: string;
  /** Who made the call (a member, for an org-scoped call on its org's log). */
  customer: string;
  /** Whose meter it counted on (the org for an org-scoped call). */
  meteredOn: string;
  entitlement: string;
  operation: "consume" | "settle" | "release";
  atMs: number;
  /** In the entitlement's credit unit; negative for a release. */
  amount: number;
  unit: string | null;
  model: string | null;
  door: string | null;
  classes: UsageClasses | null;
  /** Runes this change cost you; null when the event carries no money. */
  cost: number | null;
}

const finite = (value: unknown): number | null =>
  typeof value === "number" && Number.isFinite(value) ? value : null;
const text = (value: unknown): string | null => (typeof value === "string" ? value : null);

/** The usage row of an event, or null when the event records no usage. */
export function usageRowOf(event: StoredEvent): UsageRow | null {
  if (event.type !== "meter.changed" || event.entitlement === undefined) return null;
  const data = event.data;
  const operation = data.operation;
  if (operation !== "consume" && operation !== "settle" && operation !== "release") return null;
  const requested = finite(data.amount);
  if (requested === null) return null;
  // A release floors at the limit's minimum: what it took off `used` (`released`) is what it un-recorded.
  // Events written before `released` existed fall back to the amount asked for.
  const amount = operation === "release" ? -(finite(data.released) ?? requested) : requested;
  const atMs = Date.parse(event.at);
  if (!Number.isFinite(atMs)) return null;
  const usage =
    data.usage !== null && typeof data.usage === "object" ? (data.usage as Record<string, unknown>) : null;
  return {
    eventId: event.id,
    customer: event.customer,
    meteredOn: event.meteredOn,
    entitlement: event.entitlement,
    operation,
    atMs,
    amount,
    unit: text(data.unit),
    model: usage === null ? null : text(usage.model),
    door: usage === null ? null : text(usage.door),
    classes: usage === null ? null : classesOf(usage),
    cost: finite(data.overheadDiff) ?? finite(data.cost),
  };
}

function classesOf(usage: Record<string, unknown>): UsageClasses {
  const classes = {} as UsageClasses;
  for (const name of TOKEN_CLASSES) classes[name] = finite(usage[name]) ?? 0;
  return classes;
}
