/**
 * The zod schema of a policy document (SPEC §2, §11 "Policy"). Structure only: amounts, durations,
 * schedules and cross-references are checked by the compiler, which knows the credits.
 */
import { z } from "zod";

/** Limitr-only keys: accepted at every object level and dropped (SPEC §2, last paragraph). */
export const IGNORED_KEYS = [
  "version",
  "hidden",
  "price",
  "overhead_cost",
  "pricing_model",
  "tiers",
  "exchange",
  "topups",
  "period",
  "trial_period",
  "subscription",
  "hard_trailing",
  "grants_apply",
] as const;

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

export const creditSchema = level({
  label: text.optional(),
  description: text.optional(),
  unit: text.optional(),
  stof_units: text.optional(),
});

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
};

/** A plan whose entitlements are still unchecked: the compiler checks them one by one. */
export const planShellSchema = level({ ...planFields, entitlements: rawMapSchema.optional() });

const gatewayFields = {
  default_max_tokens: z.number().int().positive().optional(),
  requests: z.string().min(1).optional(),
  // Entries ("GET files") are checked one by one by the compiler (compile-passthrough.ts).
  passthrough: z.array(z.string()).optional(),
};

/** The gateway section with its model map still unchecked. */
export const gatewayShellSchema = level({ ...gatewayFields, models: rawMapSchema.optional() });

/** The top level with its sections still unchecked. */
export const policyShellSchema = level({
  credits: rawMapSchema.optional(),
  plans: rawMapSchema.optional(),
  gateway: z.unknown().optional(),
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
      level({ ...planFields, entitlements: z.record(z.string(), entitlementSchema).optional() }),
    )
    .optional(),
  gateway: level({ ...gatewayFields, models: z.record(z.string(), z.string()).optional() }).optional(),
});

export type PolicyDocument = z.infer<typeof policySchema>;
export type CreditDocument = z.infer<typeof creditSchema>;
export type LimitDocument = z.infer<typeof limitSchema>;
export type RateDocument = z.infer<typeof rateSchema>;
export type EntitlementDocument = z.infer<typeof entitlementSchema>;
export type PlanDocument = NonNullable<PolicyDocument["plans"]>[string];
export type GatewayDocument = NonNullable<PolicyDocument["gateway"]>;
