import { DurableObject } from "cloudflare:workers";
import type { MarginReport } from "../domain/money";
import type { Decision } from "../domain/types";
import { webhookConfig } from "../webhooks/config";
import { isHeldOrClaimed } from "./alternate-ids";
import type {
  CustomerIdentity,
  CustomerPatch,
  CustomerState,
  CustomerView,
  EventPage,
  GatewayReserve,
  GatewayReserveCall,
  GrantView,
  MemberSettle,
  MemberSettleCall,
  MeterCall,
  OrgInfo,
  Result,
} from "./contract";
import { CustomerAlarm } from "./customer-alarm";
import { type CustomerContext, createCustomerContext } from "./customer-context";
import { CustomerStore, type ListedEvent } from "./customer-store";
import { buyTopup, customerMargin, listGrants, revokeGrant } from "./grants";
import { reserveForGateway } from "./metering/gateway-reserve";
import { meterMember } from "./metering/member-calls";
import { meterCustomer } from "./metering/pipeline";
import { settleCustomer, settleMember } from "./metering/settle";
import { addMember, isMemberOf, removeMember } from "./org-members";
import type { AnalyticsPort, AssumingMemberCall } from "./ports";
import {
  changeCustomerPlan,
  deleteCustomer,
  importCustomerState,
  setAlternateIdListed,
  upsertCustomer,
} from "./record-changes";
import {
  describeOrg,
  exportCustomerState,
  identifyCustomer,
  listCustomerEvents,
  viewCustomer,
} from "./record-reads";
import { redeliverEvent } from "./redelivery";
import { d1AnalyticsPort, kvPolicyPort, stubDirectoryPort, stubOrgPort, systemClock } from "./stub-ports";

/**
 * One customer's record, meters, holds, idempotency keys and event log (SPEC §3, §4). RPC methods only, each
 * delegating to the module that owns its concept; the state they share is one `CustomerContext`.
 */
export class CustomerObject extends DurableObject<Env> {
  private readonly context: CustomerContext;
  private readonly alarms: CustomerAlarm;
  /** The read model the alarm projects events to (SPEC §13.1); null without an `ANALYTICS` binding. */
  private analytics: AnalyticsPort | null;

  /** Loads the store from SQLite and wires the real ports (stubs of CUSTOMERS and ALTERNATE_IDS, KV, the clock). */
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const webhooks = webhookConfig(env);
    const clock = systemClock;
    // Only with webhooks on do new events enter the outbox; off or misconfigured, they are `skipped` (SPEC §7).
    const store = new CustomerStore(ctx.storage, webhooks.state === "on", () =>
      this.alarms.onEventsAppended(),
    );
    this.analytics = d1AnalyticsPort(env);
    this.alarms = new CustomerAlarm(ctx.storage, store, webhooks, clock, () => this.analytics);
    this.context = createCustomerContext(store, webhooks, ctx.id.toString(), {
      org: stubOrgPort(env),
      directory: stubDirectoryPort(env),
      policies: kvPolicyPort(env),
      clock,
      alarm: this.alarms,
    });
  }

  /** Whether a customer lives here. */
  async exists(): Promise<boolean> {
    return this.context.store.record !== null;
  }

  /** Who lives here, when the presented alternate ID (if any) is still this customer's own. */
  async identify(presentedAlternateId: string | null): Promise<Result<CustomerIdentity>> {
    return identifyCustomer(this.context, presentedAlternateId);
  }

  /** What a member needs from its org: whether it exists and its own plan. */
  async orgInfo(): Promise<OrgInfo> {
    return describeOrg(this.context);
  }

  /** A metering call on this customer (check, consume, release, reserve, settle). */
  async meter(call: MeterCall): Promise<Result<Decision>> {
    const work =
      call.op === "settle" ? settleCustomer(this.context, call) : meterCustomer(this.context, call);
    return this.alarms.armForStoredKeys(work);
  }

  /** The gateway's pre-forward step: reserve the model's tokens, count 1 request, cancel if that is refused. */
  async gatewayReserve(call: GatewayReserveCall): Promise<Result<GatewayReserve>> {
    return this.alarms.armForStoredKeys(reserveForGateway(this.context, call));
  }

  /** An org-scoped call from a member: the limit, mode and plan are this org's. */
  async meterForMember(call: AssumingMemberCall): Promise<Result<Decision>> {
    return this.alarms.armForStoredKeys(meterMember(this.context, call));
  }

  /** Settle a member's hold kept on this org; answers the fingerprint the member keeps its key under. */
  async settleForMember(call: MemberSettleCall): Promise<MemberSettle> {
    return this.alarms.armForStoredKeys(settleMember(this.context, call));
  }

  /** Expire due holds (`hold.expired`), forget expired ones after 24 h, prune idempotency keys, deliver events. */
  override async alarm(): Promise<void> {
    await this.alarms.run();
  }

  /** The customer view, or unknown. */
  async view(
    presentedAlternateId: string | null,
    policyVersion: string | null,
  ): Promise<Result<CustomerView>> {
    return viewCustomer(this.context, presentedAlternateId, policyVersion);
  }

  /** Whether this customer lists `alternateId` or is claiming it now (the index asks before a takeover). */
  async holdsAlternateId(alternateId: string): Promise<boolean> {
    return isHeldOrClaimed(this.context, alternateId);
  }

  /** On an org: register a member before its record names this org; false when this is not an org. */
  async addMember(member: string): Promise<boolean> {
    return addMember(this.context, member);
  }

  /** On an org: forget a member that left (or whose join failed). */
  async removeMember(member: string): Promise<void> {
    removeMember(this.context, member);
  }

  /** On a member: whether it belongs to `org` or is joining it now (the org asks before it changes type). */
  async isMemberOf(org: string): Promise<boolean> {
    return isMemberOf(this.context, org);
  }

  /** Create or merge the record (the Worker has checked plan and org); claims and frees alternate IDs. */
  async upsert(
    id: string,
    patch: CustomerPatch,
    policyVersion: string | null,
  ): Promise<Result<CustomerView>> {
    return upsertCustomer(this.context, id, patch, policyVersion);
  }

  /** Add one alternate ID (a no-op when listed already). */
  async addAlternateId(alternateId: string, policyVersion: string | null): Promise<Result<CustomerView>> {
    return setAlternateIdListed(this.context, alternateId, true, policyVersion);
  }

  /** Remove one alternate ID (idempotent). */
  async removeAlternateId(alternateId: string, policyVersion: string | null): Promise<Result<CustomerView>> {
    return setAlternateIdListed(this.context, alternateId, false, policyVersion);
  }

  /** `PUT /v1/customers/:id/plan`. */
  async changePlan(
    plan: string | null,
    keepUsage: boolean,
    policyVersion: string | null,
  ): Promise<Result<CustomerView>> {
    return changeCustomerPlan(this.context, plan, keepUsage, policyVersion);
  }

  /**
   * Delete the customer: record, meters, holds and keys go, its alternate IDs are freed; `customer.deleted`
   * stays in the log. Answers the IDs it held.
   */
  async remove(): Promise<Result<string[]>> {
    return deleteCustomer(this.context);
  }

  /** The serialised state (format 1). */
  async exportState(presentedAlternateId: string | null): Promise<Result<CustomerState>> {
    return exportCustomerState(this.context, presentedAlternateId);
  }

  /** Overwrite this object's record, meters and holds with a state document. */
  async importState(state: CustomerState, policyVersion: string | null): Promise<Result<CustomerView>> {
    return importCustomerState(this.context, state, policyVersion);
  }

  /** Apply one of the effective plan's top-ups as a new grant (SPEC §12.3); a used key applies it once. */
  async buyTopup(
    presentedAlternateId: string | null,
    topup: string,
    idempotencyKey: string | null,
    policyVersion: string,
  ): Promise<Result<{ grant: GrantView; customer: CustomerView }>> {
    return buyTopup(this.context, presentedAlternateId, topup, idempotencyKey, policyVersion);
  }

  /** The live grants, as of now. */
  async listGrants(presentedAlternateId: string | null): Promise<Result<{ grants: GrantView[] }>> {
    return listGrants(this.context, presentedAlternateId);
  }

  /** Revoke one grant (`grant.revoked`). */
  async revokeGrant(presentedAlternateId: string | null, grantId: string): Promise<Result<null>> {
    return revokeGrant(this.context, presentedAlternateId, grantId);
  }

  /** Revenue, cost and margin of the current periods (SPEC §12.5). */
  async margin(presentedAlternateId: string | null, policyVersion: string): Promise<Result<MarginReport>> {
    return customerMargin(this.context, presentedAlternateId, policyVersion);
  }

  /** A page of the event log. */
  async listEvents(
    presentedAlternateId: string | null,
    after: number,
    limit: number,
  ): Promise<Result<EventPage>> {
    return listCustomerEvents(this.context, presentedAlternateId, after, limit);
  }

  /** Queue a failed or delivered event again; answers it with its new delivery state (SPEC §7). */
  async redeliverEvent(presentedAlternateId: string | null, seq: number): Promise<Result<ListedEvent>> {
    return redeliverEvent(this.context, presentedAlternateId, seq);
  }
}
