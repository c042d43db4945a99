/**
 * Shared zod schemas of the HTTP API. The same objects validate requests and feed /openapi.json (SPEC §5.4):
 * `.openapi("Name")` names a schema as a reusable component (`z` from `@hono/zod-openapi` has `.openapi()`).
 */
import { z } from "@hono/zod-openapi";
import type { Decision, Outcome, Reason } from "../domain/types";
import { policySchema } from "../policy/schema";

// Identifiers, amounts and strict request objects are shared with the RPC edge (src/services/).
export { amountSchema, identifierSchema, requestObject } from "../services/request-schemas";

/** The error envelope of every non-2xx answer. */
export const errorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "invalid_request" }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
      requestId: z.string(),
    }),
  })
  .openapi("Error");

const OUTCOMES = ["allowed", "denied", "overage", "observed"] as const satisfies readonly Outcome[];
const REASONS = [
  "within_limit",
  "feature_enabled",
  "released",
  "limit_exceeded",
  "overage_recorded",
  "observed",
  "rate_limited",
  "not_entitled",
  "unknown_customer",
  "no_org",
  "plan_not_found",
  "hold_expired",
  "too_many_holds",
  "grant_applied",
] as const satisfies readonly Reason[];

const nullableNumber = z.number().nullable();

/** The decision object of SPEC §3.3 (docs only: decisions are produced by the domain, not parsed). */
export const decisionSchema = z
  .object({
    allowed: z.boolean(),
    outcome: z.enum(OUTCOMES),
    reason: z.enum(REASONS),
    message: z.string(),
    customer: z.string(),
    meteredOn: z.string().nullable(),
    entitlement: z.string(),
    plan: z.string().nullable(),
    credit: z.string().nullable(),
    unit: z.string().nullable(),
    amount: z.number(),
    used: nullableNumber,
    held: nullableNumber,
    limit: nullableNumber,
    remaining: nullableNumber,
    overage: nullableNumber,
    resetsAt: z.string().nullable().openapi({ format: "date-time" }),
    retryAfterSeconds: nullableNumber,
    holdId: z.string().nullable(),
    replayed: z.boolean(),
    policyVersion: z.string(),
    grantApplied: z.number().optional().openapi({
      description:
        "Units of the metered credit covered by grants in this call (SPEC §12.3); limited entitlements only.",
    }),
    grantRemaining: z.number().optional().openapi({
      description:
        "What the meter owner's usable grants still cover after the call, in the metered credit's unit.",
    }),
  })
  .openapi("Decision");

// Compile-time guard: the docs schema and the domain's Decision must not drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const decisionSchemaMatches: Same<z.infer<typeof decisionSchema>, Decision> = true;
void decisionSchemaMatches;

/** A policy version: the first 16 hex digits of SHA-256 over the canonical document (SPEC §11). */
const policyVersionSchema = z.string().openapi({ example: "9c1e0a7b3d5f2e41" });

/** `PUT /v1/policy` → `{ version }`. */
export const policyVersionResponseSchema = z
  .object({ version: policyVersionSchema })
  .openapi("PolicyVersion");

/** `POST /v1/policy/validate` → `{ valid: true, version }`. */
export const policyValidationResponseSchema = z
  .object({ valid: z.literal(true), version: policyVersionSchema })
  .openapi("PolicyValidation");

// The policy's structure for the docs, from the zod schema of the policy file itself (input side: what a
// user writes). Validation goes through src/policy/load.ts, which reports every issue with its path.
const { $schema: _dialect, ...policyJsonSchema } = z.toJSONSchema(policySchema, {
  io: "input",
  unrepresentable: "any",
});

/** A policy document (SPEC §2). Documented with the policy file's own structure. */
export const policyDocumentSchema = z.record(z.string(), z.unknown()).openapi("PolicyDocument", {
  ...(policyJsonSchema as Record<string, unknown>),
  description: "A policy (SPEC §2), unwrapped. A request body may also wrap it in a top-level `policy:` key.",
});

/** `GET /v1/policy` → `{ version, updatedAt, policy }`. */
export const policyResponseSchema = z
  .object({
    version: policyVersionSchema,
    updatedAt: z.string().openapi({ format: "date-time" }),
    policy: policyDocumentSchema,
  })
  .openapi("ActivePolicy");

/** `GET /healthz` → `{ ok, policyVersion, policyState, webhooks }`. */
export const healthResponseSchema = z
  .object({
    ok: z.boolean(),
    policyVersion: policyVersionSchema.nullable(),
    policyState: z.enum(["current", "stale"]).openapi({
      description: "`stale`: the KV pointer names a version that is not in force (missing or invalid)",
    }),
    webhooks: z.object({ state: z.enum(["off", "on", "misconfigured"]), reason: z.string().optional() }),
  })
  .openapi("Health");

/**
 * A query parameter that is an ASCII decimal integer in `[min, max]` (SPEC §11 "Bounds"): no sign, space,
 * hex, exponent or fraction, and never empty (`z.coerce` would take `0x10`, ` 1`, `1e2` and "" as numbers).
 */
export function queryInteger(min: number, max: number) {
  // A repeated parameter counts by its first value (the validator hands over all of them as an array).
  const firstValue = (value: unknown) => (Array.isArray(value) ? value[0] : value);
  return z
    .preprocess(
      firstValue,
      z
        .string()
        .regex(/^[0-9]{1,16}$/, "must be an ASCII decimal integer")
        .transform(Number)
        .pipe(z.number().int().min(min).max(max)),
    )
    .openapi({ type: "integer", minimum: min, maximum: max });
}
