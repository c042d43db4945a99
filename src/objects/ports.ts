/**
 * What a customer object's modules need from outside the object, as interfaces (STYLE.md "Objects talk through
 * ports"). `CustomerObject`'s constructor wires the real ones (src/objects/stub-ports.ts, src/objects/
 * customer-alarm.ts); a test may pass fakes. Modules import these types, never another object's stub.
 */
import type { ProjectionItem } from "../analytics/types";
import type { ActivePolicy } from "../policy/store";
import type {
  ClaimResult,
  Decision,
  MemberCall,
  MemberSettle,
  MemberSettleCall,
  OrgInfo,
  Result,
} from "./contract";

/** The time decisions are made at. */
export interface Clock {
  nowMs(): number;
}

/** The compiled policy a call names. */
export interface PolicyPort {
  /** The version the Worker named (or the newest held, or the last good one); null when none loads. */
  load(version: string): Promise<ActivePolicy | null>;
}

/**
 * Where an org's member hold is kept: the org by its id, or (a member hold's id names it) the org's object by
 * its object id, which still answers after the member moved.
 */
export type OrgRef = { org: string } | { objectId: string };

/**
 * A member's org-scoped call with, when the member routed it on the org's plan as it last heard of it, that
 * plan: the org answers `customer_not_found` when its own plan is another (or it is gone), and the member
 * asks for the org's plan afresh and routes the call again. So the common call costs one hop, not two.
 */
export type AssumingMemberCall = MemberCall & { assumedOrgPlan?: string | null };

/** A member's calls to its org's object (SPEC §3.3): the org is the serialisation point of its meters. */
export interface OrgPort {
  info(org: string): Promise<OrgInfo>;
  meterForMember(org: string, call: AssumingMemberCall): Promise<Result<Decision>>;
  /** `customer_not_found` when the org is gone or `ref` names no object of this namespace. */
  settleForMember(ref: OrgRef, call: MemberSettleCall): Promise<MemberSettle>;
  /** Register `member` with `org`; false when `org` is not (or no longer) an org. */
  addMember(org: string, member: string): Promise<boolean>;
  removeMember(org: string, member: string): Promise<void>;
}

/** Other customers' objects and the alternate-ID index, as a customer's record changes need them. */
export interface DirectoryPort {
  /** Whether a customer lives under this canonical id. */
  isCustomer(id: string): Promise<boolean>;
  /** Whether `member` belongs to `org` or is joining it now. */
  isMemberOf(member: string, org: string): Promise<boolean>;
  /** Claim `alternateId` for `customer` in its index object (`canonical`: it is `customer`'s own id). */
  claim(alternateId: string, customer: string, canonical?: boolean): Promise<ClaimResult>;
  /** Free `alternateId` in the index if `customer` holds it. */
  release(alternateId: string, customer: string): Promise<void>;
}

/** The object's one alarm, as modules that change holds or events need it (src/objects/customer-alarm.ts). */
export interface AlarmPort {
  /** Arm the alarm for the next hold to expire and the next key to prune (after a reserve, a restore). */
  schedule(): Promise<void>;
  /** New or requeued events wait in the outbox: run the alarm now. */
  wakeOutbox(): void;
  /** After a delete: holds are gone; keep the alarm only for events still to send and for retention. */
  afterDelete(): Promise<void>;
}

/**
 * The D1 read model (SPEC §13.1), as the projection writes it (src/objects/projection.ts). The real one is
 * src/analytics/projection-writer.ts over the `ANALYTICS` binding; tests pass one that fails.
 */
export interface AnalyticsPort {
  /** Write these events' rows, all or nothing; rejects when the read model cannot take them now. */
  project(items: readonly ProjectionItem[]): Promise<void>;
}
