/** Model name → entitlement through the policy's `gateway.models` (SPEC §2, §11): first match wins. */
import type { CompiledGateway, CompiledModelRoute } from "../../domain/types";

/** The route of `model` (its entitlement and cost), or null when no pattern matches (the gateway refuses it). */
export function modelRoute(gateway: CompiledGateway, model: string): CompiledModelRoute | null {
  for (const route of gateway.models) {
    if (route.regex.test(model)) return route;
  }
  return null;
}

/** The entitlement metering `model`, or null when no pattern matches. */
export function routeModel(gateway: CompiledGateway, model: string): string | null {
  return modelRoute(gateway, model)?.entitlement ?? null;
}
