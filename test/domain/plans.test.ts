import { describe, expect, it } from "vitest";
import { resolvePlan, routeEntitlement, routeOrgEntitlement } from "../../src/domain/plans";
import { customer, entitlement, plan, policy } from "../support/compiled";

const seats = (value: number) => entitlement("seats", { scope: "org", limit: { value } });
const free = plan("free", [seats(3), entitlement("tokens", { limit: { value: 500 } })], true);
const pro = plan("pro", [
  seats(25),
  entitlement("tokens", { limit: { value: 5000 } }),
  entitlement("export_pdf"),
]);
const bare = plan("bare", []);
const withDefault = policy([free, pro, bare]);
const noDefault = policy([pro, bare]);

describe("resolvePlan", () => {
  it.each([
    ["own plan first", withDefault, "pro", "bare", "pro"],
    ["then the org's plan", withDefault, null, "pro", "pro"],
    ["then the default", withDefault, null, null, "free"],
  ])("%s", (_label, pol, own, inherited, expected) => {
    const resolved = resolvePlan(pol, own, inherited);
    expect(resolved.ok && resolved.plan.name).toBe(expected);
  });

  it.each([
    ["no own, org or default plan", noDefault, null, null, null],
    ["a named plan the policy lacks", withDefault, "enterprise", null, "enterprise"],
    ["an inherited-only prototype name", withDefault, "__proto__", null, "__proto__"],
  ])("plan_not_found: %s", (_label, pol, own, inherited, name) => {
    expect(resolvePlan(pol, own, inherited)).toMatchObject({ ok: false, planName: name });
  });
});

describe("routeEntitlement", () => {
  it("meters a customer-scoped entitlement locally under the inherited plan", () => {
    const route = routeEntitlement(withDefault, customer("u1", { org: "acme" }), "pro", "tokens");
    expect(route.kind === "local" && route.entitlement.limit?.value).toBe(5000);
  });

  it("forwards an org-scoped entitlement to the org", () => {
    expect(routeEntitlement(withDefault, customer("u1", { org: "acme" }), null, "seats")).toMatchObject({
      kind: "org",
      org: "acme",
    });
  });

  it("an org meters org-scoped entitlements on itself", () => {
    expect(routeEntitlement(withDefault, customer("acme", { type: "org" }), null, "seats").kind).toBe(
      "local",
    );
  });

  it("a user without an org is refused with no_org and no meteredOn", () => {
    expect(routeEntitlement(withDefault, customer("u1"), null, "seats")).toMatchObject({
      kind: "refused",
      reason: "no_org",
      meteredOn: null,
    });
  });

  it.each(["export_pdf", "toString", "__proto__", "constructor"])("not_entitled for %s on free", (name) => {
    expect(routeEntitlement(withDefault, customer("u1"), null, name)).toMatchObject({
      kind: "refused",
      reason: "not_entitled",
      plan: "free",
    });
  });

  it("plan_not_found when nothing resolves", () => {
    expect(routeEntitlement(noDefault, customer("u1"), null, "tokens")).toMatchObject({
      kind: "refused",
      reason: "plan_not_found",
    });
  });

  it("the org's plan decides the limit; not_entitled when it lacks the entitlement", () => {
    const org = customer("acme", { type: "org", plan: "pro" });
    const route = routeOrgEntitlement(withDefault, org, "seats");
    expect(route.kind === "local" && route.entitlement.limit?.value).toBe(25);
    expect(routeOrgEntitlement(withDefault, { ...org, plan: "bare" }, "seats")).toMatchObject({
      reason: "not_entitled",
      plan: "bare",
    });
  });
});
