/** Model name → entitlement through the policy's `gateway.models` (SPEC §2, §11): first match wins. */
import type { CompiledGateway } from "../../domain/types";

/** The entitlement metering `model`, or null when no pattern matches (the gateway refuses it). */
export function routeModel(gateway: CompiledGateway, model: string): string | null {
  for (const route of gateway.models) {
    if (route.regex.test(model)) return route.entitlement;
  }
  return null;
}
