/** zod schemas of the customer routes: they validate requests and document responses (SPEC §5.2). */
import { z } from "@hono/zod-openapi";
import type { CustomerPatch, CustomerState } from "../objects/contract";
import { nestsWithin } from "../policy/json-depth";
import { identifierSchema, requestObject } from "./schemas";

/** Metadata's size as stored and exported (its JSON as `JSON.stringify` writes it, in UTF-8). */
const METADATA_LIMIT_BYTES = 32 * 1024;

// Metadata is the caller's own JSON, kept as given; its depth is capped so it can cross RPC and storage. Its
// size is measured as it will be written back, not as sent (`9E20` is exported as 21 digits), so a state
// export can never outgrow what a restore accepts (SPEC §11 "Bounds").
const metadataSchema = z
  .record(z.string(), z.unknown())
  .refine((value) => nestsWithin(value, 32), "must not nest deeper than 32 levels")
  .refine(
    (value) => new TextEncoder().encode(JSON.stringify(value)).length <= METADATA_LIMIT_BYTES,
    `must serialise to at most ${METADATA_LIMIT_BYTES} bytes of JSON`,
  );
const isoSchema = z.iso.datetime({ offset: true }).openapi({ format: "date-time" });
const nonNegative = z.number().finite().min(0);

/** `PUT /v1/customers/:id`: absent fields are kept, `null` clears, `alternateIds` replaces the list. */
export const customerPatchSchema = requestObject({
  type: identifierSchema
    .optional()
    .openapi({ description: "Free word, default `user`; `org` for organisations" }),
  plan: identifierSchema.nullable().optional(),
  org: identifierSchema
    .nullable()
    .optional()
    .openapi({ description: "Id (or alternate ID) of a customer of type org" }),
  label: z.string().max(1024).nullable().optional(),
  metadata: metadataSchema.nullable().optional(),
  // At most 100 distinct IDs: the object checks the count (409 too_many_alternate_ids, SPEC §11 "Bounds").
  alternateIds: z
    .array(identifierSchema)
    .optional()
    .openapi({ description: "Replaces the list; at most 100 (`409 too_many_alternate_ids`)" }),
}).openapi("CustomerPatch");

const patchMatches: z.infer<typeof customerPatchSchema> extends CustomerPatch ? true : false = true;
void patchMatches;

const meterViewSchema = z
  .object({
    credit: z.string().nullable(),
    unit: z.string().nullable(),
    mode: z.string(),
    used: z.number(),
    held: z.number(),
    limit: z.number(),
    remaining: z.number(),
    overage: z.number(),
    periodStart: z.string().nullable(),
    resetsAt: z.string().nullable(),
  })
  .openapi("MeterView");

/** A grant (SPEC §12.3): a balance made from a top-up, drawn past the limit. */
export const grantSchema = z
  .object({
    id: z.string(),
    topup: z.string(),
    credit: z.string(),
    balance: z.number(),
    startingValue: z.number(),
    createdAt: z.string().openapi({ format: "date-time" }),
    expiresAt: z.string().nullable().openapi({ format: "date-time" }),
    resets: z.boolean(),
    resetMode: z.enum(["hard", "add", "rollover"]),
    nextResetAt: z.string().nullable().openapi({ format: "date-time" }),
    included: z.boolean().openapi({ description: "Granted by an `included: true` top-up of the plan" }),
  })
  .openapi("Grant");

/** The customer view. */
export const customerViewSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    plan: z.string().nullable(),
    org: z.string().nullable(),
    label: z.string().nullable(),
    metadata: metadataSchema.nullable(),
    alternateIds: z.array(z.string()),
    effectivePlan: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    meters: z.record(z.string(), meterViewSchema),
    grants: z.array(grantSchema),
    balances: z
      .record(z.string(), z.number())
      .openapi({ description: "The sum of the grants' balances per grant credit" }),
  })
  .openapi("Customer");

/** `POST /v1/customers/:id/topups`. */
export const topupRequestSchema = requestObject({
  topup: identifierSchema.openapi({ description: "A top-up of the customer's effective plan" }),
  idempotencyKey: identifierSchema.optional(),
}).openapi("TopupRequest");

/** `POST /v1/customers/:id/topups` → `{ grant, customer }`. */
export const topupResponseSchema = z
  .object({ grant: grantSchema, customer: customerViewSchema })
  .openapi("TopupResult");

/** `GET /v1/customers/:id/grants` → `{ grants }`. */
export const grantListSchema = z.object({ grants: z.array(grantSchema) }).openapi("GrantList");

const marginLineSchema = z.object({
  revenue: z.number(),
  cost: z.number(),
  margin: z.number().nullable().openapi({ description: "null when revenue is 0" }),
});

/** `GET /v1/customers/:id/margin` (SPEC §12.5). */
export const marginSchema = z
  .object({
    revenue: z.number(),
    cost: z.number(),
    margin: z
      .number()
      .openapi({ description: "round((revenue − cost) / revenue × 100, 2); -100 when revenue is 0" }),
    entitlements: z.record(z.string(), marginLineSchema),
  })
  .openapi("Margin");

const finiteOrNull = z.number().finite().nullable();
const scheduleSchema = z.union([
  requestObject({ kind: z.literal("daily") }),
  requestObject({ kind: z.literal("weekly"), weekday: z.number().int().min(0).max(6) }),
  requestObject({
    kind: z.literal("monthly"),
    day: z.union([z.number().int().min(1).max(31), z.literal("last")]),
  }),
  requestObject({
    kind: z.literal("quarterly"),
    day: z.union([z.number().int().min(1).max(31), z.literal("last")]),
  }),
  requestObject({
    kind: z.literal("yearly"),
    month: z.number().int().min(1).max(12),
    day: z.number().int().min(1).max(31),
  }),
]);
const resetRuleSchema = z.union([
  requestObject({ kind: z.literal("none") }),
  requestObject({ kind: z.literal("rolling"), periodMs: z.number().finite().positive() }),
  requestObject({
    kind: z.literal("calendar"),
    schedule: scheduleSchema,
    tz: z.string().min(1).max(64),
    source: z.string().max(256),
  }),
]);

/** A grant in the state document: as stored, with the terms it resets by. */
const grantStateSchema = requestObject({
  id: identifierSchema,
  topup: identifierSchema,
  credit: identifierSchema,
  balance: nonNegative,
  startingValue: nonNegative,
  createdAt: isoSchema,
  expiresAt: isoSchema.nullable(),
  resets: z.boolean(),
  resetMode: z.enum(["hard", "add", "rollover"]),
  nextResetAt: isoSchema.nullable(),
  included: z.boolean(),
  terms: requestObject({
    value: nonNegative,
    reset: resetRuleSchema,
    resetMode: z.enum(["hard", "add", "rollover"]),
    rolloverPct: z.number().finite().min(0),
    rolloverMin: finiteOrNull,
    rolloverMax: finiteOrNull,
    maxBalance: finiteOrNull,
    catchupCap: z.number().int().min(0).nullable(),
  }),
});

/** The serialised state (format 1): what export writes and restore reads. */
export const customerStateSchema = requestObject({
  format: z.literal(1),
  customer: requestObject({
    id: identifierSchema,
    type: identifierSchema,
    plan: identifierSchema.nullable(),
    org: identifierSchema.nullable(),
    label: z.string().max(1024).nullable(),
    metadata: metadataSchema.nullable(),
    alternateIds: z.array(identifierSchema),
    createdAt: isoSchema,
    updatedAt: isoSchema,
  }),
  meters: z.record(
    identifierSchema,
    requestObject({
      used: nonNegative,
      held: nonNegative,
      overage: nonNegative,
      periodStart: isoSchema.nullable(),
      periodEnd: isoSchema.nullable(),
      alertsFired: z.array(z.number().finite().positive()),
      bucket: requestObject({ tokens: nonNegative, updatedAt: isoSchema }).nullable(),
      overhead: nonNegative.optional(),
    }),
  ),
  holds: z
    .array(
      requestObject({
        id: identifierSchema,
        entitlement: identifierSchema,
        customer: identifierSchema,
        amount: nonNegative,
        createdAt: isoSchema,
        expiresAt: isoSchema,
        expired: z.boolean(),
      }),
    )
    .max(10_000),
  grants: z.array(grantStateSchema).max(10_000).optional(),
}).openapi("CustomerState");

const stateMatches: z.infer<typeof customerStateSchema> extends CustomerState ? true : false = true;
void stateMatches;

/** One event with its webhook delivery state (SPEC §4, §7). */
export const eventSchema = z
  .object({
    id: z.string(),
    seq: z.number().int(),
    type: z.string(),
    at: z.string(),
    customer: z.string(),
    meteredOn: z.string(),
    entitlement: z.string().optional(),
    data: z.record(z.string(), z.unknown()),
    delivery: z
      .object({
        status: z.enum(["pending", "delivered", "failed", "skipped"]),
        attempts: z.number().int(),
        deliveredAt: z.string().nullable(),
        nextAttemptAt: z.string().nullable(),
        lastError: z.string().nullable(),
      })
      .openapi({
        description:
          "Webhook delivery: pending until a 2xx (delivered), a permanent refusal or 3 days of retries (failed); skipped when webhooks were off or misconfigured as it was written",
      }),
    projected: z.boolean().openapi({
      description:
        "Whether the event is in the read model (SPEC §13.1: GET /v1/customers, GET /v1/usage) yet; it lags by seconds",
    }),
  })
  .openapi("Event");

/** `GET /v1/customers/:id/events` → `{ events, next }`. */
export const eventPageSchema = z
  .object({ events: z.array(eventSchema), next: z.number().int().nullable() })
  .openapi("EventPage");
