/**
 * The zod schema of a policy document (SPEC §2, §11 "Policy"). Structure only: amounts, durations,
 * schedules and cross-references are checked by the compiler, which knows the credits.
 */
import { z } from "zod";

/**
 * Limitr-only keys: accepted at every object level and dropped (SPEC §2, last paragraph). The money keys
 * (`price`, `overhead_cost`, `pricing_model`, `tiers`, `exchange`, `topups`, `grants_apply`, `hard_trailing`)
 * are honoured where §12 puts them, so they are part of the document and of its version.
 */
export const IGNORED_KEYS = ["version", "hidden", "period", "trial_period", "subscription"] as const;

export type IgnoredKey = (typeof IGNORED_KEYS)[number];

const IGNORED_SET: ReadonlySet<string> = new Set(IGNORED_KEYS);

/** True for a Limitr-only key that is accepted and ignored. */
export function isIgnoredKey(key: string): boolean {
  return IGNORED_SET.has(key);
}

const ignoredShape = Object.fromEntries(IGNORED_KEYS.map((key) => [key, z.unknown().optional()])) as {
  [K in IgnoredKey]: z.ZodOptional<z.ZodUnknown>;
};

function dropIgnored<T extends object>(value: T): Omit<T, IgnoredKey> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !IGNORED_SET.has(key))) as Omit<
    T,
    IgnoredKey
  >;
}

/**
 * One object level: its own keys plus the ignored Limitr keys, anything else rejected with its path.
 * The ignored keys are dropped from the output, so the normalised document (and its version) never
 * carries them.
 */
function level<Shape extends z.ZodRawShape>(shape: Shape) {
  const allowed = Object.keys(shape).join(", ");
  return z
    .strictObject(
      { ...shape, ...ignoredShape },
      // Only this object's own issues reach this map: the converter turns it into "unknown key …".
      {
        error: (issue) => (issue.code === "unrecognized_keys" ? `allowed keys here: ${allowed}` : undefined),
      },
    )
    .transform(dropIgnored);
}

/** A name-keyed map (credits, plans, entitlements, models) before its entries are checked one by one. */
export const rawMapSchema = z.record(z.string(), z.unknown());

/** An amount: a number in the credit's unit, or a string with a unit (`1GB`, `300 tokens`). */
const amountSchema = z.union([z.number(), z.string()], {
  error: "expected a number or an amount string such as 1GB or 300 tokens",
});

/** A duration: a number of seconds, or a string (`24hr`, `1h30m`). */
const durationSchema = z.union([z.number(), z.string()], {
  error: "expected a number of seconds or a duration string such as 24hr or 1m",
});

const text = z.string();

const runes = z.number().min(0);

/** `price: { amount, id? }` in runes per unit (SPEC §12.1); `currency` is Limitr's and must be runes' own. */
export const priceSchema = level({ amount: runes, id: text.optional(), currency: text.optional() });

export const tierSchema = level({ up_to: amountSchema.optional(), price: priceSchema });

export const creditSchema = level({
  label: text.optional(),
  description: text.optional(),
  unit: text.optional(),
  stof_units: text.optional(),
  price: priceSchema.nullable().optional(),
  overhead_cost: runes.optional(),
  pricing_model: z.enum(["flat", "tiered", "volume", "stairstep"]).optional(),
  tiers: z.array(tierSchema).optional(),
});

/** A plan's `topups.<name>` (SPEC §12.3). Amounts and durations are checked by the compiler. */
export const topupSchema = level({
  credit: z.string().min(1),
  value: amountSchema,
  price: priceSchema.nullable().optional(),
  description: text.optional(),
  included: z.boolean().optional(),
  included_scopes: z.array(z.string()).optional(),
  resets: z.boolean().optional(),
  reset_inc: durationSchema.optional(),
  reset_sch: z.string().optional(),
  reset_tz: z.string().optional(),
  reset_mode: z.enum(["hard", "add", "rollover"]).optional(),
  rollover_min: amountSchema.optional(),
  rollover_max: amountSchema.optional(),
  // A fraction of the old balance (0.5 carries half); above 1 is refused by the compiler, never guessed.
  rollover_pct: z.number().min(0).optional(),
  max_balance: amountSchema.optional(),
  expires_after: durationSchema.optional(),
  reset_catchup_cap: z.number().int().min(0).optional(),
});

/** `exchange.<credit>`: one unit is `value` units of `currency` (a credit, `rune` or `usd`). */
export const exchangePairSchema = level({ value: z.number().positive(), currency: z.string().min(1) });

/** `exchange.rune`: what one rune is worth in USD (default 1). */
export const runeSchema = level({ value: z.number().positive(), currency: z.literal("usd").optional() });

/** `gateway.models.<pattern>.cost`: runes per `per` tokens of each class (SPEC §12.4). */
export const modelCostSchema = level({
  input: runes,
  cached_input: runes.optional(),
  cache_write: runes.optional(),
  output: runes.optional(),
  per: z
    .union([z.number().positive(), z.enum(["1K", "1M"])], { error: "expected a positive number, 1K or 1M" })
    .optional(),
});

/** `gateway.models.<pattern>` in its object form: `{ entitlement, cost? }`. */
export const modelObjectSchema = level({ entitlement: z.string().min(1), cost: modelCostSchema.optional() });

export const modelRouteSchema = z.union([z.string(), modelObjectSchema]);

export const limitSchema = level({
  credit: z.string().min(1),
  value: amountSchema,
  mode: z.enum(["hard", "soft", "observe"]).optional(),
  increment: amountSchema.optional(),
  minimum: amountSchema.optional(),
  resets: z.boolean().optional(),
  reset_inc: durationSchema.optional(),
  reset_sch: z.string().optional(),
  reset_tz: z.string().optional(),
  alerts: z.array(z.number().positive()).optional(),
  grants_apply: z.boolean().optional(),
  hard_trailing: z.boolean().optional(),
});

export const rateSchema = level({
  limit: amountSchema,
  window: durationSchema,
  burst: amountSchema.optional(),
});

export const entitlementSchema = z.preprocess(
  // `export_pdf:` with nothing after it is how YAML users write a feature flag: read it as `{}`.
  (value) => (value === null ? {} : value),
  level({
    label: text.optional(),
    description: text.optional(),
    scope: z.enum(["customer", "org"]).optional(),
    limit: limitSchema.optional(),
    rate: rateSchema.optional(),
  }),
);

const planFields = {
  label: text.optional(),
  description: text.optional(),
  default: z.boolean().optional(),
  // A plan's own `price` is Limitr's subscription price: informational, accepted and ignored (not in the version).
  price: z.unknown().optional(),
};

/** A plan whose entitlements and top-ups are still unchecked: the compiler checks them one by one. */
export const planShellSchema = level({
  ...planFields,
  entitlements: rawMapSchema.optional(),
  topups: rawMapSchema.optional(),
});

const gatewayFields = {
  default_max_tokens: z.number().int().positive().optional(),
  requests: z.string().min(1).optional(),
  // Entries ("GET files") are checked one by one by the compiler (compile-passthrough.ts).
  passthrough: z.array(z.string()).optional(),
  spend: z.string().min(1).optional(),
  unpriced: z.enum(["allow", "refuse"]).optional(),
};

/** The gateway section with its model map still unchecked. */
export const gatewayShellSchema = level({ ...gatewayFields, models: rawMapSchema.optional() });

/** The top level with its sections still unchecked. */
export const policyShellSchema = level({
  credits: rawMapSchema.optional(),
  plans: rawMapSchema.optional(),
  gateway: z.unknown().optional(),
  exchange: rawMapSchema.optional(),
});

/**
 * The whole document in one schema: the source of `PolicyDocument` and of generated docs. Validation
 * itself walks the document node by node (src/policy/compile.ts) so that every issue is collected and
 * a name such as `__proto__` survives, which `z.record` output would silently drop.
 */
export const policySchema = level({
  credits: z.record(z.string(), creditSchema).optional(),
  plans: z
    .record(
      z.string(),
      level({
        ...planFields,
        entitlements: z.record(z.string(), entitlementSchema).optional(),
        topups: z.record(z.string(), topupSchema).optional(),
      }),
    )
    .optional(),
  gateway: level({ ...gatewayFields, models: z.record(z.string(), modelRouteSchema).optional() }).optional(),
  exchange: z.record(z.string(), z.union([z.string(), runeSchema, exchangePairSchema])).optional(),
});

export type PolicyDocument = z.infer<typeof policySchema>;
export type CreditDocument = z.infer<typeof creditSchema>;
export type LimitDocument = z.infer<typeof limitSchema>;
export type RateDocument = z.infer<typeof rateSchema>;
export type EntitlementDocument = z.infer<typeof entitlementSchema>;
export type PlanDocument = NonNullable<PolicyDocument["plans"]>[string];
export type GatewayDocument = NonNullable<PolicyDocument["gateway"]>;
export type TopupDocument = z.infer<typeof topupSchema>;
export type TierDocument = z.infer<typeof tierSchema>;
export type ModelCostDocument = z.infer<typeof modelCostSchema>;
