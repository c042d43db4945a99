/**
 * The read model's values (SPEC §13.1): what a customer object hands the projection, and the rows and
 * answers the queries build. Types only.
 */
import type { CustomerRecord, StoredEvent } from "../domain/types";

/**
 * One event to project, with the customer's record as its object holds it at projection time for a
 * `customer.*` event (null once deleted). Events leave alternate IDs out (they may be credentials, and
 * webhooks carry events), so the listing's alternate IDs, and every other field, come from this snapshot;
 * the event's seq orders the snapshots, so an older one never overwrites a newer one.
 */
export interface ProjectionItem {
  event: StoredEvent;
  record: CustomerRecord | null;
}

/** The token classes summed in a usage row or series point (SPEC §6). */
export interface UsageClasses {
  input: number;
  cached_input: number;
  cache_write: number;
  output: number;
  reasoning: number;
}

/** A customer as `GET /v1/customers` lists it. */
export interface ListedCustomer {
  id: string;
  type: string;
  plan: string | null;
  org: string | null;
  label: string | null;
  createdAt: string;
  updatedAt: string;
}

/** `GET /v1/customers` filters, already validated at the edge. */
export interface CustomerListQuery {
  type?: string;
  plan?: string;
  org?: string;
  q?: string;
  cursor?: string;
  limit: number;
}

export type UsageGroupKey = "customer" | "entitlement" | "model";
export type UsageTimeKey = "day" | "hour";
export type UsageGroupBy = UsageGroupKey | UsageTimeKey;

/** `GET /v1/usage` filters, already validated at the edge (times as epoch ms). */
export interface UsageQuery {
  entitlement?: string;
  customer?: string;
  org?: string;
  model?: string;
  fromMs?: number;
  toMs?: number;
  groupBy: UsageGroupBy[];
  tz: string;
  limit: number;
}

/** One point of a usage series. */
export interface UsagePoint {
  group: { customer?: string; entitlement?: string; model?: string | null };
  bucket: string | null;
  amount: number;
  usage?: UsageClasses;
  cost?: number;
}
