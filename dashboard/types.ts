/**
 * The shapes the dashboard reads, as SPEC §5, §7, §12 and §13.1 define them (only the fields it shows). The
 * dashboard is a browser bundle: it cannot import the Worker's zod schemas without bundling zod, so these
 * mirror them; the browser tests read every one of them from the real API.
 */

export interface CustomerRow {
  id: string;
  type: string;
  plan: string | null;
  org: string | null;
  label: string | null;
  createdAt: string;
  updatedAt: string;
}

/** `GET /v1/customers` (SPEC §13.1). */
export interface CustomerPage {
  customers: CustomerRow[];
  next: string | null;
}

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

export interface Grant {
  id: string;
  topup: string;
  credit: string;
  balance: number;
  startingValue: number;
  createdAt: string;
  expiresAt: string | null;
  resets: boolean;
  resetMode: string;
  nextResetAt: string | null;
  included: boolean;
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
