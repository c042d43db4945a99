/**
 * The shapes that cross the Worker ↔ Durable Object RPC boundary. RPC drops custom error classes, so objects
 * answer with values: a `Result`, whose failure is a catalogue code (`customer_not_found`: no such customer
 * here; the Worker may resolve again). The edges render failures (src/errors/catalogue.ts).
 */
import type { Grant, GrantView } from "../domain/money/types";
import type { SettleUsage } from "../domain/token-usage";
import type { Decision, StoredEvent } from "../domain/types";
import type { MeterView } from "../domain/view";
import { type Failure, fail, type Result } from "../errors/catalogue";
import type { EventDelivery } from "./customer-store";

export type { Result };

/** A success. */
export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/** The answer of an object where no such customer lives (or the presented alternate ID is no longer its own). */
export function unknownCustomer(): Failure {
  return fail("customer_not_found");
}

/** Whether an object answered that no such customer lives there. */
export function isUnknown<T>(result: Result<T>): result is Failure {
  return !result.ok && result.code === "customer_not_found";
}

/** A claim's answer in the alternate-ID index: taken, or refused with the current owner. */
export type ClaimResult = { ok: true } | { ok: false; owner: string };

export type MeterOp = "check" | "consume" | "release" | "reserve" | "settle";

/** A metering call as the Worker forwards it to the customer's object. */
export interface MeterCall {
  op: MeterOp;
  /** The alternate ID the caller presented, which the object must confirm is still its own. */
  presentedAlternateId: string | null;
  entitlement: string | null;
  /** As sent: a number in the credit's unit or a string with a unit; null for the default. */
  amount: number | string | null;
  holdId: string | null;
  ttlMs: number | null;
  idempotencyKey: string | null;
  policyVersion: string;
  /**
   * A gateway settle's usage in token classes (SPEC §6), carried by its `meter.changed` event as
   * `data.usage`; validated by the object. Absent or null on every other call.
   */
  usage?: SettleUsage | null;
  /**
   * What a settle cost in runes when the caller knows it (the gateway's model cost, SPEC §12.4): the meter's
   * `overheadDiff`. Absent or null: amount × the credit's `overhead_cost`.
   */
  cost?: number | null;
}

/** The gateway's pre-forward step as one call: reserve the model's entitlement, then 1 of `gateway.requests`. */
export interface GatewayReserveCall {
  /** The gateway key, which the object must confirm is still its own. */
  presentedAlternateId: string | null;
  entitlement: string;
  /** Tokens to reserve, in the entitlement's unit. */
  amount: number;
  /** `gateway.requests`, or null when the policy counts no requests. */
  requests: string | null;
  /**
   * `gateway.spend` and the call's estimated cost in that entitlement's credit (SPEC §12.4), reserved with
   * the tokens; absent or null when the policy meters no spend or the model is not priced.
   */
  spend?: { entitlement: string; amount: number } | null;
  ttlMs: number;
  policyVersion: string;
}

/**
 * The gateway's pre-forward step, flat. `reserved` is the tokens' reserve decision, `spent` the spend's
 * reserve (null when none was asked or an earlier step was refused), `counted` the `gateway.requests` consume
 * (null when not counted: no such meter, or an earlier step was refused). When a later step is refused the
 * object has cancelled the holds already, and `reserved` / `spent` are the cancels' decisions (the
 * reserve's, if a cancel failed). The caller refuses on the first decision that is a refusal, in that order.
 */
export interface GatewayReserve {
  reserved: Decision;
  spent?: Decision | null;
  counted: Decision | null;
}

/** An org-scoped call forwarded from a member's object to its org's object; amount already in credit units. */
export interface MemberCall {
  op: MeterOp;
  member: string;
  entitlement: string;
  amount: number | null;
  holdId: string | null;
  ttlMs: number | null;
  idempotencyKey: string | null;
  /** The member's normalised request, compared on idempotent replays. */
  fingerprint: string;
  /** The amount a refusal reports (the member's default when `amount` is null). */
  requestedAmount: number;
  policyVersion: string;
}

/** An org's answer to a member's settle, with the fingerprint the member remembers its key under. */
export interface MemberSettle {
  result: Result<Decision>;
  fingerprint: string | null;
}

export interface CustomerView {
  id: string;
  type: string;
  plan: string | null;
  org: string | null;
  label: string | null;
  metadata: Record<string, unknown> | null;
  alternateIds: string[];
  effectivePlan: string | null;
  createdAt: string;
  updatedAt: string;
  meters: Record<string, MeterView>;
  /** The grants this customer holds as a meter owner (SPEC §12.3), as of now. */
  grants: GrantView[];
  /** The sum of the grants' balances per grant credit. */
  balances: Record<string, number>;
}

export type { GrantView };

/** A grant as the state document carries it: the grant with its terms, times as ISO strings. */
export interface GrantState extends Omit<Grant, "createdAt" | "expiresAt" | "nextResetAt"> {
  createdAt: string;
  expiresAt: string | null;
  nextResetAt: string | null;
}

/** Fields of `PUT /v1/customers/:id` (SPEC §5.2, §11): absent keeps, null clears. */
export interface CustomerPatch {
  type?: string;
  plan?: string | null;
  org?: string | null;
  label?: string | null;
  metadata?: Record<string, unknown> | null;
  alternateIds?: string[];
}

/** A customer's identity as resolution reports it. */
export interface CustomerIdentity {
  id: string;
  type: string;
  plan: string | null;
  org: string | null;
  alternateIds: string[];
}

/** A member's settle of its hold kept on an org. */
export interface MemberSettleCall {
  member: string;
  holdId: string;
  /** As sent: a number or a string with a unit; null for the held amount. */
  amount: number | string | null;
  idempotencyKey: string | null;
  policyVersion: string;
  /** The gateway settle's usage, for the org's `meter.changed` event (validated by the member). */
  usage?: SettleUsage | null;
  /** The settle's cost in runes when the caller knows it (see `MeterCall.cost`). */
  cost?: number | null;
}

/** What an org tells a member about itself. */
export interface OrgInfo {
  exists: boolean;
  type: string | null;
  plan: string | null;
}

export interface EventPage {
  /** Each event with where it stands in the webhook outbox and whether the read model has it. */
  events: (StoredEvent & { delivery: EventDelivery; projected: boolean })[];
  next: number | null;
}

/** `GET /v1/customers/:id/state` (format 1). Times are ISO-8601 strings. */
export interface CustomerState {
  format: 1;
  customer: {
    id: string;
    type: string;
    plan: string | null;
    org: string | null;
    label: string | null;
    metadata: Record<string, unknown> | null;
    alternateIds: string[];
    createdAt: string;
    updatedAt: string;
  };
  meters: Record<
    string,
    {
      used: number;
      held: number;
      overage: number;
      /** The period's overhead in runes (SPEC §12.1); absent before money. */
      overhead?: number;
      periodStart: string | null;
      periodEnd: string | null;
      alertsFired: number[];
      bucket: { tokens: number; updatedAt: string } | null;
    }
  >;
  holds: {
    id: string;
    entitlement: string;
    customer: string;
    amount: number;
    createdAt: string;
    expiresAt: string;
    expired: boolean;
  }[];
  /** The grants held here (SPEC §12.3); absent in exports made before grants existed. */
  grants?: GrantState[];
}

export type { Decision };
