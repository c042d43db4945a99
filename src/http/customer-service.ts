/**
 * Customer operations behind `/v1/customers` (SPEC §5.2, §11 "Customers"): resolution and the checks that
 * span objects (plans, orgs) happen here, before the one call to the customer's object. Alternate-ID claims
 * are the object's job (src/objects/alternate-ids.ts): it serialises them per customer and undoes a partial
 * claim, so a request that errors changes nothing.
 */

import type { MarginReport } from "../domain/money";
import type {
  CustomerIdentity,
  CustomerPatch,
  CustomerState,
  CustomerView,
  EventPage,
  GrantView,
  Result,
} from "../objects/contract";
import { isUnknown } from "../objects/contract";
import type { ListedEvent } from "../objects/customer-store";
import { customerStub, forgetAlternateId, resolveCustomer, withCustomer } from "../objects/directory";
import type { ActivePolicy } from "../policy/store";
import { ApiError, policyUnavailable, valueOrThrow } from "./errors";

/** Turn an object's answer into a value or the matching ApiError (`notFound` phrases `customer_not_found`). */
export function unwrap<T>(result: Result<T>, notFound: () => ApiError): T {
  if (!result.ok && isUnknown(result)) throw notFound();
  return valueOrThrow(result);
}

export const customerNotFound = (key: string) => () =>
  new ApiError("customer_not_found", `customer ${key} not found`);

function checkPlan(plan: string | null | undefined, active: ActivePolicy | null): void {
  if (plan === undefined || plan === null) return;
  if (active === null) throw policyUnavailable();
  if (!active.policy.plans.has(plan)) throw new ApiError("unknown_plan", `plan ${plan} is not in the policy`);
}

/** The org a patch names, as a canonical id; `400 unknown_org` unless it is an existing customer of type org. */
async function checkOrg(env: Env, org: string, self: string): Promise<string> {
  const found = await resolveCustomer(env, org);
  if (found === null || found.type !== "org" || found.id === self) {
    throw new ApiError("unknown_org", `org ${org} is not an existing customer of type org`);
  }
  return found.id;
}

/**
 * The checks of a record's fields that span objects, the same for an upsert and a restore (SPEC §11): the plan
 * exists, the org is an existing org other than the customer itself, an org has no org. Answers the org as a
 * canonical id (undefined: kept as it is). `fields` holds what the request sets; absent fields are kept.
 */
async function checkRecord(
  env: Env,
  id: string,
  existing: CustomerIdentity | null,
  fields: { type?: string; plan?: string | null; org?: string | null },
  active: ActivePolicy | null,
  path = "",
): Promise<string | null | undefined> {
  checkPlan(fields.plan, active);
  const type = fields.type ?? existing?.type ?? "user";
  const org =
    fields.org === undefined || fields.org === null ? fields.org : await checkOrg(env, fields.org, id);
  // Checked against the merged record: turning a member into an org must drop its org in the same request.
  if (type === "org" && (org === undefined ? (existing?.org ?? null) : org) !== null) {
    throw new ApiError("invalid_request", "an org cannot belong to an org", {
      issues: [{ path: `${path}org`, message: "an org cannot have an org" }],
    });
  }
  return org;
}

/** `PUT /v1/customers/:id`: a merging upsert; an `:id` that is an alternate ID updates its customer. */
export async function upsertCustomer(
  env: Env,
  key: string,
  patch: CustomerPatch,
  active: ActivePolicy | null,
): Promise<CustomerView> {
  const existing = await resolveCustomer(env, key);
  const id = existing?.id ?? key;
  const next: CustomerPatch = { ...patch };
  const org = await checkRecord(env, id, existing, patch, active);
  if (org !== undefined) next.org = org;
  // The customer's object claims new alternate IDs and frees dropped ones, one change at a time; it also
  // registers with a new org, which refuses once it is no org (the check above is not the last word).
  const view = unwrap<CustomerView>(
    await customerStub(env, id).upsert(id, next, active?.version ?? null),
    customerNotFound(key),
  );
  forgetDropped(existing?.alternateIds ?? [], view.alternateIds);
  return view;
}

/** Drop this isolate's cached resolution of IDs a change removed (others find out from the owner). */
function forgetDropped(before: string[], after: string[]): void {
  for (const alt of before) if (!after.includes(alt)) forgetAlternateId(alt);
}

/** `GET /v1/customers/:idOrAlternateId`. */
export async function getCustomer(env: Env, key: string, active: ActivePolicy | null): Promise<CustomerView> {
  const result = await withCustomer<CustomerView>(env, key, (stub, alt) =>
    stub.view(alt, active?.version ?? null),
  );
  return unwrap(result, customerNotFound(key));
}

/** `DELETE /v1/customers/:id`: its alternate IDs are freed. */
export async function deleteCustomer(env: Env, key: string): Promise<void> {
  const found = await resolveCustomer(env, key);
  if (found === null) throw customerNotFound(key)();
  const freed = unwrap(await customerStub(env, found.id).remove(), customerNotFound(key));
  forgetDropped(freed, []);
}

/** `PUT /v1/customers/:id/plan`. */
export async function changePlan(
  env: Env,
  key: string,
  plan: string | null,
  keepUsage: boolean,
  active: ActivePolicy | null,
): Promise<CustomerView> {
  checkPlan(plan, active);
  const result = await withCustomer<CustomerView>(env, key, async (stub, alt) => {
    const who: Result<CustomerIdentity> = await stub.identify(alt);
    return who.ok ? stub.changePlan(plan, keepUsage, active?.version ?? null) : who;
  });
  return unwrap(result, customerNotFound(key));
}

/** `POST /v1/customers/:id/alternate-ids`. */
export async function addAlternateId(
  env: Env,
  key: string,
  alternateId: string,
  active: ActivePolicy | null,
): Promise<CustomerView> {
  const found = await resolveCustomer(env, key);
  if (found === null) throw customerNotFound(key)();
  return unwrap<CustomerView>(
    await customerStub(env, found.id).addAlternateId(alternateId, active?.version ?? null),
    customerNotFound(key),
  );
}

/** `DELETE /v1/customers/:id/alternate-ids/:alt`: idempotent. */
export async function removeAlternateId(
  env: Env,
  key: string,
  alternateId: string,
  active: ActivePolicy | null,
): Promise<CustomerView> {
  const found = await resolveCustomer(env, key);
  if (found === null) throw customerNotFound(key)();
  const view = unwrap<CustomerView>(
    await customerStub(env, found.id).removeAlternateId(alternateId, active?.version ?? null),
    customerNotFound(key),
  );
  forgetAlternateId(alternateId);
  return view;
}

/** `GET /v1/customers/:id/state`. */
export async function exportCustomerState(env: Env, key: string): Promise<CustomerState> {
  return unwrap(
    await withCustomer<CustomerState>(env, key, (stub, alt) => stub.exportState(alt)),
    customerNotFound(key),
  );
}

/** `PUT /v1/customers/:id/state`: restore (overwrite) from a state document. */
export async function restoreCustomerState(
  env: Env,
  key: string,
  state: CustomerState,
  active: ActivePolicy | null,
): Promise<CustomerView> {
  const id = state.customer.id;
  if (id !== key) {
    throw new ApiError("invalid_request", "the state belongs to another customer", {
      issues: [{ path: "customer.id", message: `must equal the URL id ${key}` }],
    });
  }
  const existing = await resolveCustomer(env, id);
  if (existing !== null && existing.id !== id) {
    throw new ApiError("alternate_id_taken", `${id} is an alternate ID of another customer`);
  }
  // Validated exactly as an upsert of the whole record (SPEC §11 "Bounds"); the object claims the alternate IDs.
  const record = state.customer;
  const org = await checkRecord(env, id, null, record, active, "customer.");
  const checked: CustomerState = { ...state, customer: { ...record, org: org ?? null } };
  const view = unwrap<CustomerView>(
    await customerStub(env, id).importState(checked, active?.version ?? null),
    customerNotFound(key),
  );
  forgetDropped(existing?.alternateIds ?? [], view.alternateIds);
  return view;
}

/** `GET /v1/customers/:id/events`. */
export async function listCustomerEvents(
  env: Env,
  key: string,
  after: number,
  limit: number,
): Promise<EventPage> {
  return unwrap(
    await withCustomer<EventPage>(env, key, (stub, alt) => stub.listEvents(alt, after, limit)),
    customerNotFound(key),
  );
}

/** `POST /v1/customers/:id/events/:seq/redeliver`: the event with its new delivery state (SPEC §7). */
export async function redeliverCustomerEvent(env: Env, key: string, seq: number): Promise<ListedEvent> {
  return unwrap(
    await withCustomer<ListedEvent>(env, key, (stub, alt) => stub.redeliverEvent(alt, seq)),
    customerNotFound(key),
  );
}

/** `POST /v1/customers/:id/topups` → `{ grant, customer }` (SPEC §12.3). */
export async function buyTopup(
  env: Env,
  key: string,
  topup: string,
  idempotencyKey: string | null,
  active: ActivePolicy | null,
): Promise<{ grant: GrantView; customer: CustomerView }> {
  if (active === null) throw policyUnavailable();
  const result = await withCustomer<{ grant: GrantView; customer: CustomerView }>(env, key, (stub, alt) =>
    stub.buyTopup(alt, topup, idempotencyKey, active.version),
  );
  return unwrap(result, customerNotFound(key));
}

/** `GET /v1/customers/:id/grants`. */
export async function listGrants(env: Env, key: string): Promise<{ grants: GrantView[] }> {
  const result = await withCustomer<{ grants: GrantView[] }>(env, key, (stub, alt) => stub.listGrants(alt));
  return unwrap(result, customerNotFound(key));
}

/** `DELETE /v1/customers/:id/grants/:grantId`. */
export async function revokeGrant(env: Env, key: string, grantId: string): Promise<void> {
  const result = await withCustomer<null>(env, key, (stub, alt) => stub.revokeGrant(alt, grantId));
  unwrap(result, customerNotFound(key));
}

/** `GET /v1/customers/:id/margin` (SPEC §12.5). */
export async function customerMargin(
  env: Env,
  key: string,
  active: ActivePolicy | null,
): Promise<MarginReport> {
  if (active === null) throw policyUnavailable();
  const result = await withCustomer<MarginReport>(env, key, (stub, alt) => stub.margin(alt, active.version));
  return unwrap(result, customerNotFound(key));
}
