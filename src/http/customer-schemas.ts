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
  })
  .openapi("Customer");

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
  })
  .openapi("Event");

/** `GET /v1/customers/:id/events` → `{ events, next }`. */
export const eventPageSchema = z
  .object({ events: z.array(eventSchema), next: z.number().int().nullable() })
  .openapi("EventPage");
