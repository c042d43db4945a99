/**
 * Check, consume, release, reserve and settle (SPEC §5.3). Errors come in the order of §11: body shape (the
 * route's schema), then `unknown_entitlement`, then `invalid_amount`, then the decision from the object.
 */
import { refusalDecision } from "../domain/decision";
import { DEFAULT_HOLD_TTL_MS, MAX_HOLD_TTL_MS } from "../domain/holds";
import type { Decision } from "../domain/types";
import { entitlementDefinition, normaliseAmount } from "../objects/amounts";
import type { MeterOp } from "../objects/contract";
import { withCustomer } from "../objects/directory";
import type { ActivePolicy } from "../policy/store";
import { parseDuration } from "../policy/units";
import { customerNotFound, unwrap } from "./customer-service";
import { ApiError, invalidRequest } from "./errors";

/** A metering body after schema validation. */
export interface MeterBody {
  customer: string;
  entitlement?: string;
  amount?: number | string;
  holdId?: string;
  ttl?: number | string;
  idempotencyKey?: string;
}

function parseTtl(ttl: number | string | undefined): number {
  if (ttl === undefined) return DEFAULT_HOLD_TTL_MS;
  const parsed = parseDuration(ttl);
  if (!parsed.ok) throw invalidRequest([{ path: "ttl", message: parsed.message }]);
  if (parsed.value > MAX_HOLD_TTL_MS)
    throw invalidRequest([{ path: "ttl", message: "must be at most 7 days" }]);
  return parsed.value;
}

/** Run one metering call and answer its decision (denials included). */
export async function meter(env: Env, op: MeterOp, body: MeterBody, active: ActivePolicy): Promise<Decision> {
  const entitlement = body.entitlement ?? null;
  if (op !== "settle" && (entitlement === null || !active.policy.entitlementNames.has(entitlement))) {
    throw new ApiError("unknown_entitlement", `entitlement ${entitlement} is in no plan of the policy`);
  }
  const def = entitlement === null ? undefined : entitlementDefinition(active.policy, entitlement);
  // A settle's credit is its hold's, known only to the object: strings are checked there.
  const early = op === "settle" && typeof body.amount === "string" ? null : (body.amount ?? null);
  const amount = normaliseAmount(early, def);
  if (!amount.ok) throw new ApiError("invalid_amount", amount.message);
  // A hold of nothing only takes a place among the object's live holds (SPEC §11 "Bounds").
  if (op === "reserve" && amount.amount === 0) {
    throw new ApiError("invalid_amount", "a reserve's amount must be greater than 0");
  }
  const ttlMs = op === "reserve" ? parseTtl(body.ttl) : null;
  const result = await withCustomer(env, body.customer, (stub, alternateId) =>
    stub.meter({
      op,
      presentedAlternateId: alternateId,
      entitlement,
      amount: body.amount ?? null,
      holdId: body.holdId ?? null,
      ttlMs,
      idempotencyKey: body.idempotencyKey ?? null,
      policyVersion: active.version,
    }),
  );
  if (result.kind === "unknown") {
    return refusalDecision({
      customer: body.customer,
      entitlement: entitlement ?? "",
      reason: "unknown_customer",
      message: `customer ${body.customer} not found`,
      plan: null,
      meteredOn: null,
      amount: amount.amount ?? def?.limit?.increment ?? 1,
      policyVersion: active.version,
    });
  }
  return unwrap(result, customerNotFound(body.customer));
}
