/**
 * The gateway's pre-forward step in one call to the customer's object (SPEC §6, §11): reserve the model's
 * entitlement, then consume 1 of `gateway.requests`; a refused count cancels the reserve (settle 0). Each
 * step is an ordinary metering call, so org-scoped entitlements go to the org exactly as they do alone.
 */
import type { Decision } from "../domain/types";
import type { GatewayReserve, GatewayReserveCall, MeterCall, RpcResult } from "./contract";
import type { CustomerContext } from "./customer-context";
import { meterCustomer } from "./meter-routing";

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
 * Reserve, count, and cancel the reserve when the count is refused. `unknown` only when the key is not this
 * customer's (nothing was written, so the caller may resolve again); once the reserve is decided, later
 * steps run on this customer regardless of the key, as the hold's settle will.
 */
export async function reserveForGateway(
  context: CustomerContext,
  call: GatewayReserveCall,
): Promise<RpcResult<GatewayReserve>> {
  const { policyVersion } = call;
  const reserve = await meterCustomer(context, {
    ...meterCall("reserve", policyVersion),
    presentedAlternateId: call.presentedAlternateId,
    entitlement: call.entitlement,
    amount: call.amount,
    ttlMs: call.ttlMs,
  });
  if (reserve.kind !== "ok") return reserve;
  const reserved = reserve.value;
  if (!reserved.allowed || call.requests === null) {
    return { kind: "ok", value: { reserved, counted: null, cancelled: null } };
  }
  const counted = await meterCustomer(context, {
    ...meterCall("consume", policyVersion),
    entitlement: call.requests,
    amount: 1,
  });
  if ((counted.kind === "ok" && counted.value.allowed) || reserved.holdId === null) {
    return { kind: "ok", value: { reserved, counted, cancelled: null } };
  }
  let cancelled: RpcResult<Decision>;
  try {
    cancelled = await meterCustomer(context, {
      ...meterCall("settle", policyVersion),
      holdId: reserved.holdId,
      amount: 0,
    });
  } catch (error) {
    // Reported, not thrown: the refusal still answers, and the unsettled hold expires on its own.
    const code = error instanceof Error ? error.name : "unknown";
    cancelled = { kind: "error", status: 500, code, message: "the cancel failed" };
  }
  return { kind: "ok", value: { reserved, counted, cancelled } };
}
