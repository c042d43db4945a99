/**
 * The zod schemas of a metering request, shared by every edge that takes one (the admin API's `/v1/<op>`
 * routes, the Workers RPC entrypoint): identifiers, amounts, strict request objects and the five metering
 * bodies. `z` comes from `@hono/zod-openapi` so that the admin API can document the very same objects
 * (`.openapi(...)` is metadata only: nothing here knows of HTTP).
 */
import { z } from "@hono/zod-openapi";
import type { MeterOp } from "../objects/contract";

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting C0/C1 control characters is the point (SPEC §5.3).
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001F\u007F-\u009F]*$/;

/** Customer and alternate IDs, plan, entitlement and credit names, idempotency keys, hold IDs (SPEC §5.3). */
export const identifierSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(NO_CONTROL_CHARACTERS, "must not contain control characters")
  // A lone surrogate is not text: it cannot round-trip through UTF-8 storage, logs or other systems.
  .refine((value) => value.isWellFormed(), "must be well-formed Unicode (no lone surrogates)")
  .openapi({ description: "1 to 256 characters, no control characters" });

// zod 4's z.number() refuses Infinity, which is what an overflowing JSON literal (`1e400`) parses to; that is a
// non-finite amount, `400 invalid_amount` by the amount rules (SPEC §5.3), not a malformed body.
const anyJsonNumber = z.custom<number>((value) => typeof value === "number").openapi({ type: "number" });

/** An amount as sent: a number in the credit's unit, or a string with a unit. Semantics: src/policy/units.ts. */
export const amountSchema = z.union([anyJsonNumber, z.string().max(64)]).openapi({
  description: 'A number in the credit\'s unit, or a string with a unit such as "20MB"',
  example: 1,
});

/** A strict request object: unknown fields are `400 invalid_request` (SPEC §11 "HTTP"). */
export function requestObject<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.strictObject(shape);
}

const base = {
  customer: identifierSchema.openapi({ description: "Customer id or any of its alternate IDs" }),
  idempotencyKey: identifierSchema.optional(),
};
const entitlementFields = { ...base, entitlement: identifierSchema, amount: amountSchema.optional() };

/** check, consume and release: `{ customer, entitlement, amount?, idempotencyKey? }`. */
export const checkBodySchema = requestObject(entitlementFields).openapi("MeterRequest");

/** reserve: a check's body and the hold's `ttl?`. */
export const reserveBodySchema = requestObject({
  ...entitlementFields,
  ttl: z
    .union([z.number(), z.string().max(64)])
    .optional()
    .openapi({ description: "Hold lifetime: a duration (`10m`) or seconds; default 10 min, at most 7 days" }),
}).openapi("ReserveRequest");

/** settle: `{ customer, holdId, amount?, idempotencyKey? }`. */
export const settleBodySchema = requestObject({
  ...base,
  holdId: identifierSchema,
  amount: amountSchema.optional(),
}).openapi("SettleRequest");

/** A metering body after schema validation. */
export interface MeterBody {
  customer: string;
  entitlement?: string;
  amount?: number | string;
  holdId?: string;
  ttl?: number | string;
  idempotencyKey?: string;
}

/** Each operation's body schema: what `/v1/<op>` and `TollgateRpc.<op>` validate. */
export const meterBodySchemas = {
  check: checkBodySchema,
  consume: checkBodySchema,
  release: checkBodySchema,
  reserve: reserveBodySchema,
  settle: settleBodySchema,
} as const satisfies Record<MeterOp, z.ZodType<MeterBody>>;

/** One validation problem: a dotted path (`a.b.0`, "" for the root) and a plain message. */
export interface Issue {
  path: string;
  message: string;
}

/** zod issues as `{ path: "a.b.0", message }`, one per unknown key so each points at its own field. */
export function toIssues(error: z.ZodError): Issue[] {
  const issues: Issue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        issues.push({ path: [...path, key].join("."), message: `unknown field "${key}"` });
    } else {
      issues.push({ path: path.join("."), message: issue.message });
    }
  }
  return issues;
}
