/**
 * Check, consume, release, reserve and settle (SPEC §5.3). The Worker checks the body's shape (the route's
 * schema, the hold's ttl) and forwards; the customer's object decides the rest in SPEC §11's order
 * (`unknown_entitlement`, then `invalid_amount`, then the decision: src/objects/metering/).
 */
import { DEFAULT_HOLD_TTL_MS, MAX_HOLD_TTL_MS } from "../domain/holds";
import type { Decision } from "../domain/types";
import { isUnknown, type MeterOp } from "../objects/contract";
import { withCustomer } from "../objects/directory";
import { unknownCustomerDecision } from "../objects/metering/normalise";
import type { ActivePolicy } from "../policy/store";
import { parseDuration } from "../policy/units";
import { customerNotFound, unwrap } from "./customer-service";
import { invalidRequest } from "./errors";

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
  const call = {
    op,
    entitlement: body.entitlement ?? null,
    amount: body.amount ?? null,
    holdId: body.holdId ?? null,
    ttlMs: op === "reserve" ? parseTtl(body.ttl) : null,
    idempotencyKey: body.idempotencyKey ?? null,
    policyVersion: active.version,
  };
  const result = await withCustomer(env, body.customer, (stub, presentedAlternateId) =>
    stub.meter({ ...call, presentedAlternateId }),
  );
  // No object holds this customer: the decision is a refusal, after the same checks an object makes.
  const decided = isUnknown(result)
    ? unknownCustomerDecision(active.policy, active.version, body.customer, call)
    : result;
  return unwrap(decided, customerNotFound(body.customer));
}
