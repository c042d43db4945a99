/**
 * The gateway's pre-forward step in one call to the customer's object (SPEC §6, §11): reserve the model's
 * entitlement, then consume 1 of `gateway.requests`; a refused count cancels the reserve (settle 0) here, so
 * the gateway gets one flat answer. Each step is an ordinary metering call, so org-scoped entitlements go to
 * the org exactly as they do alone.
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
 * Reserve, count, and cancel the reserve when the count is refused or fails. `customer_not_found` only when
 * the key is not this customer's (nothing was written, so the caller may resolve again); once the reserve is
 * decided, later steps run on this customer regardless of the key, as the hold's settle will. The gateway's
 * values are valid by construction, so the admin API's input checks are skipped (`check: false`).
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
  const reserved = reserve.value;
  if (!reserved.allowed || call.requests === null) return ok({ reserved, counted: null });
  const count = { ...meterCall("consume", policyVersion), entitlement: call.requests, amount: 1 };
  const counted = await meterCustomer(context, count, false);
  if (counted.ok && counted.value.allowed) return ok({ reserved, counted: counted.value });
  const cancelled = reserved.holdId === null ? reserved : await cancel(context, reserved, policyVersion);
  return counted.ok ? ok({ reserved: cancelled, counted: counted.value }) : counted;
}

/** Settle the reserve's hold with 0: the cancel's decision, or (logged) the reserve's when it failed. */
async function cancel(
  context: CustomerContext,
  reserved: Decision,
  policyVersion: string,
): Promise<Decision> {
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
