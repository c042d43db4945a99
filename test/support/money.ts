/** Hand-built money tables for domain tests: credits, exchange pairs and top-ups without the policy compiler. */
import { resolveRoutes } from "../../src/domain/money/exchange";
import type {
  CompiledMoney,
  CompiledTopup,
  CreditMoney,
  ExchangePair,
  GrantStrategy,
  GrantTerms,
  PriceCurve,
} from "../../src/domain/money/types";

export const TIERS: PriceCurve = {
  model: "tiered",
  tiers: [
    { upTo: 100, amount: 0.01 },
    { upTo: 1000, amount: 0.005 },
    { upTo: null, amount: 0.001 },
  ],
};

export function money(
  credits: Record<string, Partial<CreditMoney>>,
  pairs: Record<string, ExchangePair> = {},
  grantStrategy: GrantStrategy = "expires_first",
): CompiledMoney {
  const table = new Map(
    Object.entries(credits).map(([name, c]) => [
      name,
      { price: c.price ?? null, overheadCost: c.overheadCost ?? 0 },
    ]),
  );
  const exchange = { grantStrategy, usdPerRune: 1, pairs: new Map(Object.entries(pairs)) };
  const { routes, problems } = resolveRoutes(table, exchange);
  if (problems.length > 0) throw new Error(problems.map((p) => p.message).join("; "));
  return { credits: table, exchange, routes, topups: new Map() };
}

export function terms(partial: Partial<GrantTerms> & { value: number }): GrantTerms {
  return {
    reset: { kind: "none" },
    resetMode: "hard",
    rolloverPct: 1,
    rolloverMin: null,
    rolloverMax: null,
    maxBalance: null,
    catchupCap: null,
    ...partial,
  };
}

export function topup(
  name: string,
  credit: string,
  t: GrantTerms,
  expiresAfterMs: number | null = null,
): CompiledTopup {
  return {
    name,
    credit,
    description: null,
    price: null,
    included: false,
    includedScopes: null,
    expiresAfterMs,
    terms: t,
  };
}
