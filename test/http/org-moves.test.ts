/**
 * SPEC §3.5 and §11 "Policy store": a member's hold on its org stays settleable by that member after it moves
 * to another org or leaves: the usage lands on the org that kept the hold, and the hold is freed there.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  call,
  consume,
  expectError,
  getCustomer,
  putCustomer,
  putPolicy,
  reserve,
  settle,
  TEST_POLICY,
  unique,
} from "../support/api";

beforeAll(async () => {
  await putPolicy(TEST_POLICY);
});

/** Two orgs and a member of the first holding 2 seats on it. */
async function memberWithHold() {
  const first = unique("first");
  const second = unique("second");
  await putCustomer(first, { type: "org" });
  await putCustomer(second, { type: "org" });
  const member = unique("member");
  await putCustomer(member, { org: first, alternateIds: [`${member}-key`] });
  const held = await reserve({ customer: member, entitlement: "seats", amount: 2 });
  expect(held).toMatchObject({ allowed: true, meteredOn: first, held: 2 });
  return { first, second, member, holdId: held.holdId as string };
}

describe("a member's org-scoped hold after the member changes org", () => {
  it("moved to another org: settle records on the original org and frees its seats; replays work", async () => {
    const { first, second, member, holdId } = await memberWithHold();
    await putCustomer(member, { org: second });
    const body = { customer: `${member}-key`, holdId, amount: 1, idempotencyKey: "settle-1" };
    const settled = await settle(body);
    expect(settled).toMatchObject({
      allowed: true,
      reason: "within_limit",
      customer: member,
      meteredOn: first,
      used: 1,
      held: 0,
      replayed: false,
    });
    expect((await getCustomer(first)).meters.seats).toMatchObject({ used: 1, held: 0 });
    expect((await getCustomer(second)).meters.seats).toMatchObject({ used: 0, held: 0 });
    // The same key replays the first answer; a second settle without it finds no hold.
    expect(await settle(body)).toEqual({ ...settled, replayed: true });
    await expectError(404, "hold_not_found", "POST", "/v1/settle", { customer: member, holdId });
    // The new org's seats are the member's from now on.
    expect(await reserve({ customer: member, entitlement: "seats" })).toMatchObject({ meteredOn: second });
  });

  it("left its org: the cancel (amount 0) frees the seats on the org it left", async () => {
    const { first, member, holdId } = await memberWithHold();
    await putCustomer(member, { org: null });
    expect(await settle({ customer: member, holdId, amount: 0 })).toMatchObject({
      reason: "released",
      meteredOn: first,
      used: 0,
      held: 0,
    });
    expect((await getCustomer(first)).meters.seats).toMatchObject({ used: 0, held: 0 });
  });

  it("another customer cannot settle it, and a forged hold id finds nothing", async () => {
    const { first, second, member, holdId } = await memberWithHold();
    const stranger = unique("stranger");
    await putCustomer(stranger, { org: second });
    await expectError(404, "hold_not_found", "POST", "/v1/settle", { customer: stranger, holdId });
    const forged = `${holdId.slice(0, 30)}${"0".repeat(64)}`;
    await expectError(404, "hold_not_found", "POST", "/v1/settle", { customer: member, holdId: forged });
    expect((await getCustomer(first)).meters.seats).toMatchObject({ held: 2 });
  });
});

describe("a member that inherits its org's plan, after the org changes plan", () => {
  it("decides every call on the org's plan as it is now, however many calls it made before", async () => {
    const org = unique("plan_org");
    await putCustomer(org, { type: "org" });
    const member = unique("plan_member");
    await putCustomer(member, { org });
    const seat = { customer: member, entitlement: "seats", amount: 1 };
    // `free` (the default) through the org: 3 seats.
    expect(await consume(seat)).toMatchObject({ allowed: true, meteredOn: org, plan: "free", used: 1 });
    // `solo` has no seats: refused on the member, as the org's plan says now.
    await putCustomer(org, { plan: "solo" });
    expect(await consume(seat)).toMatchObject({ allowed: false, reason: "not_entitled", plan: "solo" });
    // `pro`: 10 seats; two more calls on the same plan.
    await putCustomer(org, { plan: "pro" });
    expect(await consume(seat)).toMatchObject({ allowed: true, meteredOn: org, plan: "pro", used: 2 });
    expect(await consume(seat)).toMatchObject({ allowed: true, meteredOn: org, plan: "pro", used: 3 });
    // Back to `free`, named: the 4th seat is over its 3, whatever plan the member saw last.
    await putCustomer(org, { plan: "free" });
    expect(await consume(seat)).toMatchObject({ allowed: false, meteredOn: org, plan: "free", used: 3 });
    // The org is gone: the member decides under its own default plan, which has no org to meter seats on.
    await call("DELETE", `/v1/customers/${org}`);
    expect(await consume(seat)).toMatchObject({ allowed: false });
  });
});
