/**
 * Value types of money (SPEC §12): price curves, the exchange, top-ups and grants. Types only, like
 * ../types.ts; the compiled forms are what src/policy produces and what the money functions read.
 */
import type { Mode, ResetRule } from "../limit-rules";

export type PricingModel = "flat" | "tiered" | "volume" | "stairstep";

/** One band of a tiered curve: (previous upTo, upTo]; the last band has `upTo: null` (unbounded). */
export interface Tier {
  upTo: number | null;
  /** Runes per unit (tiered, volume) or the band's fee (stairstep). */
  amount: number;
}

/** What one credit's units cost the customer past the limit (SPEC §12.1). */
export type PriceCurve =
  | { model: "flat"; amount: number }
  | { model: "tiered" | "volume" | "stairstep"; tiers: Tier[] };

/** A credit's money: its price curve (null: none) and what one unit costs you (`overhead_cost`). */
export interface CreditMoney {
  price: PriceCurve | null;
  overheadCost: number;
}

/** `exchange.<credit>`: one unit is `value` units of `currency` (a credit, `rune` or `usd`). */
export interface ExchangePair {
  value: number;
  currency: string;
}

export type GrantStrategy = "expires_first" | "cheapest_first" | "valuable_first";

export interface CompiledExchange {
  grantStrategy: GrantStrategy;
  /** USD per rune (`exchange.rune`, default 1). */
  usdPerRune: number;
  pairs: Map<string, ExchangePair>;
}

/**
 * How a credit turns into runes (SPEC §12.2), resolved once at compile time: not at all, at a fixed rate, or
 * through the price curve of the credit the chain stops at, at a position scaled by `scale`.
 */
export type RuneRoute =
  | { kind: "none" }
  | { kind: "linear"; runesPerUnit: number }
  | { kind: "curve"; via: string; scale: number; curve: PriceCurve };

export type GrantResetMode = "hard" | "add" | "rollover";

/** What a grant resets to and when: copied onto every grant, so a policy change does not rewrite paid grants. */
export interface GrantTerms {
  value: number;
  reset: ResetRule;
  resetMode: GrantResetMode;
  /** Fraction of the old balance carried by a rollover (0…1). */
  rolloverPct: number;
  rolloverMin: number | null;
  rolloverMax: number | null;
  maxBalance: number | null;
  /** At most this many missed periods are applied at once; null: all of them. */
  catchupCap: number | null;
}

/** A plan's `topups.<name>` as compiled (SPEC §12.3). */
export interface CompiledTopup {
  name: string;
  credit: string;
  description: string | null;
  /** Informational: carried on events, never read by decisions. */
  price: number | null;
  included: boolean;
  /** Customer types an included top-up is granted to; null: all. */
  includedScopes: string[] | null;
  expiresAfterMs: number | null;
  terms: GrantTerms;
}

/** A grant as answers show it (SPEC §12.3). */
export interface GrantView {
  id: string;
  topup: string;
  credit: string;
  balance: number;
  startingValue: number;
  createdAt: string;
  expiresAt: string | null;
  resets: boolean;
  resetMode: GrantResetMode;
  nextResetAt: string | null;
  /** Granted by an `included: true` top-up of the plan (re-synced on a plan change), not bought. */
  included: boolean;
}

/** A balance a customer holds (SPEC §12.3). Times are epoch ms; the edge makes ISO strings. */
export interface Grant {
  id: string;
  topup: string;
  credit: string;
  balance: number;
  startingValue: number;
  createdAt: number;
  expiresAt: number | null;
  resets: boolean;
  resetMode: GrantResetMode;
  nextResetAt: number | null;
  /** Granted automatically by an `included: true` top-up (re-synced on plan change, never bought). */
  included: boolean;
  terms: GrantTerms;
}

/** A model's provider price (`gateway.models.<pattern>.cost`): runes per `per` tokens of each class. */
export interface ModelCost {
  input: number;
  cachedInput: number;
  cacheWrite: number;
  output: number;
  per: number;
}

/** The money part of a compiled policy. */
export interface CompiledMoney {
  credits: Map<string, CreditMoney>;
  exchange: CompiledExchange;
  /** Every credit's rune route (SPEC §12.2); a credit missing here has no rune value. */
  routes: Map<string, RuneRoute>;
  /** Top-ups by plan, then by name. */
  topups: Map<string, Map<string, CompiledTopup>>;
}

/** The limit a money decision is taken against (a CompiledLimit's relevant part plus its grant switches). */
export interface MoneyLimit {
  value: number;
  mode: Mode;
  grantsApply: boolean;
  hardTrailing: boolean;
}
