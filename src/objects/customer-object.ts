import { DurableObject } from "cloudflare:workers";
import { EXPIRED_HOLD_RETENTION_MS, expireHold, isHoldForgotten } from "../domain/holds";
import { routeEntitlement, routeOrgEntitlement } from "../domain/plans";
import type { CompiledEntitlement, CompiledPolicy, CustomerRecord, Decision, Hold } from "../domain/types";
import { loadPolicyVersion } from "../policy/store";
import { type WebhookConfig, webhookConfig } from "../webhooks/config";
import { claimAlternateIds, releaseAlternateIds } from "./alternate-ids";
import { entitlementDefinition, normaliseAmount } from "./amounts";
import type {
  CustomerIdentity,
  CustomerPatch,
  CustomerState,
  CustomerView,
  EventPage,
  MemberCall,
  MemberSettle,
  MeterCall,
  OrgInfo,
  RpcError,
  RpcResult,
} from "./contract";
import { CustomerStore } from "./customer-store";
import {
  fingerprintOf,
  meterLocally,
  newHoldId,
  refuseLocally,
  rememberIdempotent,
  replayIdempotent,
  replaySettle,
} from "./object-metering";
import { buildView, clearAllUsage, decodeState, exportState, mergeRecord } from "./object-records";
import { deliverDue } from "./outbox";

const UNKNOWN = { kind: "unknown" } as const;

function policyUnavailable(): RpcError {
  return { kind: "error", status: 503, code: "policy_unavailable", message: "no valid policy is loaded" };
}

/** One customer's record, meters, holds, idempotency keys and event log (SPEC §3, §4). RPC methods only. */
export class CustomerObject extends DurableObject<Env> {
  private readonly store: CustomerStore;
  /** Alternate-ID changes run one after another (see `exclusive`). */
  private alternateIdLock: Promise<unknown> = Promise.resolve();
  /** IDs being claimed right now, before the record lists them. */
  private readonly claiming = new Set<string>();

  private readonly webhooks: WebhookConfig;
  /** The alarm time this instance last set, so appending events does not set it again and again. */
  private alarmAtMs: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.webhooks = webhookConfig(env);
    this.store = new CustomerStore(ctx.storage, this.webhooks.state !== "off", () => this.wakeOutbox());
  }

  /** New events wait in the outbox: make the alarm run now (it re-arms itself for whatever comes next). */
  private wakeOutbox(): void {
    if (this.webhooks.state !== "on") return;
    const nowMs = Date.now();
    if (this.alarmAtMs !== null && this.alarmAtMs <= nowMs) return;
    this.alarmAtMs = nowMs;
    // Storage writes need no await in a Durable Object: the output gate holds the response until it is durable.
    this.ctx.storage.setAlarm(nowMs).catch((error: unknown) => {
      this.alarmAtMs = null;
      console.error(
        JSON.stringify({ level: "error", msg: "could not set the outbox alarm", error: String(error) }),
      );
    });
  }

  /** Whether a customer lives here. */
  async exists(): Promise<boolean> {
    return this.store.record !== null;
  }

  /** Who lives here, when the presented alternate ID (if any) is still this customer's own. */
  async identify(presentedAlternateId: string | null): Promise<RpcResult<CustomerIdentity>> {
    const record = this.confirm(presentedAlternateId);
    if (record === null) return UNKNOWN;
    return {
      kind: "ok",
      value: {
        id: record.id,
        type: record.type,
        plan: record.plan,
        org: record.org,
        alternateIds: record.alternateIds,
      },
    };
  }

  /** What a member needs from its org: whether it exists and its own plan. */
  async orgInfo(): Promise<OrgInfo> {
    const r = this.store.record;
    return { exists: r !== null, type: r?.type ?? null, plan: r?.plan ?? null };
  }

  private confirm(presentedAlternateId: string | null): CustomerRecord | null {
    const record = this.store.record;
    if (record === null) return null;
    if (presentedAlternateId !== null && !record.alternateIds.includes(presentedAlternateId)) return null;
    return record;
  }

  private orgStub(org: string): DurableObjectStub<CustomerObject> {
    return this.env.CUSTOMERS.get(this.env.CUSTOMERS.idFromName(org));
  }

  /** The org's own plan when a member inherits it; null when it has none or is gone. */
  private async inheritedPlan(record: CustomerRecord): Promise<string | null> {
    if (record.org === null || record.plan !== null) return null;
    const info = await this.orgStub(record.org).orgInfo();
    return info.exists ? info.plan : null;
  }

  /** A metering call on this customer (check, consume, release, reserve, settle). */
  async meter(call: MeterCall): Promise<RpcResult<Decision>> {
    if (this.confirm(call.presentedAlternateId) === null) return UNKNOWN;
    const active = await loadPolicyVersion(this.env, call.policyVersion);
    if (active === null) return policyUnavailable();
    // Confirm again after every await: a delete or an alternate-ID removal may have run meanwhile.
    const current = this.confirm(call.presentedAlternateId);
    if (current === null) return UNKNOWN;
    if (call.op === "settle") return this.settle(current, call, active.policy);
    const entName = call.entitlement ?? "";
    const orgPlan = await this.inheritedPlan(current);
    // Re-read after the await: the record may have changed or gone meanwhile.
    const record = this.confirm(call.presentedAlternateId);
    if (record === null) return UNKNOWN;
    const nowMs = Date.now();
    const route = routeEntitlement(active.policy, record, orgPlan, entName);
    const def =
      route.kind === "local"
        ? route.entitlement
        : ((route.kind === "org" ? route.plan.entitlements.get(entName) : undefined) ??
          entitlementDefinition(active.policy, entName));
    const amount = normaliseAmount(call.amount, def);
    if (!amount.ok) return { kind: "error", status: 400, code: "invalid_amount", message: amount.message };
    const fingerprint = fingerprintOf({
      op: call.op,
      entitlement: entName,
      amount: amount.amount ?? def?.limit?.increment ?? 1,
      ttlMs: call.ttlMs,
      holdId: null,
    });
    const effectiveAmount = amount.amount ?? def?.limit?.increment ?? 1;
    if (route.kind === "refused") {
      return refuseLocally(
        this.store,
        {
          ...route,
          customer: record.id,
          entitlement: entName,
          amount: effectiveAmount,
          policyVersion: active.version,
        },
        call.op,
        call.idempotencyKey,
        fingerprint,
        nowMs,
      );
    }
    if (route.kind === "local") {
      const result = meterLocally(
        this.store,
        active.policy,
        {
          op: call.op,
          customer: record.id,
          meteredOn: record.id,
          plan: route.plan.name,
          entitlement: route.entitlement,
          amount: amount.amount,
          hold: null,
          ttlMs: call.ttlMs,
          idempotencyKey: call.idempotencyKey,
          fingerprint,
        },
        nowMs,
        newHoldId,
      );
      if (call.op === "reserve") await this.scheduleAlarm();
      return result;
    }
    return this.forwardToOrg(
      record,
      route.org,
      route.plan.name,
      call,
      entName,
      amount.amount,
      fingerprint,
      effectiveAmount,
      active.version,
    );
  }

  private async forwardToOrg(
    record: CustomerRecord,
    org: string,
    plan: string,
    call: MeterCall,
    entitlement: string,
    amount: number | null,
    fingerprint: string,
    effectiveAmount: number,
    policyVersion: string,
  ): Promise<RpcResult<Decision>> {
    const replay = replayIdempotent(
      this.store,
      record.id,
      call.idempotencyKey,
      fingerprint,
      call.op,
      Date.now(),
    );
    if (replay !== null) return replay;
    const result = await this.orgStub(org).meterForMember({
      op: call.op,
      member: record.id,
      entitlement,
      amount,
      holdId: call.holdId,
      ttlMs: call.ttlMs,
      idempotencyKey: call.idempotencyKey,
      fingerprint,
      requestedAmount: effectiveAmount,
      policyVersion,
    });
    if (result.kind === "unknown") {
      // The org was deleted: its members have no org now, and decide under their own or the default plan.
      return refuseLocally(
        this.store,
        {
          customer: record.id,
          entitlement,
          reason: "no_org",
          message: `${entitlement} is metered per org and org ${org} no longer exists`,
          plan,
          meteredOn: null,
          amount: effectiveAmount,
          policyVersion,
        },
        call.op,
        call.idempotencyKey,
        fingerprint,
        Date.now(),
      );
    }
    if (result.kind === "ok" && call.idempotencyKey !== null && !result.value.replayed) {
      const decision = result.value;
      this.store.transaction(() =>
        rememberIdempotent(
          this.store,
          record.id,
          call.idempotencyKey,
          fingerprint,
          call.op,
          decision,
          Date.now(),
        ),
      );
    }
    return result;
  }

  /** An org-scoped call from a member: the limit, mode and plan are this org's. */
  async meterForMember(call: MemberCall): Promise<RpcResult<Decision>> {
    if (this.store.record === null) return UNKNOWN;
    const active = await loadPolicyVersion(this.env, call.policyVersion);
    if (active === null) return policyUnavailable();
    // Read after the await: the org may have been deleted meanwhile.
    const record = this.store.record;
    if (record === null) return UNKNOWN;
    const nowMs = Date.now();
    if (call.op === "settle")
      return this.settleHere(
        call.member,
        call.holdId ?? "",
        call.amount,
        call.idempotencyKey,
        active.policy,
        nowMs,
        true,
      ).result;
    const route = routeOrgEntitlement(active.policy, record, call.entitlement);
    if (route.kind !== "local") {
      const reason = route.kind === "refused" ? route.reason : "not_entitled";
      return refuseLocally(
        this.store,
        {
          customer: call.member,
          entitlement: call.entitlement,
          reason,
          message: route.kind === "refused" ? route.message : "",
          plan: route.kind === "refused" ? route.plan : null,
          meteredOn: record.id,
          amount: call.amount ?? call.requestedAmount,
          policyVersion: active.version,
        },
        call.op,
        call.idempotencyKey,
        call.fingerprint,
        nowMs,
      );
    }
    const result = meterLocally(
      this.store,
      active.policy,
      {
        op: call.op,
        customer: call.member,
        meteredOn: record.id,
        plan: route.plan.name,
        entitlement: route.entitlement,
        amount: call.amount,
        hold: null,
        ttlMs: call.ttlMs,
        idempotencyKey: call.idempotencyKey,
        fingerprint: call.fingerprint,
      },
      nowMs,
      newHoldId,
    );
    if (call.op === "reserve") await this.scheduleAlarm();
    return result;
  }

  private async settle(
    record: CustomerRecord,
    call: MeterCall,
    policy: CompiledPolicy,
  ): Promise<RpcResult<Decision>> {
    const holdId = call.holdId ?? "";
    const key = call.idempotencyKey;
    const hold = this.store.holds.get(holdId);
    if (hold !== undefined && hold.customer === record.id) {
      return this.settleHere(record.id, holdId, call.amount, key, policy, Date.now(), false).result;
    }
    // Not a hold of this object's own: keys are this customer's (SPEC §11), so a key it already used answers
    // here first, whether the hold it settled lived on this object or on the org.
    const replay = replaySettle(this.store, policy, record.id, holdId, call.amount, key, Date.now());
    if (replay !== null) return replay;
    if (record.org === null) return holdNotFound(holdId);
    const { result, fingerprint } = await this.orgStub(record.org).settleForMember(
      record.id,
      holdId,
      call.amount,
      key,
      policy.version,
    );
    if (result.kind === "unknown") return holdNotFound(holdId);
    if (result.kind === "ok" && !result.value.replayed && key !== null && fingerprint !== null) {
      const decision = result.value;
      this.store.transaction(() =>
        rememberIdempotent(this.store, record.id, key, fingerprint, "settle", decision, Date.now()),
      );
    }
    return result;
  }

  /** Settle a member's hold kept on this org; answers the fingerprint the member keeps its key under. */
  async settleForMember(
    member: string,
    holdId: string,
    amount: number | string | null,
    idempotencyKey: string | null,
    policyVersion: string,
  ): Promise<MemberSettle> {
    if (this.store.record === null) return { result: UNKNOWN, fingerprint: null };
    const active = await loadPolicyVersion(this.env, policyVersion);
    if (active === null) return { result: policyUnavailable(), fingerprint: null };
    return this.settleHere(member, holdId, amount, idempotencyKey, active.policy, Date.now(), true);
  }

  private settleHere(
    customer: string,
    holdId: string,
    rawAmount: number | string | null,
    key: string | null,
    policy: CompiledPolicy,
    nowMs: number,
    asOrg: boolean,
  ): MemberSettle {
    const record = this.store.record;
    if (record === null) return { result: UNKNOWN, fingerprint: null };
    const hold = this.store.holds.get(holdId);
    if (hold === undefined || hold.customer !== customer) {
      // A replayed settle finds its hold gone: answer from the key before calling it unknown.
      const replay = replaySettle(this.store, policy, customer, holdId, rawAmount, key, nowMs);
      return { result: replay ?? holdNotFound(holdId), fingerprint: null };
    }
    const { plan, ent } = this.holdEntitlement(policy, record, hold, asOrg);
    const amount = normaliseAmount(rawAmount, ent);
    if (!amount.ok) {
      return {
        result: { kind: "error", status: 400, code: "invalid_amount", message: amount.message },
        fingerprint: null,
      };
    }
    const fingerprint = fingerprintOf({
      op: "settle",
      entitlement: hold.entitlement,
      amount: amount.amount ?? hold.amount,
      ttlMs: null,
      holdId,
      heldAmount: hold.amount,
    });
    const result = meterLocally(
      this.store,
      policy,
      {
        op: "settle",
        customer,
        meteredOn: record.id,
        plan,
        entitlement: ent,
        amount: amount.amount,
        hold,
        ttlMs: null,
        idempotencyKey: key,
        fingerprint,
      },
      nowMs,
      newHoldId,
    );
    return { result, fingerprint };
  }

  /** The definition a hold settles under: the current plan's, else any plan's (usage is never dropped). */
  private holdEntitlement(
    policy: CompiledPolicy,
    record: CustomerRecord,
    hold: Hold,
    asOrg: boolean,
  ): { plan: string; ent: CompiledEntitlement } {
    const route = asOrg
      ? routeOrgEntitlement(policy, record, hold.entitlement)
      : routeEntitlement(policy, record, null, hold.entitlement);
    if (route.kind === "local") return { plan: route.plan.name, ent: route.entitlement };
    const ent = entitlementDefinition(policy, hold.entitlement) ?? {
      name: hold.entitlement,
      label: null,
      scope: "customer",
      credit: null,
      limit: { value: 0, mode: "observe", increment: 1, minimum: 0, reset: { kind: "none" }, alerts: [] },
      rate: null,
    };
    return { plan: route.kind === "refused" ? (route.plan ?? "") : route.plan.name, ent };
  }
  /** Set the alarm for the next hold to expire or to forget, or the next webhook delivery due. */
  private async scheduleAlarm(nextDeliveryMs: number | null = null): Promise<void> {
    let next = nextDeliveryMs ?? Number.POSITIVE_INFINITY;
    for (const hold of this.store.holds.values()) {
      next = Math.min(next, hold.expired ? hold.expiresAt + EXPIRED_HOLD_RETENTION_MS : hold.expiresAt);
    }
    if (next === Number.POSITIVE_INFINITY) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next) {
      await this.ctx.storage.setAlarm(next);
      this.alarmAtMs = next;
    } else {
      this.alarmAtMs = current;
    }
  }

  /** Expire due holds (`hold.expired`), forget expired ones after 24 h, prune idempotency keys. */
  override async alarm(): Promise<void> {
    const nowMs = Date.now();
    const record = this.store.record;
    this.store.transaction(() => {
      for (const hold of [...this.store.holds.values()]) {
        if (isHoldForgotten(hold, nowMs)) {
          this.store.deleteHold(hold.id);
          continue;
        }
        const expired = expireHold(this.store.meters.get(hold.entitlement), hold, null, nowMs);
        if (expired === null) continue;
        if (expired.meter !== null) this.store.putMeter(hold.entitlement, expired.meter);
        this.store.putHold(expired.hold);
        this.store.appendEvents([expired.event], hold.customer, record?.id ?? hold.customer, nowMs);
      }
      this.store.pruneIdempotency(nowMs);
    });
    // This run consumed the alarm: whatever is due next is scheduled afresh below.
    this.alarmAtMs = null;
    const nextDelivery = await deliverDue(this.store, this.webhooks);
    await this.scheduleAlarm(nextDelivery);
  }

  /** The customer view, or unknown. */
  async view(
    presentedAlternateId: string | null,
    policyVersion: string | null,
  ): Promise<RpcResult<CustomerView>> {
    const record = this.confirm(presentedAlternateId);
    if (record === null) return UNKNOWN;
    const active = policyVersion === null ? null : await loadPolicyVersion(this.env, policyVersion);
    const orgPlan = await this.inheritedPlan(record);
    const current = this.store.record;
    if (current === null) return UNKNOWN;
    return { kind: "ok", value: buildView(this.store, current, active?.policy ?? null, orgPlan, Date.now()) };
  }

  /**
   * Run a change to the alternate-ID list alone: each one diffs against the list the previous one left, so
   * concurrent changes cannot leave a claim in the index that the record does not list.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.alternateIdLock.then(fn);
    this.alternateIdLock = run.catch(() => undefined);
    return run;
  }

  /** Whether this customer lists `alternateId` or is claiming it now (the index asks before a takeover). */
  async holdsAlternateId(alternateId: string): Promise<boolean> {
    return this.claiming.has(alternateId) || (this.store.record?.alternateIds.includes(alternateId) ?? false);
  }

  /**
   * Move the alternate-ID list to `next`: claim what is new (409 and nothing changed when one is taken), run
   * `write` (which stores the record), then free what is gone. Call inside `exclusive`.
   */
  private async changeAlternateIds(id: string, next: string[], write: () => void): Promise<RpcError | null> {
    const before = this.store.record?.alternateIds ?? [];
    const added = next.filter((a) => !before.includes(a));
    for (const a of added) this.claiming.add(a);
    try {
      const refused = await claimAlternateIds(this.env, id, added);
      if (refused !== null) return refused;
      try {
        write();
      } catch (error) {
        await releaseAlternateIds(this.env, id, added);
        throw error;
      }
    } finally {
      for (const a of added) this.claiming.delete(a);
    }
    await releaseAlternateIds(
      this.env,
      id,
      before.filter((a) => !next.includes(a)),
    );
    return null;
  }

  /** Store the record merged with `patch`, with its events. */
  private writeRecord(id: string, patch: CustomerPatch): void {
    const nowMs = Date.now();
    // Merged with the record as it is now: a plan change may have landed while claims were awaited.
    const { record, events } = mergeRecord(this.store.record, id, patch, nowMs);
    this.store.transaction(() => {
      this.store.putRecord(record);
      this.store.appendEvents(events, id, id, nowMs);
    });
  }

  /** Create or merge the record (the Worker has checked plan and org); claims and frees alternate IDs. */
  async upsert(
    id: string,
    patch: CustomerPatch,
    policyVersion: string | null,
  ): Promise<RpcResult<CustomerView>> {
    return this.exclusive(async () => {
      const current = this.store.record;
      if (current !== null && current.id !== id) {
        return { kind: "error", status: 409, code: "conflict", message: "object holds another customer" };
      }
      const next =
        patch.alternateIds === undefined ? (current?.alternateIds ?? []) : [...new Set(patch.alternateIds)];
      const refused = await this.changeAlternateIds(id, next, () => this.writeRecord(id, patch));
      return refused ?? this.view(null, policyVersion);
    });
  }

  /** Add one alternate ID (a no-op when listed already). */
  async addAlternateId(alternateId: string, policyVersion: string | null): Promise<RpcResult<CustomerView>> {
    return this.exclusive(async () => {
      const current = this.store.record;
      if (current === null) return UNKNOWN;
      if (current.alternateIds.includes(alternateId)) return this.view(null, policyVersion);
      const next = [...current.alternateIds, alternateId];
      const refused = await this.changeAlternateIds(current.id, next, () =>
        this.writeRecord(current.id, { alternateIds: next }),
      );
      return refused ?? this.view(null, policyVersion);
    });
  }

  /** Remove one alternate ID (idempotent). */
  async removeAlternateId(
    alternateId: string,
    policyVersion: string | null,
  ): Promise<RpcResult<CustomerView>> {
    return this.exclusive(async () => {
      const current = this.store.record;
      if (current === null) return UNKNOWN;
      if (!current.alternateIds.includes(alternateId)) return this.view(null, policyVersion);
      const next = current.alternateIds.filter((a) => a !== alternateId);
      await this.changeAlternateIds(current.id, next, () =>
        this.writeRecord(current.id, { alternateIds: next }),
      );
      return this.view(null, policyVersion);
    });
  }

  /** `PUT /v1/customers/:id/plan`. */
  async changePlan(
    plan: string | null,
    keepUsage: boolean,
    policyVersion: string | null,
  ): Promise<RpcResult<CustomerView>> {
    const current = this.store.record;
    if (current === null) return UNKNOWN;
    const nowMs = Date.now();
    const record = { ...current, plan, updatedAt: nowMs };
    this.store.transaction(() => {
      this.store.putRecord(record);
      const events = [
        { type: "customer.plan_changed" as const, data: { from: current.plan, to: plan, keepUsage } },
        ...(keepUsage ? [] : clearAllUsage(this.store, plan)),
      ];
      this.store.appendEvents(events, current.id, current.id, nowMs);
    });
    return this.view(null, policyVersion);
  }

  /**
   * Delete the customer: record, meters, holds and keys go, its alternate IDs are freed; `customer.deleted`
   * stays in the log. Answers the IDs it held.
   */
  async remove(): Promise<RpcResult<string[]>> {
    return this.exclusive(async () => {
      const current = this.store.record;
      if (current === null) return UNKNOWN;
      await this.changeAlternateIds(current.id, [], () => {
        const nowMs = Date.now();
        this.store.transaction(() => {
          this.store.clearCustomer();
          this.store.appendEvents(
            [{ type: "customer.deleted", data: { id: current.id } }],
            current.id,
            current.id,
            nowMs,
          );
        });
      });
      // Holds are gone; the alarm stays only while the outbox (customer.deleted included) has events to send.
      await this.ctx.storage.deleteAlarm();
      this.alarmAtMs = null;
      if (this.store.nextPending() !== null) this.wakeOutbox();
      return { kind: "ok", value: current.alternateIds };
    });
  }

  /** The serialised state (format 1). */
  async exportState(presentedAlternateId: string | null): Promise<RpcResult<CustomerState>> {
    const record = this.confirm(presentedAlternateId);
    if (record === null) return UNKNOWN;
    return { kind: "ok", value: exportState(this.store, record) };
  }

  /** Overwrite this object's record, meters and holds with a state document. */
  async importState(state: CustomerState, policyVersion: string | null): Promise<RpcResult<CustomerView>> {
    return this.exclusive(async () => {
      const decoded = decodeState(state);
      const id = decoded.record.id;
      const current = this.store.record;
      if (current !== null && current.id !== id) {
        return { kind: "error", status: 409, code: "conflict", message: "object holds another customer" };
      }
      decoded.record.alternateIds = [...new Set(decoded.record.alternateIds)];
      const refused = await this.changeAlternateIds(id, decoded.record.alternateIds, () => {
        const nowMs = Date.now();
        const type = this.store.record !== null ? "customer.updated" : "customer.created";
        this.store.transaction(() => {
          this.store.clearCustomer();
          this.store.putRecord(decoded.record);
          for (const [name, meter] of decoded.meters) this.store.putMeter(name, meter);
          for (const hold of decoded.holds) this.store.putHold(hold);
          this.store.appendEvents([{ type, data: { restored: true, id } }], id, id, nowMs);
        });
      });
      if (refused !== null) return refused;
      await this.scheduleAlarm();
      return this.view(null, policyVersion);
    });
  }

  /** A page of the event log. */
  async listEvents(
    presentedAlternateId: string | null,
    after: number,
    limit: number,
  ): Promise<RpcResult<EventPage>> {
    if (this.confirm(presentedAlternateId) === null) return UNKNOWN;
    const page = this.store.listEvents(after, limit);
    const last = page.events.at(-1);
    return {
      kind: "ok",
      value: { events: page.events, next: page.more && last !== undefined ? last.seq : null },
    };
  }
}

function holdNotFound(holdId: string): RpcError {
  return { kind: "error", status: 404, code: "hold_not_found", message: `hold ${holdId} not found` };
}
