/** Hand-built compiled policies for domain tests: the engine is tested apart from the policy compiler. */
import type {
  CompiledCredit,
  CompiledEntitlement,
  CompiledLimit,
  CompiledPlan,
  CompiledPolicy,
  CompiledRate,
  CustomerRecord,
} from "../../src/domain/types";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export function credit(name: string, unit = name): CompiledCredit {
  return { name, label: null, unit, dimension: "word", factor: 1 };
}

export interface EntitlementSpec {
  limit?: Partial<CompiledLimit> & { value: number };
  rate?: Partial<CompiledRate> & { limit: number };
  scope?: "customer" | "org";
  credit?: CompiledCredit;
}

/** An entitlement: limited when `limit` is given, else a feature flag. */
export function entitlement(name: string, spec: EntitlementSpec = {}): CompiledEntitlement {
  const limit: CompiledLimit | null =
    spec.limit === undefined
      ? null
      : {
          mode: "hard",
          increment: 1,
          minimum: 0,
          reset: { kind: "none" },
          alerts: [],
          ...spec.limit,
        };
  const rate: CompiledRate | null =
    spec.rate === undefined
      ? null
      : { windowMs: MINUTE, burst: spec.rate.burst ?? spec.rate.limit, ...spec.rate };
  return {
    name,
    label: null,
    scope: spec.scope ?? "customer",
    credit: limit === null ? null : (spec.credit ?? credit("token")),
    limit,
    rate,
  };
}

export function plan(name: string, entitlements: CompiledEntitlement[], isDefault = false): CompiledPlan {
  return { name, label: null, isDefault, entitlements: new Map(entitlements.map((e) => [e.name, e])) };
}

export function policy(plans: CompiledPlan[], version = "test-version"): CompiledPolicy {
  const names = new Set<string>();
  for (const p of plans) for (const n of p.entitlements.keys()) names.add(n);
  return {
    version,
    credits: new Map(),
    plans: new Map(plans.map((p) => [p.name, p])),
    defaultPlan: plans.find((p) => p.isDefault)?.name ?? null,
    entitlementNames: names,
    gateway: { defaultMaxTokens: 1024, requests: null, models: [], passthrough: [] },
    money: {
      credits: new Map(),
      exchange: { grantStrategy: "expires_first", usdPerRune: 1, pairs: new Map() },
      routes: new Map(),
      topups: new Map(),
    },
  };
}

export function customer(id: string, fields: Partial<CustomerRecord> = {}): CustomerRecord {
  return {
    id,
    type: "user",
    plan: null,
    org: null,
    label: null,
    metadata: null,
    alternateIds: [],
    createdAt: 0,
    updatedAt: 0,
    ...fields,
  };
}
