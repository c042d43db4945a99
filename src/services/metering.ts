/**
 * Check, consume, release, reserve and settle (SPEC §5.3), for every edge: the admin API's `/v1/<op>` routes
 * and the Workers RPC entrypoint. The Worker checks the body's shape (the operation's schema, the hold's ttl)
 * and forwards; the customer's object decides the rest in SPEC §11's order (`unknown_entitlement`, then
 * `invalid_amount`, then the decision: src/objects/metering/). Failures are values; each edge renders them.
 */
import { DEFAULT_HOLD_TTL_MS, MAX_HOLD_TTL_MS } from "../domain/holds";
import type { Decision } from "../domain/types";
import { type Failure, fail } from "../errors/catalogue";
import { isUnknown, type MeterOp, type Result } from "../objects/contract";
import { withCustomer } from "../objects/directory";
import { unknownCustomerDecision } from "../objects/metering/normalise";
import { type ActivePolicy, type Background, getActivePolicy } from "../policy/store";
import { parseDuration } from "../policy/units";
import { type Issue, type MeterBody, meterBodySchemas, toIssues } from "./request-schemas";

/** `invalid_request` with `details.issues`. */
export function invalidRequestFailure(issues: Issue[]): Failure {
  return fail("invalid_request", undefined, { issues });
}

function parseTtl(ttl: number | string | undefined): Result<number> {
  if (ttl === undefined) return { ok: true, value: DEFAULT_HOLD_TTL_MS };
  const parsed = parseDuration(ttl);
  if (!parsed.ok) return invalidRequestFailure([{ path: "ttl", message: parsed.message }]);
  if (parsed.value > MAX_HOLD_TTL_MS)
    return invalidRequestFailure([{ path: "ttl", message: "must be at most 7 days" }]);
  return { ok: true, value: parsed.value };
}

/** Run one metering call on a validated body: its decision (denials included), or the failure. */
export async function meter(
  env: Env,
  op: MeterOp,
  body: MeterBody,
  active: ActivePolicy,
): Promise<Result<Decision>> {
  const ttl = op === "reserve" ? parseTtl(body.ttl) : null;
  if (ttl !== null && !ttl.ok) return ttl;
  const call = {
    op,
    entitlement: body.entitlement ?? null,
    amount: body.amount ?? null,
    holdId: body.holdId ?? null,
    ttlMs: ttl === null ? null : ttl.value,
    idempotencyKey: body.idempotencyKey ?? null,
    policyVersion: active.version,
  };
  const result = await withCustomer(env, body.customer, (stub, presentedAlternateId) =>
    stub.meter({ ...call, presentedAlternateId }),
  );
  // No object holds this customer: the decision is a refusal, after the same checks an object makes.
  if (!isUnknown(result)) return result;
  const decided = unknownCustomerDecision(active.policy, active.version, body.customer, call);
  return isUnknown(decided) ? fail("customer_not_found", `customer ${body.customer} not found`) : decided;
}

/**
 * One metering call from an untrusted value (an edge without a body reader of its own): the operation's
 * schema (`invalid_request` with `details.issues`), the active policy (`policy_unavailable`), then `meter`.
 */
export async function meterUnchecked(
  env: Env,
  op: MeterOp,
  input: unknown,
  background?: Background,
): Promise<Result<Decision>> {
  const parsed = meterBodySchemas[op].safeParse(input);
  if (!parsed.success) return invalidRequestFailure(toIssues(parsed.error));
  const active = await getActivePolicy(env, Date.now(), background);
  if (active === null) return fail("policy_unavailable");
  return meter(env, op, parsed.data, active);
}
