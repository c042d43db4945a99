/**
 * SPEC §11 "Integrity": an org with members cannot stop being an org (`409 org_has_members`), a member cannot
 * join an org while it stops being one, and one string is never both a customer's id and another customer's
 * alternate ID, whatever the interleaving of the requests that create them.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  call,
  customerStub,
  expectError,
  getCustomer,
  ok,
  putCustomer,
  putPolicy,
  TEST_POLICY,
  unique,
} from "../support/api";

beforeAll(async () => {
  await putPolicy(TEST_POLICY);
});

const path = (id: string) => `/v1/customers/${encodeURIComponent(id)}`;

describe("an org with members stays an org", () => {
  it("turning it into another type is 409 org_has_members, by upsert or restore, and changes nothing", async () => {
    const org = unique("org");
    await putCustomer(org, { type: "org", plan: "pro" });
    const member = unique("member");
    await putCustomer(member, { org });
    const before = await getCustomer(org);
    await expectError(409, "org_has_members", "PUT", path(org), { type: "user" });
    await expectError(409, "org_has_members", "PUT", path(org), { type: "team", label: "renamed" });
    const state = await ok("GET", `${path(org)}/state`);
    await expectError(409, "org_has_members", "PUT", `${path(org)}/state`, {
      ...state,
      customer: { ...state.customer, type: "user" },
    });
    expect(await getCustomer(org)).toEqual(before);
    // Other changes to the org are fine.
    expect((await putCustomer(org, { label: "Acme" })).label).toBe("Acme");
    expect((await getCustomer(member)).effectivePlan).toBe("pro");
  });

  it("once its members moved away, left or were deleted, it may change type", async () => {
    const org = unique("org");
    const other = unique("other");
    await putCustomer(org, { type: "org" });
    await putCustomer(other, { type: "org" });
    const [moves, leaves, goes] = [unique("moves"), unique("leaves"), unique("goes")];
    for (const m of [moves, leaves, goes]) await putCustomer(m, { org });
    await putCustomer(moves, { org: other });
    await expectError(409, "org_has_members", "PUT", path(org), { type: "user" });
    await putCustomer(leaves, { org: null });
    await expectError(409, "org_has_members", "PUT", path(org), { type: "user" });
    expect((await call("DELETE", path(goes))).status).toBe(204);
    expect((await putCustomer(org, { type: "user" })).type).toBe("user");
    // No longer an org: nobody can join it.
    await expectError(400, "unknown_org", "PUT", path(moves), { org });
    await expectError(409, "org_has_members", "PUT", path(other), { type: "user" });
  });

  it("a registration its member no longer backs (a lost leave) does not block the change", async () => {
    const org = unique("org");
    await putCustomer(org, { type: "org" });
    const ghost = unique("ghost");
    await putCustomer(ghost);
    expect(await customerStub(org).addMember(ghost)).toBe(true);
    expect((await putCustomer(org, { type: "user" })).type).toBe("user");
  });

  it("members joining while the org changes type: never a member of a non-org", async () => {
    for (let round = 0; round < 8; round++) {
      const org = unique("org");
      await putCustomer(org, { type: "org" });
      const members = Array.from({ length: 4 }, () => unique("m"));
      for (const m of members) await putCustomer(m);
      const joins = members.map((m) => () => call("PUT", path(m), { org }));
      const change = () => call("PUT", path(org), { type: "user" });
      const requests = [...joins];
      requests.splice(round % (joins.length + 1), 0, change);
      const results = await Promise.all(requests.map((r) => r()));
      const changeResult = results[round % (joins.length + 1)];
      const joined = results.filter((r) => r !== changeResult);
      for (const r of joined) expect([200, 400]).toContain(r.status);
      for (const r of joined.filter((j) => j.status === 400)) expect(r.json.error.code).toBe("unknown_org");
      const finalType = (await getCustomer(org)).type;
      const memberOrgs = await Promise.all(members.map(async (m) => (await getCustomer(m)).org));
      if (changeResult?.status === 200) {
        expect(finalType).toBe("user");
        expect(memberOrgs.filter((o) => o === org)).toEqual([]);
      } else {
        expect(changeResult?.json.error.code).toBe("org_has_members");
        expect(finalType).toBe("org");
        expect(memberOrgs.filter((o) => o === org).length).toBeGreaterThan(0);
      }
    }
  });
});

describe("a string is a customer's id or another customer's alternate ID, never both", () => {
  it("creating customer S races A claiming S: exactly one use wins, the loser is 409 alternate_id_taken", async () => {
    for (let round = 0; round < 16; round++) {
      const a = unique("a");
      await putCustomer(a);
      const s = unique("s");
      const create = () => call("PUT", path(s), { label: "canonical" });
      const claim =
        round % 2 === 0
          ? () => call("POST", `${path(a)}/alternate-ids`, { alternateId: s })
          : () => call("PUT", path(a), { alternateIds: [s] });
      const order = round % 4 < 2 ? [create, claim] : [claim, create];
      const [first, second] = await Promise.all(order.map((r) => r()));
      const [created, claimed] = order[0] === create ? [first, second] : [second, first];
      const isCustomer = await customerStub(s).exists();
      const isAlternate = (await getCustomer(a)).alternateIds.includes(s);
      expect(isCustomer && isAlternate, `round ${round}: ${s} is both`).toBe(false);
      expect(isCustomer || isAlternate).toBe(true);
      if (isCustomer) {
        expect(created?.status).toBe(200);
        expect(claimed?.status).toBe(409);
        expect(claimed?.json.error.code).toBe("alternate_id_taken");
      } else {
        expect(claimed?.status).toBe(200);
        // The create either lost (409) or, arriving after the claim, updated A through its new alternate ID.
        if (created?.status === 200) expect(created.json.id).toBe(a);
        else expect(created?.json.error.code).toBe("alternate_id_taken");
      }
    }
  });

  it("a deleted customer's id may become another customer's alternate ID, and back", async () => {
    const a = unique("a");
    const s = unique("s");
    await putCustomer(a);
    await putCustomer(s);
    await expectError(409, "alternate_id_taken", "POST", `${path(a)}/alternate-ids`, { alternateId: s });
    expect((await call("DELETE", path(s))).status).toBe(204);
    expect((await ok("POST", `${path(a)}/alternate-ids`, { alternateId: s })).alternateIds).toEqual([s]);
    expect((await ok("DELETE", `${path(a)}/alternate-ids/${s}`)).alternateIds).toEqual([]);
    expect((await putCustomer(s)).id).toBe(s);
  });
});
