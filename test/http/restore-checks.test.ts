/**
 * SPEC §11 "Bounds": `PUT …/state` validates its record exactly as `PUT /v1/customers/:id` does (plan, org,
 * alternate-ID ownership and count) and claims its alternate IDs; 400/409 and nothing changed otherwise.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  call,
  expectError,
  getCustomer,
  type Json,
  ok,
  putCustomer,
  putPolicy,
  TEST_POLICY,
  unique,
} from "../support/api";

beforeAll(async () => {
  await putPolicy(TEST_POLICY);
});

const statePath = (id: string) => `/v1/customers/${encodeURIComponent(id)}/state`;

/** A customer's exported state, then the customer deleted: what a restore starts from. */
async function exported(fields: Json = {}): Promise<{ id: string; state: Json }> {
  const id = unique("saved");
  await putCustomer(id, { label: "saved", alternateIds: [`${id}-k`], ...fields });
  const state = await ok("GET", statePath(id));
  expect((await call("DELETE", `/v1/customers/${id}`)).status).toBe(204);
  return { id, state };
}

const withRecord = (state: Json, record: Json) => ({ ...state, customer: { ...state.customer, ...record } });

describe("PUT …/state checks the record like an upsert", () => {
  let org = "";
  let user = "";
  beforeAll(async () => {
    org = unique("org");
    await putCustomer(org, { type: "org", alternateIds: [`${org}.example`] });
    user = unique("user");
    await putCustomer(user);
  });

  it("an unknown plan is 400 unknown_plan and nothing is restored", async () => {
    const { id, state } = await exported();
    await expectError(400, "unknown_plan", "PUT", statePath(id), withRecord(state, { plan: "platinum" }));
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}`);
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}-k`);
  });

  it("an org that is itself, a plain user or nobody is 400 unknown_org", async () => {
    const { id, state } = await exported();
    for (const bad of [id, user, unique("nobody")]) {
      await expectError(400, "unknown_org", "PUT", statePath(id), withRecord(state, { org: bad }));
      await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}`);
    }
    // Restoring over a live customer changes nothing either.
    expect((await ok("PUT", statePath(id), state)).id).toBe(id);
    const before = await getCustomer(id);
    await expectError(400, "unknown_org", "PUT", statePath(id), withRecord(state, { org: id }));
    await expectError(400, "unknown_org", "PUT", statePath(id), withRecord(state, { org: user }));
    expect(await getCustomer(id)).toEqual(before);
  });

  it("an org with an org is 400 invalid_request", async () => {
    const { id, state } = await exported();
    const error = await expectError(
      400,
      "invalid_request",
      "PUT",
      statePath(id),
      withRecord(state, { type: "org", org }),
    );
    expect(error.details.issues[0].path).toBe("customer.org");
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}`);
  });

  it("an org named by its alternate ID is stored as its canonical id, and the restore counts as a member", async () => {
    const { id, state } = await exported();
    const view = await ok("PUT", statePath(id), withRecord(state, { org: `${org}.example` }));
    expect(view.org).toBe(org);
    // The org now knows this member: it cannot stop being an org.
    await expectError(409, "org_has_members", "PUT", `/v1/customers/${org}`, { type: "user" });
    await putCustomer(id, { org: null });
  });

  it("an alternate ID held by another customer, or another customer's id, is 409 alternate_id_taken", async () => {
    const { id, state } = await exported();
    await expectError(
      409,
      "alternate_id_taken",
      "PUT",
      statePath(id),
      withRecord(state, { alternateIds: [`${id}-k`, `${org}.example`] }),
    );
    await expectError(
      409,
      "alternate_id_taken",
      "PUT",
      statePath(id),
      withRecord(state, { alternateIds: [user] }),
    );
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}`);
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}-k`);
    expect((await getCustomer(`${org}.example`)).id).toBe(org);
  });

  it("more than 100 alternate IDs is 409 too_many_alternate_ids", async () => {
    const { id, state } = await exported();
    const alternateIds = Array.from({ length: 101 }, (_, i) => `${id}-${i}`);
    await expectError(
      409,
      "too_many_alternate_ids",
      "PUT",
      statePath(id),
      withRecord(state, { alternateIds }),
    );
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}`);
    await expectError(404, "customer_not_found", "GET", `/v1/customers/${id}-0`);
  });

  it("a valid record restores and claims its alternate IDs in the index", async () => {
    const { id, state } = await exported({ plan: "pro", org });
    const view = await ok("PUT", statePath(id), state);
    expect(view).toMatchObject({ id, plan: "pro", org, alternateIds: [`${id}-k`] });
    expect((await getCustomer(`${id}-k`)).id).toBe(id);
    await expectError(409, "alternate_id_taken", "PUT", `/v1/customers/${unique("late")}`, {
      alternateIds: [`${id}-k`],
    });
    await putCustomer(id, { org: null });
  });
});
