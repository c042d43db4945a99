/**
 * Value types shared by the pure core: the compiled policy (what src/policy/compile.ts produces),
 * per-customer state, decisions and events. No runtime imports: this module is types only.
 */
import type { Mode, ResetRule, Scope } from "./limit-rules";
import type { CompiledMoney, ModelCost } from "./money/types";

export type { Mode, ResetRule, Schedule, Scope } from "./limit-rules";

/** The dimension of a unit: bytes and time convert; words only match themselves. */
export type Dimension = "bytes" | "time" | "word";

/** A credit as compiled: the unit its meters are kept in. */
export interface CompiledCredit {
  name: string;
  label: string | null;
  /** The unit meters are kept in, as written (`MB`, `token`). */
  unit: string;
  dimension: Dimension;
  /** For bytes and time: base units (bytes, ms) in one credit unit. For words: 1. */
  factor: number;
}

export interface CompiledLimit {
  value: number;
  mode: Mode;
  increment: number;
  minimum: number;
  reset: ResetRule;
  /** Fractions of `value`, ascending, deduplicated. */
  alerts: number[];
  /** `grants_apply` (SPEC §12.3): grants cover this limit's overage. Absent: true. */
  grantsApply?: boolean;
  /** `hard_trailing`: the call that crosses the limit from below is allowed. Absent: false. */
  hardTrailing?: boolean;
}

export interface CompiledRate {
  limit: number;
  windowMs: number;
  burst: number;
}

export interface CompiledEntitlement {
  name: string;
  label: string | null;
  scope: Scope;
  /** Null for a feature flag (no limit). */
  credit: CompiledCredit | null;
  limit: CompiledLimit | null;
  rate: CompiledRate | null;
}

export interface CompiledPlan {
  name: string;
  label: string | null;
  isDefault: boolean;
  /** Lookups go through a Map, so `__proto__` and `toString` are just unknown names. */
  entitlements: Map<string, CompiledEntitlement>;
}

export interface CompiledModelRoute {
  pattern: string;
  regex: RegExp;
  entitlement: string;
  /** The model's provider price (SPEC §12.4); null or absent: not priced. */
  cost?: ModelCost | null;
}

/** One `gateway.passthrough` entry (`"GET files"`): a method and a glob over the canonical path. */
export interface CompiledPassthrough {
  rule: string;
  method: string;
  regex: RegExp;
}

export interface CompiledGateway {
  defaultMaxTokens: number;
  requests: string | null;
  models: CompiledModelRoute[];
  /** Paths outside a door's endpoints that the policy opens (forwarded unmetered, 1 request each). */
  passthrough: CompiledPassthrough[];
  /** `gateway.spend` (SPEC §12.4): the entitlement every priced call's cost is reserved on. Absent: none. */
  spend?: string | null;
  /** `gateway.unpriced`: whether an unpriced model may run while `spend` is set. Absent: refuse. */
  unpriced?: "allow" | "refuse";
}

export interface CompiledPolicy {
  version: string;
  credits: Map<string, CompiledCredit>;
  plans: Map<string, CompiledPlan>;
  defaultPlan: string | null;
  /** Every entitlement name used in some plan. */
  entitlementNames: Set<string>;
  gateway: CompiledGateway;
  /** Prices, costs, the exchange and top-ups (SPEC §12). */
  money: CompiledMoney;
}

/** A customer's record (SPEC §3.4). Times are epoch milliseconds. */
export interface CustomerRecord {
  id: string;
  type: string;
  plan: string | null;
  org: string | null;
  label: string | null;
  metadata: Record<string, unknown> | null;
  alternateIds: string[];
  createdAt: number;
  updatedAt: number;
}

export interface BucketState {
  tokens: number;
  updatedAt: number;
}

/** One (customer, entitlement) meter. Times are epoch milliseconds. */
export interface MeterState {
  used: number;
  /** Sum of live holds on this meter. */
  held: number;
  overage: number;
  /** Start of the current period; null until a rolling meter is anchored, and for gauges. */
  periodStart: number | null;
  /** End of the current period (exclusive); null while unknown or for gauges. */
  periodEnd: number | null;
  /** Alert fractions already fired in this period. */
  alertsFired: number[];
  /** Token bucket of the entitlement's `rate`; null until first drained. */
  bucket: BucketState | null;
  /** What this period's recorded usage cost you, in runes (SPEC §12.1); absent until the first priced change. */
  overhead?: number;
}

export interface Hold {
  id: string;
  entitlement: string;
  /** Canonical id of the customer that reserved (a settle by anyone else is not found). */
  customer: string;
  amount: number;
  createdAt: number;
  expiresAt: number;
  /** Set when the hold expired: its amount no longer counts in `held`. */
  expired: boolean;
}

export type Outcome = "allowed" | "denied" | "overage" | "observed";

export type Reason =
  | "within_limit"
  | "feature_enabled"
  | "released"
  | "limit_exceeded"
  | "overage_recorded"
  | "observed"
  | "rate_limited"
  | "not_entitled"
  | "unknown_customer"
  | "no_org"
  | "plan_not_found"
  | "hold_expired"
  | "too_many_holds"
  | "grant_applied";

/** The decision object of SPEC §3.3. Times are ISO-8601 UTC strings. */
export interface Decision {
  allowed: boolean;
  outcome: Outcome;
  reason: Reason;
  message: string;
  customer: string;
  meteredOn: string | null;
  entitlement: string;
  plan: string | null;
  credit: string | null;
  unit: string | null;
  amount: number;
  used: number | null;
  held: number | null;
  limit: number | null;
  remaining: number | null;
  overage: number | null;
  resetsAt: string | null;
  retryAfterSeconds: number | null;
  holdId: string | null;
  replayed: boolean;
  policyVersion: string;
  /** Units of the metered credit covered by grants in this call (SPEC §12.3); limited entitlements only. */
  grantApplied?: number;
  /** What the meter owner's usable grants still cover after the call, in units of the metered credit. */
  grantRemaining?: number;
}

export type EventType =
  | "customer.created"
  | "customer.updated"
  | "customer.deleted"
  | "customer.plan_changed"
  | "meter.changed"
  | "meter.limit_reached"
  | "meter.overage"
  | "meter.threshold_crossed"
  | "meter.reset"
  | "hold.expired"
  | "customer.topup_granted"
  | "grant.reset"
  | "grant.expired"
  | "grant.revoked";

/** An event as the domain produces it; the object adds id, seq, at, customer and meteredOn. */
export interface DomainEvent {
  type: EventType;
  entitlement?: string;
  data: Record<string, unknown>;
}

/** An event as stored and delivered (SPEC §4). */
export interface StoredEvent {
  id: string;
  seq: number;
  type: EventType;
  at: string;
  customer: string;
  meteredOn: string;
  entitlement?: string;
  data: Record<string, unknown>;
}
