/**
 * The zod schemas of the read-model routes (SPEC §13.1): `GET /v1/customers` and `GET /v1/usage`. One
 * declaration validates the query, types the handler and feeds `/openapi.json`; the typed client
 * (`tollgate/client`) imports these same names.
 */
import { z } from "@hono/zod-openapi";
import { isValidTimeZone } from "../domain/calendar";
import { identifierSchema, queryInteger } from "./schemas";

/** A repeated query parameter counts by its first value (the validator hands over all of them as an array). */
const firstValue = (value: unknown) => (Array.isArray(value) ? value[0] : value);
const queryText = <S extends z.ZodType>(schema: S) => z.preprocess(firstValue, schema);

const GROUP_KEYS = ["customer", "entitlement", "model", "day", "hour"] as const;

/** `GET /v1/customers` query. */
export const listCustomersQuery = z.strictObject({
  type: queryText(identifierSchema)
    .optional()
    .openapi({ type: "string", description: "Only customers of this type (`user`, `org`, …)" }),
  plan: queryText(identifierSchema).optional().openapi({
    type: "string",
    description: "Only customers whose own `plan` is this (not an inherited one)",
  }),
  org: queryText(identifierSchema)
    .optional()
    .openapi({ type: "string", description: "Only members of this org (canonical id)" }),
  q: queryText(identifierSchema).optional().openapi({
    type: "string",
    description: "A prefix of the id, the label or one of the alternate IDs (case-sensitive)",
  }),
  cursor: queryText(z.string().min(1).max(512))
    .optional()
    .openapi({ type: "string", description: "`next` of the previous page (opaque)" }),
  limit: queryInteger(1, 1000)
    .optional()
    .openapi({ type: "integer", minimum: 1, maximum: 1000, description: "Page size, default 100" }),
});

/** One listed customer. */
export const listedCustomerSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    plan: z.string().nullable(),
    org: z.string().nullable(),
    label: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("ListedCustomer");

/** `GET /v1/customers` → `{ customers, next }`. */
export const customerListResponse = z
  .object({
    customers: z.array(listedCustomerSchema),
    next: z.string().nullable().openapi({ description: "The cursor of the next page; null on the last" }),
  })
  .openapi("CustomerList");

/** An ISO-8601 timestamp with a zone (`2026-12-01T00:00:00Z`, `…+01:00`); a date alone is UTC midnight. */
const isoTimestamp = queryText(
  z
    .string()
    .regex(
      /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/,
      "must be an ISO-8601 timestamp with a zone (2026-12-01T00:00:00Z) or a date (2026-12-01)",
    )
    .refine((value) => Number.isFinite(Date.parse(value)), "is not a real date")
    .transform((value) => Date.parse(value)),
);

/** `groupBy`: a comma-separated set of `customer`, `entitlement`, `model`, `day`, `hour`. */
const groupBySchema = queryText(
  z
    .string()
    .max(100)
    .transform((value, ctx) => {
      const keys = value.split(",").map((k) => k.trim());
      for (const key of keys) {
        if (!(GROUP_KEYS as readonly string[]).includes(key)) {
          ctx.addIssue({
            code: "custom",
            message: `unknown key ${JSON.stringify(key)}; use ${GROUP_KEYS.join(", ")}`,
          });
          return z.NEVER;
        }
      }
      if (new Set(keys).size !== keys.length) {
        ctx.addIssue({ code: "custom", message: "a key appears twice" });
        return z.NEVER;
      }
      if (keys.includes("day") && keys.includes("hour")) {
        ctx.addIssue({ code: "custom", message: "day and hour do not combine; pick one" });
        return z.NEVER;
      }
      return keys as (typeof GROUP_KEYS)[number][];
    }),
);

/** `GET /v1/usage` query. */
export const usageQuery = z
  .strictObject({
    entitlement: queryText(identifierSchema).optional().openapi({ type: "string" }),
    customer: queryText(identifierSchema).optional().openapi({
      type: "string",
      description:
        "Usage this customer's calls recorded (canonical id), on its own meters and, for a member, on its org's org-scoped meters",
    }),
    org: queryText(identifierSchema).optional().openapi({
      type: "string",
      description: "Usage metered on this org, plus its current members' usage on their own meters",
    }),
    model: queryText(identifierSchema)
      .optional()
      .openapi({ type: "string", description: "Only gateway calls of this model" }),
    from: isoTimestamp.optional().openapi({ type: "string", description: "Inclusive start (ISO-8601)" }),
    to: isoTimestamp.optional().openapi({ type: "string", description: "Exclusive end (ISO-8601)" }),
    groupBy: groupBySchema.optional().openapi({
      type: "string",
      description: "Comma-separated: customer, entitlement, model, and one of day, hour",
      example: "entitlement,day",
    }),
    tz: queryText(z.string().max(64).refine(isValidTimeZone, "is not an IANA time zone")).optional().openapi({
      type: "string",
      description: "IANA zone of day and hour buckets; default UTC",
      example: "Europe/Berlin",
    }),
    limit: queryInteger(1, 1000)
      .optional()
      .openapi({ type: "integer", minimum: 1, maximum: 1000, description: "Points at most, default 1000" }),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    message: "from must not be after to",
    path: ["from"],
  });

const usageClassesSchema = z
  .object({
    input: z.number(),
    cached_input: z.number(),
    cache_write: z.number(),
    output: z.number(),
    reasoning: z.number(),
  })
  .openapi("UsageClasses");

/** One point of a usage series. */
export const usagePointSchema = z
  .object({
    group: z
      .object({
        customer: z.string().optional(),
        entitlement: z.string().optional(),
        model: z.string().nullable().optional(),
      })
      .openapi({ description: "The values of the non-time groupBy keys (model null: not a gateway call)" }),
    bucket: z.string().nullable().openapi({
      description:
        "Local start of the day or hour in `tz` with its UTC offset (2026-03-29T00:00:00+01:00); null without day or hour",
    }),
    amount: z.number().openapi({
      description:
        "Recorded usage in the entitlement's credit unit: consumes and settles, less releases. Across entitlements of different units the numbers are simply added: group by entitlement to keep units apart",
    }),
    usage: usageClassesSchema.optional().openapi({
      description: "Token classes of the gateway settles in this point (SPEC §6); absent when there are none",
    }),
    cost: z.number().optional().openapi({
      description:
        "What this usage cost you in runes (the events' overheadDiff, SPEC §12.1; a gateway call's model cost, §12.4); absent when no event carried money",
    }),
  })
  .openapi("UsagePoint");

/** `GET /v1/usage` → `{ series, truncated }`. */
export const usageResponse = z
  .object({
    series: z.array(usagePointSchema),
    truncated: z
      .boolean()
      .openapi({ description: "More points matched than `limit`; the first ones are shown" }),
  })
  .openapi("UsageSeries");
