/**
 * Compile-time checks of `tollgate/client` (SPEC §13.3), enforced by `npm run typecheck`: its types are the
 * route schemas' own (input for requests, output for answers), and a wrong field name in a request or an
 * answer does not compile (each `@ts-expect-error` below fails the typecheck if the line compiles).
 */

import {
  type Customer,
  type CustomerList,
  type CustomerListQuery,
  type CustomerPatch,
  type Decision,
  type EventPageQuery,
  type MeterRequest,
  type Removal,
  type ReserveRequest,
  type SettleRequest,
  TollgateClient,
  type TollgateErrorCode,
  type TollgateResult,
  type TopupRequest,
  type UsageQuery,
  type UsageSeries,
} from "tollgate/client";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type { ErrorCode } from "../../src/errors/catalogue";
import type {
  customerListResponse,
  listCustomersQuery,
  usageQuery,
  usageResponse,
} from "../../src/http/analytics-schemas";
import type { customerPatchSchema, customerViewSchema } from "../../src/http/customer-schemas";
import type { eventsQuerySchema } from "../../src/http/routes/customers";
import type { decisionSchema } from "../../src/http/schemas";
import type {
  checkBodySchema,
  reserveBodySchema,
  settleBodySchema,
} from "../../src/services/request-schemas";

// Offline: the runtime part below only needs a failure to narrow.
const client = new TollgateClient({
  baseUrl: "http://gate.test",
  token: "t",
  maxAttempts: 1,
  fetch: () => Promise.reject(new TypeError("offline")),
});

describe("the client's types are the schemas' types", () => {
  it("requests are the schemas' input, answers their output", () => {
    expectTypeOf<MeterRequest>().toEqualTypeOf<z.input<typeof checkBodySchema>>();
    expectTypeOf<ReserveRequest>().toEqualTypeOf<z.input<typeof reserveBodySchema>>();
    expectTypeOf<SettleRequest>().toEqualTypeOf<z.input<typeof settleBodySchema>>();
    expectTypeOf<CustomerPatch>().toEqualTypeOf<z.input<typeof customerPatchSchema>>();
    expectTypeOf<EventPageQuery>().toEqualTypeOf<z.output<typeof eventsQuerySchema>>();
    expectTypeOf<Decision>().toEqualTypeOf<z.output<typeof decisionSchema>>();
    expectTypeOf<Customer>().toEqualTypeOf<z.output<typeof customerViewSchema>>();
    expectTypeOf<CustomerListQuery>().toEqualTypeOf<z.output<typeof listCustomersQuery>>();
    expectTypeOf<CustomerList>().toEqualTypeOf<z.output<typeof customerListResponse>>();
    expectTypeOf<UsageSeries>().toEqualTypeOf<z.output<typeof usageResponse>>();
    // The usage query is the server's, but `from` / `to` are sent as text (or a Date) and read as instants.
    expectTypeOf<Omit<UsageQuery, "from" | "to">>().toEqualTypeOf<
      Omit<z.output<typeof usageQuery>, "from" | "to">
    >();
    expectTypeOf<UsageQuery["from"]>().toEqualTypeOf<string | Date | undefined>();
    // And they say what the SPEC says (§3.3, §5.3).
    expectTypeOf<MeterRequest["amount"]>().toEqualTypeOf<number | string | undefined>();
    expectTypeOf<Decision["outcome"]>().toEqualTypeOf<"allowed" | "denied" | "overage" | "observed">();
    expectTypeOf<Decision["limit"]>().toEqualTypeOf<number | null>();
    expectTypeOf<TollgateErrorCode>().toEqualTypeOf<
      ErrorCode | "network_error" | "aborted" | "unexpected_response"
    >();
  });

  it("each method takes its route's request and answers its route's value", () => {
    expectTypeOf(client.consume).parameter(0).toEqualTypeOf<MeterRequest>();
    expectTypeOf(client.reserve).parameter(0).toEqualTypeOf<ReserveRequest>();
    expectTypeOf(client.settle).parameter(0).toEqualTypeOf<SettleRequest>();
    expectTypeOf(client.topup).parameter(1).toEqualTypeOf<TopupRequest>();
    expectTypeOf(client.upsertCustomer).parameter(1).toEqualTypeOf<CustomerPatch>();
    expectTypeOf(client.consume).returns.resolves.toEqualTypeOf<TollgateResult<Decision>>();
    expectTypeOf(client.getCustomer).returns.resolves.toEqualTypeOf<TollgateResult<Customer>>();
    expectTypeOf(client.deleteCustomer).returns.resolves.toEqualTypeOf<TollgateResult<Removal>>();
  });
});

/**
 * What a caller writes, checked by the compiler only (never called). Each wrong call is right but for one
 * field name, so the only error on its line is that name (an excess property of the route's body type).
 */
function wrongFieldsInRequests(c: TollgateClient): void {
  void c.consume({ customer: "a", entitlement: "tokens", amount: "20MB", idempotencyKey: "k" });
  // @ts-expect-error `entitlment` is not a field of a metering body
  void c.consume({ customer: "a", entitlement: "tokens", entitlment: "tokens" });
  // @ts-expect-error `idempotency_key` is spelt `idempotencyKey`
  void c.release({ customer: "a", entitlement: "tokens", idempotency_key: "k" });
  // @ts-expect-error `ttlMs` is not a field of a reserve (it is `ttl`)
  void c.reserve({ customer: "a", entitlement: "tokens", ttlMs: 1000 });
  // @ts-expect-error `holdID` is spelt `holdId`
  void c.settle({ customer: "a", holdId: "h", holdID: "h" });
  // @ts-expect-error `plans` is not a field of a customer patch
  void c.upsertCustomer("a", { plans: "pro" });
  // @ts-expect-error `keep_usage` is spelt `keepUsage`
  void c.changePlan("a", { plan: "pro", keep_usage: false });
  // @ts-expect-error `topUp` is spelt `topup`
  void c.topup("a", { topup: "pack", topUp: "pack" });
  // @ts-expect-error `cursor` is not a query parameter of the events page (it is `after`)
  void c.listEvents("a", { cursor: 2 });
  // @ts-expect-error an amount is a number or a string with a unit, not a boolean
  void c.check({ customer: "a", entitlement: "tokens", amount: true });
  void c.getUsage({ groupBy: ["entitlement", "day"], from: "2026-12-01", tz: "Europe/Berlin" });
  // @ts-expect-error `week` is not a groupBy key (customer, entitlement, model, day, hour)
  void c.getUsage({ groupBy: ["entitlement", "week"] });
  // @ts-expect-error `group_by` is spelt `groupBy`
  void c.getUsage({ group_by: ["day"] });
  // @ts-expect-error `search` is not a listing filter (the prefix search is `q`)
  void c.listCustomers({ search: "ad" });
  // @ts-expect-error a restore takes an exported state, not a customer patch
  void c.restoreState("a", { plan: "pro" });
}

describe("a wrong field name does not compile", () => {
  it("in a request", () => {
    expectTypeOf(wrongFieldsInRequests).toBeFunction();
  });

  it("in an answer", async () => {
    expectTypeOf<Decision>().toHaveProperty("allowed");
    // @ts-expect-error `alowed` is not a field of a decision
    expectTypeOf<Decision>().toHaveProperty("alowed");
    // @ts-expect-error a decision's hold is `holdId`
    expectTypeOf<Decision>().toHaveProperty("hold");
    expectTypeOf<Customer>().toHaveProperty("effectivePlan");
    // @ts-expect-error the view's plan in force is `effectivePlan`
    expectTypeOf<Customer>().toHaveProperty("effective_plan");
    // @ts-expect-error a usage point's time is `bucket`
    expectTypeOf<UsageSeries["series"][number]>().toHaveProperty("day");

    // Narrowing on `ok` gives the value or the typed error, never both.
    const result = await client.check({ customer: "a", entitlement: "tokens" });
    if (result.ok) {
      expectTypeOf(result.value.retryAfterSeconds).toEqualTypeOf<number | null>();
      // @ts-expect-error a success has no error
      void result.error;
    } else {
      expectTypeOf(result.error.status).toEqualTypeOf<number>();
      // @ts-expect-error `customer_not_fund` is not a code of the catalogue
      if (result.error.code === "customer_not_fund") expect.fail();
      expect(result.error).toMatchObject({ status: 0, code: "network_error" });
    }
    expect(result.ok).toBe(false);
    expect(client).toBeInstanceOf(TollgateClient);
  });
});
