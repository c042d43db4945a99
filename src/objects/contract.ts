/**
 * The shapes that cross the Worker ↔ Durable Object RPC boundary. RPC drops custom error classes, so objects
 * answer with values: a result, `unknown` (no such customer here), or an error the Worker turns into ApiError.
 */
import type { Decision, StoredEvent } from "../domain/types";
import type { MeterView } from "../domain/view";
import type { EventDelivery } from "./customer-store";

export type RpcError = {
  kind: "error";
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
};
export type Unknown = { kind: "unknown" };
export type RpcResult<T> = { kind: "ok"; value: T } | Unknown | RpcError;

/** The answer of an object where no such customer lives. */
export const UNKNOWN = { kind: "unknown" } as const;

/** `503 policy_unavailable`: the policy version the Worker named cannot be loaded. */
export function policyUnavailable(): RpcError {
  return { kind: "error", status: 503, code: "policy_unavailable", message: "no valid policy is loaded" };
}

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
  ttlMs: number;
  policyVersion: string;
}

/** Both decisions of the gateway's pre-forward step. */
export interface GatewayReserve {
  reserved: Decision;
  /** The `gateway.requests` consume; null when not counted (no such meter, or the reserve was refused). */
  counted: RpcResult<Decision> | null;
  /** The reserve's cancel (settle 0) after a refused count; null when nothing was cancelled. */
  cancelled: RpcResult<Decision> | null;
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
  result: RpcResult<Decision>;
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

/** What an org tells a member about itself. */
export interface OrgInfo {
  exists: boolean;
  type: string | null;
  plan: string | null;
}

export interface EventPage {
  /** Each event with where it stands in the webhook outbox. */
  events: (StoredEvent & { delivery: EventDelivery })[];
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
}

export type { Decision };
