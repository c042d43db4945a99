/**
 * The gateway's pre-forward step in one call to the customer's object (SPEC §6, §11, §12.4): reserve the
 * model's entitlement, reserve the estimated cost on `gateway.spend`, then consume 1 of `gateway.requests`;
 * any refusal cancels (settles 0) what was reserved before it, here, so the gateway gets one flat answer. Each
 * step is an ordinary metering call, so org-scoped entitlements go to the org exactly as they do alone.
 */
import type { Decision } from "../../domain/types";
import { type GatewayReserve, type GatewayReserveCall, type MeterCall, ok, type Result } from "../contract";
import type { CustomerContext } from "../customer-context";
import { meterCustomer } from "./pipeline";
import { settleCustomer } from "./settle";

function meterCall(op: MeterCall["op"], policyVersion: string): MeterCall {
  return {
    op,
    presentedAlternateId: null,
    entitlement: null,
    amount: null,
    holdId: null,
    ttlMs: null,
    idempotencyKey: null,
    policyVersion,
  };
}

/**
 * Reserve, reserve the spend, count, and cancel what was reserved when a later step is refused or fails.
 * `customer_not_found` only when the key is not this customer's (nothing was written, so the caller may
 * resolve again); once the first reserve is decided, later steps run on this customer regardless of the key,
 * as the holds' settles will. The gateway's values are valid by construction, so the admin API's input checks
 * are skipped (`check: false`).
 */
export async function reserveForGateway(
  context: CustomerContext,
  call: GatewayReserveCall,
): Promise<Result<GatewayReserve>> {
  const { policyVersion } = call;
  const reserve = await meterCustomer(
    context,
    {
      ...meterCall("reserve", policyVersion),
      presentedAlternateId: call.presentedAlternateId,
      entitlement: call.entitlement,
      amount: call.amount,
      ttlMs: call.ttlMs,
    },
    false,
  );
  if (!reserve.ok) return reserve;
  let reserved = reserve.value;
  if (!reserved.allowed) return ok({ reserved, spent: null, counted: null });
  let spent: Decision | null = null;
  if (call.spend != null) {
    const spend = {
      ...meterCall("reserve", policyVersion),
      entitlement: call.spend.entitlement,
      amount: call.spend.amount,
      ttlMs: call.ttlMs,
    };
    const result = await meterCustomer(context, spend, false);
    if (!result.ok || !result.value.allowed) {
      reserved = await cancel(context, reserved, policyVersion);
      return result.ok ? ok({ reserved, spent: result.value, counted: null }) : result;
    }
    spent = result.value;
  }
  if (call.requests === null) return ok({ reserved, spent, counted: null });
  const count = { ...meterCall("consume", policyVersion), entitlement: call.requests, amount: 1 };
  const counted = await meterCustomer(context, count, false);
  if (counted.ok && counted.value.allowed) return ok({ reserved, spent, counted: counted.value });
  const cancelled = await cancel(context, reserved, policyVersion);
  const spendCancelled = spent === null ? null : await cancel(context, spent, policyVersion);
  return counted.ok ? ok({ reserved: cancelled, spent: spendCancelled, counted: counted.value }) : counted;
}

/** Settle a reserve's hold with 0: the cancel's decision, or (logged) the reserve's when it failed. */
async function cancel(
  context: CustomerContext,
  reserved: Decision,
  policyVersion: string,
): Promise<Decision> {
  if (reserved.holdId === null) return reserved;
  let code: string;
  try {
    const settle = { ...meterCall("settle", policyVersion), holdId: reserved.holdId, amount: 0 };
    const result = await settleCustomer(context, settle, false);
    if (result.ok) return result.value;
    code = result.code;
  } catch (error) {
    // Reported, not thrown: the refusal still answers, and the unsettled hold expires on its own.
    code = error instanceof Error ? error.name : "unknown";
  }
  console.error(
    JSON.stringify({ level: "error", msg: "gateway cancel failed", customer: reserved.customer, code }),
  );
  return reserved;
}
