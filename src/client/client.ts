/**
 * `TollgateClient`: one typed method per `/v1` route (SPEC §5, §12, §13.3). Every method answers a
 * `TollgateResult` (a value or an error, never a throw); a denied decision is a value.
 *
 * Retries and idempotency. A call is sent again after a network error, a lost answer, 429 or a retryable 5xx
 * (see retry.ts), always as the same request, so:
 * - consume, release, reserve, settle and top-ups carry an `idempotencyKey` (SPEC §3.6, §12.3): the caller's,
 *   or one the client generates (`crypto.randomUUID()`) once per call; every retry sends the same key, so the
 *   server applies the call once and replays its first answer (`replayed: true` on a decision). The key is on
 *   the result (`idempotencyKey`).
 * - `check` changes nothing and takes no key.
 * - The other writes have no key because they are idempotent by nature: `PUT /v1/policy` (putting the same
 *   document keeps its version), `PUT` customer (a merging upsert of the same fields), `PUT …/plan`,
 *   `PUT …/state` (an overwrite with the same state), `POST …/alternate-ids` (adding an ID the customer holds
 *   is a no-op), `DELETE …/alternate-ids/:alt` (removing a missing one is 200), `POST …/redeliver` (a
 *   pending event answers as it stands), and the deletes. Two caveats: a plan change with `keepUsage: false`
 *   resets the meters each time it is applied, so a retry after a lost answer zeroes usage recorded in
 *   between (rare: milliseconds to seconds); a delete whose retry finds nothing to delete answers
 *   `{ removed: "unconfirmed" }` instead of `404` (see `Removal`). Any error that follows a lost attempt says
 *   so (`error.earlierAttemptLost`).
 */
import type { Removal, TollgateResult } from "./result";
import { type Call, type CallOptions, Transport, type TransportOptions } from "./transport";
import type {
  ActivePolicy,
  AlternateIdRequest,
  Customer,
  CustomerEvent,
  CustomerList,
  CustomerListQuery,
  CustomerPatch,
  CustomerState,
  CustomerStateInput,
  Decision,
  EventPage,
  EventPageQuery,
  GrantList,
  Identifier,
  Margin,
  MeterRequest,
  PlanChange,
  PolicyDocument,
  PolicyValidation,
  PolicyVersion,
  ReserveRequest,
  SettleRequest,
  TopupRequest,
  TopupResult,
  UsageQuery,
  UsageSeries,
} from "./types";

/** How to build a client. */
export interface ClientOptions extends TransportOptions {
  /** Makes the idempotency key of a call that has none. Default `crypto.randomUUID()`. */
  newIdempotencyKey?: () => string;
}

/** `PUT /v1/policy` preconditions (SPEC §5.1): a compare-and-set on the active version. */
export interface PolicyPreconditions {
  /** Write only if this version is active (`*`: any policy is). */
  ifMatch?: string;
  /** `*`: write only if no policy is active. */
  ifNoneMatch?: "*";
}

const segment = encodeURIComponent;
const customerPath = (id: Identifier, ...rest: string[]): string =>
  ["/v1/customers", segment(id), ...rest].join("/");

/** A policy as a body: a document as JSON, its text (YAML or JSON) as YAML. */
function policyBody(policy: PolicyDocument | string): Call["body"] {
  return typeof policy === "string" ? { text: policy, contentType: "application/yaml" } : { json: policy };
}

/** The typed client of the admin API. */
export class TollgateClient {
  readonly #transport: Transport;
  readonly #newKey: () => string;

  constructor(options: ClientOptions) {
    this.#transport = new Transport(options);
    this.#newKey = options.newIdempotencyKey ?? (() => crypto.randomUUID());
  }

  #send<T>(call: Call, options?: CallOptions): Promise<TollgateResult<T>> {
    return this.#transport.send(call, options) as Promise<TollgateResult<T>>;
  }

  /** A keyed write: the body with its key (the caller's, else a new one), the same on every retry. */
  #sendKeyed<T, B extends { idempotencyKey?: string | undefined }>(
    path: string,
    body: B,
    options?: CallOptions,
  ): Promise<TollgateResult<T>> {
    const idempotencyKey = body.idempotencyKey ?? this.#newKey();
    return this.#send<T>(
      { method: "POST", path, body: { json: { ...body, idempotencyKey } }, idempotencyKey },
      options,
    );
  }

  /** A delete: `204` → confirmed; a `404` of the deleted thing after a lost attempt → unconfirmed. */
  async #remove(path: string, goneCode: string, options?: CallOptions): Promise<TollgateResult<Removal>> {
    const result = await this.#send<undefined>({ method: "DELETE", path }, options);
    if (result.ok) return { ...result, value: { removed: "confirmed" } };
    const { error } = result;
    if (error.status === 404 && error.code === goneCode && error.earlierAttemptLost) {
      const { error: _, ...facts } = result;
      const message = `an earlier attempt's answer was lost and the retry found nothing to delete (${error.code}): that attempt most likely deleted it`;
      return { ...facts, ok: true, value: { removed: "unconfirmed", message } };
    }
    return result;
  }

  // Policy (SPEC §5.1).

  /** `GET /v1/policy`: the active policy; `503 policy_unavailable` when none is. */
  getPolicy(options?: CallOptions): Promise<TollgateResult<ActivePolicy>> {
    return this.#send({ method: "GET", path: "/v1/policy" }, options);
  }

  /** `PUT /v1/policy`: a document (sent as JSON) or its YAML text; `400 invalid_policy` with `details.issues`. */
  putPolicy(
    policy: PolicyDocument | string,
    options: CallOptions & PolicyPreconditions = {},
  ): Promise<TollgateResult<PolicyVersion>> {
    const headers: Record<string, string> = {};
    if (options.ifMatch !== undefined) headers["if-match"] = options.ifMatch;
    if (options.ifNoneMatch !== undefined) headers["if-none-match"] = options.ifNoneMatch;
    return this.#send({ method: "PUT", path: "/v1/policy", body: policyBody(policy), headers }, options);
  }

  /** `POST /v1/policy/validate`: checks without storing. */
  validatePolicy(
    policy: PolicyDocument | string,
    options?: CallOptions,
  ): Promise<TollgateResult<PolicyValidation>> {
    return this.#send({ method: "POST", path: "/v1/policy/validate", body: policyBody(policy) }, options);
  }

  // Customers (SPEC §5.2).

  /** `PUT /v1/customers/:id`: a merging upsert; answers the view. */
  upsertCustomer(
    id: Identifier,
    patch: CustomerPatch,
    options?: CallOptions,
  ): Promise<TollgateResult<Customer>> {
    return this.#send({ method: "PUT", path: customerPath(id), body: { json: patch } }, options);
  }

  /** `GET /v1/customers/:idOrAlternateId`: the view; `404 customer_not_found`. */
  getCustomer(idOrAlternateId: Identifier, options?: CallOptions): Promise<TollgateResult<Customer>> {
    return this.#send({ method: "GET", path: customerPath(idOrAlternateId) }, options);
  }

  /** `DELETE /v1/customers/:id`: frees its alternate IDs. See `Removal` for a retried delete. */
  deleteCustomer(id: Identifier, options?: CallOptions): Promise<TollgateResult<Removal>> {
    return this.#remove(customerPath(id), "customer_not_found", options);
  }

  /** `PUT /v1/customers/:id/plan`: `{ plan, keepUsage? }` (`keepUsage: false` resets the meters). */
  changePlan(id: Identifier, change: PlanChange, options?: CallOptions): Promise<TollgateResult<Customer>> {
    return this.#send({ method: "PUT", path: customerPath(id, "plan"), body: { json: change } }, options);
  }

  /** `POST /v1/customers/:id/alternate-ids`: resolves on the very next request. */
  addAlternateId(
    id: Identifier,
    alternateId: AlternateIdRequest["alternateId"],
    options?: CallOptions,
  ): Promise<TollgateResult<Customer>> {
    const body: AlternateIdRequest = { alternateId };
    return this.#send(
      { method: "POST", path: customerPath(id, "alternate-ids"), body: { json: body } },
      options,
    );
  }

  /** `DELETE /v1/customers/:id/alternate-ids/:alt`: idempotent (a missing one is 200); answers the view. */
  removeAlternateId(
    id: Identifier,
    alternateId: Identifier,
    options?: CallOptions,
  ): Promise<TollgateResult<Customer>> {
    return this.#send(
      { method: "DELETE", path: customerPath(id, "alternate-ids", segment(alternateId)) },
      options,
    );
  }

  /** `GET /v1/customers/:id/state`: the complete serialised state (`format: 1`). */
  exportState(id: Identifier, options?: CallOptions): Promise<TollgateResult<CustomerState>> {
    return this.#send({ method: "GET", path: customerPath(id, "state") }, options);
  }

  /** `PUT /v1/customers/:id/state`: overwrites with an exported state; checked as an upsert is. */
  restoreState(
    id: Identifier,
    state: CustomerStateInput,
    options?: CallOptions,
  ): Promise<TollgateResult<Customer>> {
    return this.#send({ method: "PUT", path: customerPath(id, "state"), body: { json: state } }, options);
  }

  /** `GET /v1/customers/:id/events?after=&limit=`: oldest first; `next` is the `after` of the next page. */
  listEvents(
    id: Identifier,
    query: EventPageQuery = {},
    options?: CallOptions,
  ): Promise<TollgateResult<EventPage>> {
    return this.#send(
      { method: "GET", path: customerPath(id, "events"), query: { after: query.after, limit: query.limit } },
      options,
    );
  }

  /** `POST /v1/customers/:id/events/:seq/redeliver`: queues a failed or delivered event again. */
  redeliverEvent(
    id: Identifier,
    seq: CustomerEvent["seq"],
    options?: CallOptions,
  ): Promise<TollgateResult<CustomerEvent>> {
    const path = customerPath(id, "events", String(seq), "redeliver");
    return this.#send({ method: "POST", path, body: { json: {} } }, options);
  }

  // Read model (SPEC §13.1): fed from the objects' event logs, it lags them by seconds.

  /** `GET /v1/customers`: live customers by id, filtered; pass a page's `next` as the next `cursor`. */
  listCustomers(query: CustomerListQuery = {}, options?: CallOptions): Promise<TollgateResult<CustomerList>> {
    return this.#send({ method: "GET", path: "/v1/customers", query: { ...query } }, options);
  }

  /** `GET /v1/usage`: recorded usage, grouped by any of customer, entitlement, model, and day or hour in `tz`. */
  getUsage(query: UsageQuery = {}, options?: CallOptions): Promise<TollgateResult<UsageSeries>> {
    const { from, to, groupBy, ...filters } = query;
    const instant = (value: string | Date | undefined) =>
      value instanceof Date ? value.toISOString() : value;
    const wire = { ...filters, from: instant(from), to: instant(to), groupBy: groupBy?.join(",") };
    return this.#send({ method: "GET", path: "/v1/usage", query: wire }, options);
  }

  // Money (SPEC §12).

  /** `POST /v1/customers/:id/topups`: a new grant, applied once per idempotency key. */
  topup(id: Identifier, request: TopupRequest, options?: CallOptions): Promise<TollgateResult<TopupResult>> {
    return this.#sendKeyed(customerPath(id, "topups"), request, options);
  }

  /** `GET /v1/customers/:id/grants`: the live grants. */
  listGrants(id: Identifier, options?: CallOptions): Promise<TollgateResult<GrantList>> {
    return this.#send({ method: "GET", path: customerPath(id, "grants") }, options);
  }

  /** `DELETE /v1/customers/:id/grants/:grantId`: revokes it. See `Removal` for a retried revoke. */
  revokeGrant(id: Identifier, grantId: Identifier, options?: CallOptions): Promise<TollgateResult<Removal>> {
    return this.#remove(customerPath(id, "grants", segment(grantId)), "grant_not_found", options);
  }

  /** `GET /v1/customers/:id/margin`: revenue, cost and margin of the current periods. */
  margin(id: Identifier, options?: CallOptions): Promise<TollgateResult<Margin>> {
    return this.#send({ method: "GET", path: customerPath(id, "margin") }, options);
  }

  // Metering (SPEC §5.3): every answer is a decision, denials included.

  /** `POST /v1/check`: the decision, nothing recorded (no idempotency key: nothing to apply twice). */
  check(request: MeterRequest, options?: CallOptions): Promise<TollgateResult<Decision>> {
    return this.#send({ method: "POST", path: "/v1/check", body: { json: request } }, options);
  }

  /** `POST /v1/consume`: check and record atomically, once per idempotency key. */
  consume(request: MeterRequest, options?: CallOptions): Promise<TollgateResult<Decision>> {
    return this.#sendKeyed("/v1/consume", request, options);
  }

  /** `POST /v1/release`: give back (a seat freed, a refund), once per idempotency key. */
  release(request: MeterRequest, options?: CallOptions): Promise<TollgateResult<Decision>> {
    return this.#sendKeyed("/v1/release", request, options);
  }

  /** `POST /v1/reserve`: book an amount and get a `holdId`, once per idempotency key. */
  reserve(request: ReserveRequest, options?: CallOptions): Promise<TollgateResult<Decision>> {
    return this.#sendKeyed("/v1/reserve", request, options);
  }

  /** `POST /v1/settle`: record a hold's actual amount and free it, once per idempotency key. */
  settle(request: SettleRequest, options?: CallOptions): Promise<TollgateResult<Decision>> {
    return this.#sendKeyed("/v1/settle", request, options);
  }
}
