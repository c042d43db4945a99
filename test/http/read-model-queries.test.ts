/**
 * The read model's routes (SPEC §13.1): the customer listing (created listed, deleted not, prefix search by
 * id, label and alternate ID, filters, cursor pages), release subtracting, day and hour buckets in a zone
 * across DST, and hostile query strings answering 400 or correct results, never a 5xx.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  call,
  consume,
  expectError,
  expectStatus,
  getCustomer,
  type Json,
  ok,
  putCustomer,
  putPolicy,
  release,
  runProjection,
  TEST_POLICY,
} from "../support/api";
import { listAll, usage } from "../support/read-model";

beforeAll(async () => {
  await putPolicy(TEST_POLICY);
});

const ids = (customers: Json[]) => customers.map((c) => c.id);

describe("GET /v1/customers (SPEC §13.1)", () => {
  const ORG = "lq_org";
  const MEMBERS = Array.from({ length: 23 }, (_, i) => `lq_m_${String(i).padStart(2, "0")}`);

  beforeAll(async () => {
    await putCustomer(ORG, { type: "org", label: "Acme Inc" });
    for (const id of MEMBERS) await putCustomer(id, { org: ORG, label: `Member ${id}` });
    await putCustomer("lq_solo", {
      plan: "pro",
      label: "Zed the soloist",
      alternateIds: ["cus_STRIPE_42", "zed@mail.test"],
    });
    await putCustomer("lq_gone", { label: "Gone soon" });
    await expectStatus(204, "DELETE", "/v1/customers/lq_gone");
    for (const id of [ORG, ...MEMBERS, "lq_solo", "lq_gone"]) await runProjection(id);
  });

  it("lists a created customer with its fields; a deleted one is not listed", async () => {
    const listed = await listAll("q=lq_");
    expect(ids(listed)).toEqual([ORG, ...MEMBERS, "lq_solo"].sort());
    const solo = listed.find((c) => c.id === "lq_solo");
    const view = await getCustomer("lq_solo");
    expect(solo).toEqual({
      id: "lq_solo",
      type: "user",
      plan: "pro",
      org: null,
      label: "Zed the soloist",
      createdAt: view.createdAt,
      updatedAt: view.updatedAt,
    });
    // Recreated after a delete: listed again.
    await putCustomer("lq_gone", { label: "Back" });
    await runProjection("lq_gone");
    expect((await listAll("q=lq_gone")).map((c) => c.label)).toEqual(["Back"]);
    await expectStatus(204, "DELETE", "/v1/customers/lq_gone");
    await runProjection("lq_gone");
    expect(await listAll("q=lq_gone")).toEqual([]);
  });

  it("q is a prefix of the id, the label or an alternate ID (case-sensitive, wildcards literal)", async () => {
    expect(ids(await listAll("q=lq_so"))).toEqual(["lq_solo"]);
    expect(ids(await listAll("q=Zed%20the"))).toEqual(["lq_solo"]);
    expect(ids(await listAll("q=cus_STRIPE"))).toEqual(["lq_solo"]);
    expect(ids(await listAll("q=zed%40mail"))).toEqual(["lq_solo"]);
    expect(ids(await listAll("q=Acme"))).toEqual([ORG]);
    expect(await listAll("q=cus_stripe")).toEqual([]);
    expect(await listAll("q=olo")).toEqual([]); // not a prefix
    expect(await listAll("q=%25")).toEqual([]); // LIKE's wildcard is a plain character
    expect(await listAll("q=*")).toEqual([]); // GLOB's too
    expect(await listAll("q=lq_%3F")).toEqual([]);
    // An alternate ID removed is no longer found.
    await ok("DELETE", "/v1/customers/lq_solo/alternate-ids/cus_STRIPE_42");
    await runProjection("lq_solo");
    expect(await listAll("q=cus_STRIPE")).toEqual([]);
    expect(ids(await listAll("q=zed%40"))).toEqual(["lq_solo"]);
  });

  it("filters by type, own plan and org", async () => {
    expect(ids(await listAll("type=org&q=lq_"))).toEqual([ORG]);
    expect(ids(await listAll(`org=${ORG}`))).toEqual(MEMBERS);
    expect(ids(await listAll("plan=pro&q=lq_"))).toEqual(["lq_solo"]);
    expect(await listAll("type=robot")).toEqual([]);
  });

  it("cursor pages return every customer exactly once, ordered by id", async () => {
    const whole = ids(await listAll("q=lq_", 1000));
    for (const limit of [1, 5, 7, 24]) {
      const paged = ids(await listAll("q=lq_", limit));
      expect(paged).toEqual(whole);
      expect(new Set(paged).size).toBe(paged.length);
    }
    const first = await ok("GET", "/v1/customers?q=lq_&limit=5");
    expect(first.customers).toHaveLength(5);
    expect(typeof first.next).toBe("string");
    const last = await ok("GET", "/v1/customers?q=lq_&limit=1000");
    expect(last.next).toBeNull();
  });
});

describe("GET /v1/usage: release, buckets", () => {
  it("a release subtracts what it took off the meter (the floor included)", async () => {
    const id = "uq_release";
    await putCustomer(id);
    await consume({ customer: id, entitlement: "tokens", amount: 10 });
    await release({ customer: id, entitlement: "tokens", amount: 4 });
    await consume({ customer: id, entitlement: "storage", amount: 3 });
    // Past the floor: the meter stops at 0, so the release takes off 3, not 50.
    await release({ customer: id, entitlement: "storage", amount: 50 });
    await runProjection(id);
    const { series } = await usage(`customer=${id}&groupBy=entitlement`);
    expect(series.map((p: Json) => [p.group.entitlement, p.amount])).toEqual([
      ["storage", 0],
      ["tokens", 6],
    ]);
    const view = await getCustomer(id);
    expect([view.meters.storage.used, view.meters.tokens.used]).toEqual([0, 6]);
    // A reserve is not usage; its settle is.
    const hold = await ok("POST", "/v1/reserve", { customer: id, entitlement: "tokens", amount: 30 });
    await runProjection(id);
    expect((await usage(`customer=${id}&entitlement=tokens`)).series[0].amount).toBe(6);
    await ok("POST", "/v1/settle", { customer: id, holdId: hold.holdId, amount: 20 });
    await runProjection(id);
    expect((await usage(`customer=${id}&entitlement=tokens`)).series[0].amount).toBe(26);
  });

  /** Usage rows at chosen instants (a fixture of the read model's own table). */
  async function rowsAt(entitlement: string, instants: string[]): Promise<void> {
    for (const [i, at] of instants.entries()) {
      await env.ANALYTICS.prepare(
        "INSERT INTO usage (event_id, customer, metered_on, entitlement, operation, at_ms, amount) VALUES (?, 'tz_c', 'tz_c', ?, 'consume', ?, ?)",
      )
        .bind(`evt_${entitlement}_${i}`, entitlement, Date.parse(at), 1 + i)
        .run();
    }
  }

  it("day and hour buckets are local to tz, DST-correct, named by their local start and offset", async () => {
    // Berlin springs forward at 01:00Z on 2026-03-29 (02:00 CET → 03:00 CEST): a 23-hour day.
    await rowsAt("dst_spring", [
      "2026-03-28T22:59:00Z",
      "2026-03-29T00:30:00Z",
      "2026-03-29T01:30:00Z",
      "2026-03-29T21:59:00Z",
      "2026-03-29T22:00:00Z",
    ]);
    const days = await usage("entitlement=dst_spring&groupBy=day&tz=Europe/Berlin");
    expect(days.series.map((p: Json) => [p.bucket, p.amount])).toEqual([
      ["2026-03-28T00:00:00+01:00", 1],
      ["2026-03-29T00:00:00+01:00", 2 + 3 + 4],
      ["2026-03-30T00:00:00+02:00", 5],
    ]);
    const hours = await usage(
      "entitlement=dst_spring&groupBy=hour&tz=Europe/Berlin&from=2026-03-29T00:00:00Z&to=2026-03-29T02:00:00Z",
    );
    expect(hours.series.map((p: Json) => [p.bucket, p.amount])).toEqual([
      ["2026-03-29T01:00:00+01:00", 2],
      ["2026-03-29T03:00:00+02:00", 3],
    ]);
    // Falls back at 01:00Z on 2026-10-25: the two 02:00 hours are two buckets.
    await rowsAt("dst_fall", ["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"]);
    const fall = await usage("entitlement=dst_fall&groupBy=hour&tz=Europe/Berlin");
    expect(fall.series.map((p: Json) => p.bucket)).toEqual([
      "2026-10-25T02:00:00+02:00",
      "2026-10-25T02:00:00+01:00",
    ]);
    // A half-hour zone: Kolkata's day starts at 18:30Z.
    await rowsAt("tz_kolkata", ["2026-06-01T18:15:00Z", "2026-06-01T18:45:00Z"]);
    const kolkata = await usage("entitlement=tz_kolkata&groupBy=day&tz=Asia/Kolkata");
    expect(kolkata.series.map((p: Json) => [p.bucket, p.amount])).toEqual([
      ["2026-06-01T00:00:00+05:30", 1],
      ["2026-06-02T00:00:00+05:30", 2],
    ]);
    // Default UTC; from inclusive, to exclusive.
    const utc = await usage("entitlement=dst_spring&groupBy=day&from=2026-03-29&to=2026-03-29T22:00:00Z");
    expect(utc.series.map((p: Json) => [p.bucket, p.amount])).toEqual([
      ["2026-03-29T00:00:00+00:00", 2 + 3 + 4],
    ]);
  });
});

describe("hostile query strings answer 400 or correct results, never a 5xx", () => {
  const bad = [
    "/v1/usage?tz=Mars/Olympus",
    "/v1/usage?tz=%2B05:00",
    "/v1/usage?tz=",
    "/v1/usage?from=yesterday",
    "/v1/usage?from=2026-13-45T00:00:00Z",
    "/v1/usage?to=2026-01-01T00:00:00",
    "/v1/usage?from=2026-02-01&to=2026-01-01",
    "/v1/usage?groupBy=customer;DROP%20TABLE%20usage",
    "/v1/usage?groupBy=day,hour",
    "/v1/usage?groupBy=customer,customer",
    "/v1/usage?groupBy=",
    "/v1/usage?limit=1001",
    "/v1/usage?limit=99999999999999999999",
    "/v1/usage?limit=-1",
    "/v1/usage?limit=1e3",
    "/v1/usage?bogus=1",
    `/v1/usage?customer=${"x".repeat(300)}`,
    "/v1/usage?customer=%00",
    "/v1/customers?limit=0",
    "/v1/customers?limit=1001",
    "/v1/customers?cursor=not-a-cursor",
    "/v1/customers?cursor=c1.%2F%2F%2F",
    "/v1/customers?orderBy=id",
    `/v1/customers?q=${"a".repeat(257)}`,
  ];
  for (const path of bad) {
    it(`400 invalid_request: ${path.slice(0, 80)}`, async () => {
      const error = await expectError(400, "invalid_request", "GET", path);
      expect(Array.isArray(error.details?.issues)).toBe(true);
    });
  }

  it("SQL metacharacters are values: no match, nothing dropped", async () => {
    for (const value of ["' OR 1=1 --", "x'); DROP TABLE usage; --", '" OR ""="', "%", "_", "\\"]) {
      const q = encodeURIComponent(value);
      for (const path of [
        `/v1/usage?customer=${q}`,
        `/v1/usage?entitlement=${q}&groupBy=customer,entitlement,model,day`,
        `/v1/usage?org=${q}&model=${q}`,
        `/v1/customers?q=${q}`,
        `/v1/customers?type=${q}&plan=${q}&org=${q}`,
      ]) {
        const res = await call("GET", path);
        expect(res.status, path).toBe(200);
        expect(res.json.series ?? res.json.customers, path).toEqual([]);
      }
    }
    // The tables are still there.
    expect((await call("GET", "/v1/usage?groupBy=customer")).status).toBe(200);
    expect((await call("GET", "/v1/customers?limit=1")).status).toBe(200);
  });

  it("both routes are in /openapi.json, and events document `projected`", async () => {
    const doc = await ok("GET", "/openapi.json");
    expect(Object.keys(doc.paths["/v1/customers"])).toContain("get");
    expect(doc.paths["/v1/usage"].get.parameters.map((p: Json) => p.name).sort()).toEqual(
      ["customer", "entitlement", "from", "groupBy", "limit", "model", "org", "to", "tz"].sort(),
    );
    expect(doc.components.schemas.Event.properties.projected).toMatchObject({ type: "boolean" });
    expect(doc.components.schemas.UsagePoint).toBeDefined();
  });
});
