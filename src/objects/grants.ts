/**
 * Grants on their meter owner's object (SPEC §12.3): top-ups bought (idempotent) or included by the plan,
 * listed, revoked; the lifecycle applied lazily (a read computes it, a write stores it with its events); and
 * the margin report of §12.5. Metering draws grants in src/objects/metering/pipeline.ts.
 */
import { createGrant, type MarginInput, type MarginReport, marginOf } from "../domain/money";
import { advancePeriod, emptyMeter } from "../domain/periods";
import { fail } from "../errors/catalogue";
import { type CustomerView, type GrantView, ok, type Result, unknownCustomer } from "./contract";
import { type CustomerContext, confirmRecord, inheritedPlan } from "./customer-context";
import {
  effectivePlanOf,
  grantedEvent,
  grantsAsOf,
  grantView,
  newGrantId,
  revokedData,
  setOwn,
  writeGrants,
} from "./grant-records";
import { viewCustomer } from "./record-reads";

/** `POST /v1/customers/:id/topups`: one grant from a top-up of the effective plan; a used key applies once. */
export async function buyTopup(
  context: CustomerContext,
  presentedAlternateId: string | null,
  topupName: string,
  idempotencyKey: string | null,
  policyVersion: string,
): Promise<Result<{ grant: GrantView; customer: CustomerView }>> {
  const active = await context.ports.policies.load(policyVersion);
  if (active === null) return fail("policy_unavailable");
  const orgPlan = await inheritedPlan(context, context.store.record);
  const record = confirmRecord(context, presentedAlternateId);
  if (record === null) return unknownCustomer();
  const { store } = context;
  const nowMs = context.ports.clock.nowMs();
  const fingerprint = `topup\n${topupName}`;
  let grant: GrantView;
  const used = idempotencyKey === null ? null : store.getIdempotency(record.id, idempotencyKey, nowMs);
  if (used !== null) {
    if (used.fingerprint !== fingerprint) return fail("idempotency_key_reused");
    grant = JSON.parse(used.response) as GrantView;
  } else {
    const plan = effectivePlanOf(active.policy, record, orgPlan);
    const topup = plan === null ? undefined : active.policy.money.topups.get(plan)?.get(topupName);
    if (topup === undefined)
      return fail("unknown_topup", `plan ${plan ?? "(none)"} has no top-up named ${topupName}`);
    const created = createGrant(topup, newGrantId(), nowMs);
    grant = grantView(created);
    store.transaction(() => {
      writeGrants(store, record.id, nowMs, (grants) => ({
        grants: [...grants, created],
        events: [grantedEvent(created, topup.price)],
      }));
      if (idempotencyKey !== null)
        store.putIdempotency(record.id, idempotencyKey, fingerprint, JSON.stringify(grant), nowMs);
    });
  }
  const view = await viewCustomer(context, null, policyVersion);
  return view.ok ? ok({ grant, customer: view.value }) : view;
}

/** `GET /v1/customers/:id/grants`: the live grants as of now (nothing stored). */
export function listGrants(
  context: CustomerContext,
  presentedAlternateId: string | null,
): Result<{ grants: GrantView[] }> {
  if (confirmRecord(context, presentedAlternateId) === null) return unknownCustomer();
  return ok({ grants: grantsAsOf(context.store, context.ports.clock.nowMs()).map(grantView) });
}

/** `DELETE /v1/customers/:id/grants/:grantId` (`grant.revoked`); an unknown or gone grant is not found. */
export function revokeGrant(
  context: CustomerContext,
  presentedAlternateId: string | null,
  grantId: string,
): Result<null> {
  const record = confirmRecord(context, presentedAlternateId);
  if (record === null) return unknownCustomer();
  const { store } = context;
  const nowMs = context.ports.clock.nowMs();
  if (!grantsAsOf(store, nowMs).some((g) => g.id === grantId)) return fail("grant_not_found");
  store.transaction(() =>
    writeGrants(store, record.id, nowMs, (grants) => {
      const gone = grants.find((g) => g.id === grantId);
      return {
        grants: grants.filter((g) => g.id !== grantId),
        events: gone === undefined ? [] : [{ type: "grant.revoked", data: revokedData(gone) }],
      };
    }),
  );
  return ok(null);
}

/** `GET /v1/customers/:id/margin` (SPEC §12.5): the effective plan's limits metered here, current periods. */
export async function customerMargin(
  context: CustomerContext,
  presentedAlternateId: string | null,
  policyVersion: string,
): Promise<Result<MarginReport>> {
  const active = await context.ports.policies.load(policyVersion);
  if (active === null) return fail("policy_unavailable");
  const orgPlan = await inheritedPlan(context, context.store.record);
  const record = confirmRecord(context, presentedAlternateId);
  if (record === null) return unknownCustomer();
  const policy = active.policy;
  const plan = effectivePlanOf(policy, record, orgPlan);
  const nowMs = context.ports.clock.nowMs();
  const inputs: MarginInput[] = [];
  for (const ent of (plan === null ? undefined : policy.plans.get(plan))?.entitlements.values() ?? []) {
    if (ent.limit === null || (ent.scope === "org" && record.type !== "org")) continue;
    const meter = advancePeriod(
      context.store.meters.get(ent.name) ?? emptyMeter(),
      ent.limit,
      nowMs,
      false,
    ).meter;
    inputs.push({
      entitlement: ent.name,
      used: meter.used,
      limit: ent.limit.value,
      overhead: meter.overhead ?? 0,
      route: policy.money.routes.get(ent.credit?.name ?? ""),
    });
  }
  const report = marginOf(inputs);
  // A plain object (the domain's has no prototype, which RPC cannot carry).
  const entitlements: MarginReport["entitlements"] = {};
  for (const [name, line] of Object.entries(report.entitlements)) setOwn(entitlements, name, line);
  return ok({ ...report, entitlements });
}
