/**
 * The client's request and answer types, derived from the zod schemas the routes validate with and document
 * (SPEC §13.3): requests are each schema's input (what a caller may send), answers its output (what the
 * server writes). Type-only imports: nothing here exists at runtime, so the client needs neither zod nor the
 * server's modules (dependency-cruiser rule `client-imports-types-only`).
 */
import type { z } from "zod";
import type {
  customerListResponse,
  listCustomersQuery,
  usageQuery,
  usageResponse,
} from "../http/analytics-schemas";
import type {
  customerPatchSchema,
  customerStateSchema,
  customerViewSchema,
  eventPageSchema,
  eventSchema,
  grantListSchema,
  grantSchema,
  marginSchema,
  topupRequestSchema,
  topupResponseSchema,
} from "../http/customer-schemas";
import type { alternateIdBodySchema, eventsQuerySchema, planBodySchema } from "../http/routes/customers";
import type {
  decisionSchema,
  policyDocumentSchema,
  policyResponseSchema,
  policyValidationResponseSchema,
  policyVersionResponseSchema,
} from "../http/schemas";
import type {
  checkBodySchema,
  identifierSchema,
  reserveBodySchema,
  settleBodySchema,
} from "../services/request-schemas";

/** A customer id, alternate ID, plan, entitlement, hold or grant id: 1 to 256 characters, no control characters. */
export type Identifier = z.input<typeof identifierSchema>;

// Metering (SPEC §5.3): POST /v1/check | consume | release | reserve | settle.
/** The body of check, consume and release: `{ customer, entitlement, amount?, idempotencyKey? }`. */
export type MeterRequest = z.input<typeof checkBodySchema>;
/** The body of reserve: a check's body and the hold's `ttl?`. */
export type ReserveRequest = z.input<typeof reserveBodySchema>;
/** The body of settle: `{ customer, holdId, amount?, idempotencyKey? }`. */
export type SettleRequest = z.input<typeof settleBodySchema>;
/** The decision of SPEC §3.3: every metering call's answer, denials included. */
export type Decision = z.output<typeof decisionSchema>;

// Policy (SPEC §5.1).
/** A policy document (SPEC §2) as JSON; the client also takes its YAML text. */
export type PolicyDocument = z.input<typeof policyDocumentSchema>;
/** `GET /v1/policy` → `{ version, updatedAt, policy }`. */
export type ActivePolicy = z.output<typeof policyResponseSchema>;
/** `PUT /v1/policy` → `{ version }`. */
export type PolicyVersion = z.output<typeof policyVersionResponseSchema>;
/** `POST /v1/policy/validate` → `{ valid: true, version }`. */
export type PolicyValidation = z.output<typeof policyValidationResponseSchema>;

// Customers (SPEC §5.2).
/** `PUT /v1/customers/:id`: absent fields are kept, `null` clears, `alternateIds` replaces the list. */
export type CustomerPatch = z.input<typeof customerPatchSchema>;
/** The customer view. */
export type Customer = z.output<typeof customerViewSchema>;
/** `PUT /v1/customers/:id/plan`: `{ plan, keepUsage? }`. */
export type PlanChange = z.input<typeof planBodySchema>;
/** `POST /v1/customers/:id/alternate-ids`: `{ alternateId }`. */
export type AlternateIdRequest = z.input<typeof alternateIdBodySchema>;
/** The serialised state as `GET …/state` writes it. */
export type CustomerState = z.output<typeof customerStateSchema>;
/** The serialised state as `PUT …/state` reads it (any exported state is accepted). */
export type CustomerStateInput = z.input<typeof customerStateSchema>;
/** `GET …/events` query: what the server reads (the client writes the numbers as ASCII decimals). */
export type EventPageQuery = z.output<typeof eventsQuerySchema>;
/** One event with its webhook delivery state (SPEC §4, §7). */
export type CustomerEvent = z.output<typeof eventSchema>;
/** `GET …/events` → `{ events, next }`. */
export type EventPage = z.output<typeof eventPageSchema>;

// Money (SPEC §12).
/** `POST /v1/customers/:id/topups`: `{ topup, idempotencyKey? }`. */
export type TopupRequest = z.input<typeof topupRequestSchema>;
/** `POST …/topups` → `{ grant, customer }`. */
export type TopupResult = z.output<typeof topupResponseSchema>;
/** A grant: a balance made from a top-up. */
export type Grant = z.output<typeof grantSchema>;
/** `GET …/grants` → `{ grants }`. */
export type GrantList = z.output<typeof grantListSchema>;
/** `GET …/margin` (SPEC §12.5). */
export type Margin = z.output<typeof marginSchema>;

// Read model (SPEC §13.1).
/** `GET /v1/customers` query (`type`, `plan`, `org`, prefix `q`, `cursor`, `limit`), as the server reads it. */
export type CustomerListQuery = z.output<typeof listCustomersQuery>;
/** `GET /v1/customers` → `{ customers, next }`. */
export type CustomerList = z.output<typeof customerListResponse>;
/**
 * `GET /v1/usage` query, as the server reads it (`groupBy` a list of keys, joined by the client), except
 * `from` / `to`: the server turns an ISO-8601 text into an instant; the client takes that text or a `Date`.
 */
export type UsageQuery = Omit<z.output<typeof usageQuery>, "from" | "to"> & {
  /** Inclusive start: an ISO-8601 timestamp with a zone, a date (UTC midnight), or a `Date`. */
  from?: string | Date;
  /** Exclusive end, as `from`. */
  to?: string | Date;
};
/** `GET /v1/usage` → `{ series, truncated }`. */
export type UsageSeries = z.output<typeof usageResponse>;
