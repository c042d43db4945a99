/**
 * The shapes the dashboard reads, as SPEC §5, §7, §12 and §13.1 define them (only the fields it shows). The
 * dashboard is a browser bundle: it cannot import the Worker's zod schemas without bundling zod, nor the
 * object contract (Workers storage types). The views the pure domain and read model define are imported as
 * types (erased from the bundle); the rest mirror the answers, and the browser tests read every one of them
 * from the real API.
 */
import type { ListedCustomer } from "../src/analytics/types";
import type { GrantView } from "../src/domain/money/types";
import type { MeterView } from "../src/domain/view";

export type { MeterView };
/** A customer as `GET /v1/customers` lists it. */
export type CustomerRow = ListedCustomer;
/** A grant as answers show it (SPEC §12.3). */
export type Grant = GrantView;

/** `GET /v1/customers` (SPEC §13.1). */
export interface CustomerPage {
  customers: CustomerRow[];
  next: string | null;
}

/** `GET /v1/customers/:id` (SPEC §5.2). */
export interface CustomerView extends CustomerRow {
  alternateIds: string[];
  effectivePlan: string | null;
  meters: Record<string, MeterView>;
  grants: Grant[];
  balances: Record<string, number>;
}

export interface Hold {
  id: string;
  entitlement: string;
  customer: string;
  amount: number;
  createdAt: string;
  expiresAt: string;
  expired: boolean;
}

/** `GET /v1/customers/:id/state` (only the holds are read). */
export interface CustomerState {
  holds: Hold[];
}

export type DeliveryStatus = "pending" | "delivered" | "failed" | "skipped";

/** One event of `GET /v1/customers/:id/events` (SPEC §4, §7; `projected` from §13.1). */
export interface EventView {
  id: string;
  seq: number;
  type: string;
  at: string;
  customer: string;
  meteredOn: string;
  entitlement?: string;
  data: Record<string, unknown>;
  delivery: {
    status: DeliveryStatus;
    attempts: number;
    deliveredAt: string | null;
    nextAttemptAt: string | null;
    lastError: string | null;
  };
  projected?: boolean;
}

export interface EventPage {
  events: EventView[];
  next: number | null;
}

/** `GET /v1/policy` (SPEC §5.1). */
export interface PolicyView {
  version: string;
  updatedAt: string;
  policy: Record<string, unknown>;
}

export interface Issue {
  path: string;
  message: string;
}

/** One row of `GET /v1/usage` (SPEC §13.1): `group` holds the non-time `groupBy` keys. */
export interface UsageRow {
  group: Record<string, string | null>;
  bucket: string | null;
  amount: number;
  usage?: Record<string, number>;
  cost?: number;
}

export interface UsageAnswer {
  series: UsageRow[];
}
