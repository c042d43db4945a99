import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AUTH,
  allEvents,
  BASE,
  call,
  consume,
  expectError,
  getCustomer,
  type Json,
  ok,
  putCustomer,
  putPolicy,
  reserve,
  settle,
  TEST_POLICY,
  unique,
} from "../support/api";

// SPEC §5.3 and §11 "HTTP": every error code, each from a real request, and nothing changed by it.

/** The customer's view and event log, to compare before and after a failing request. */
async function snapshot(id: string): Promise<Json> {
  return { view: await getCustomer(id), events: await allEvents(id) };
}

/** Run `fn` (which must fail) and assert the customer's view and events are exactly as before. */
async function unchanged(ids: string[], fn: () => Promise<unknown>): Promise<void> {
  const before = await Promise.all(ids.map(snapshot));
  await fn();
  expect(await Promise.all(ids.map(snapshot))).toEqual(before);
}

describe("before any policy is stored", () => {
  // Runs first: this file's storage has never held a policy.
  it("metering is 503 policy_unavailable, never invented limits", async () => {
    for (const op of ["check", "consume", "release", "reserve"]) {
      await expectError(503, "policy_unavailable", "POST", `/v1/${op}`, {
        customer: "c",
        entitlement: "seats",
      });
    }
    await expectError(503, "policy_unavailable", "POST", "/v1/settle", { customer: "c", holdId: "h" });
    await expectError(503, "policy_unavailable", "GET", "/v1/policy");
  });

  it("setting a plan is 503 and creates nothing; a customer without a plan can be created", async () => {
    await expectError(503, "policy_unavailable", "PUT", "/v1/customers/early", { plan: "free" });
    await expectError(404, "customer_not_found", "GET", "/v1/customers/early");
    const view = await putCustomer("early", { label: "Early" });
    expect(view).toMatchObject({ id: "early", effectivePlan: null, meters: {} });
    await unchanged(["early"], () =>
      expectError(503, "policy_unavailable", "PUT", "/v1/customers/early/plan", { plan: "free" }),
    );
  });
});

describe("errors with a policy in force", () => {
  let user = "";
  let other = "";
  let org = "";

  beforeAll(async () => {
    await putPolicy(TEST_POLICY);
    org = unique("org");
    user = unique("user");
    other = unique("other");
    await putCustomer(org, { type: "org" });
    await putCustomer(user, { org, alternateIds: [`${user}@mail.test`] });
    await putCustomer(other, { alternateIds: [`${other}@mail.test`] });
    // Some state to protect: usage on a local meter, an org seat and a live hold.
    await consume({ customer: user, entitlement: "tokens", amount: 100 });
    await consume({ customer: user, entitlement: "seats" });
    await reserve({ customer: user, entitlement: "storage", amount: "10MB", idempotencyKey: "hold-1" });
  });

  it("401 unauthorized: no token or a wrong one, nothing recorded", async () => {
    await unchanged([user, org], async () => {
      for (const headers of [{}, { Authorization: "Bearer nope" }] as Record<string, string>[]) {
        const res = await exports.default.fetch(`${BASE}/v1/consume`, {
          method: "POST",
          headers: { "Content-Type": "application/json", ...headers },
          body: JSON.stringify({ customer: user, entitlement: "tokens", amount: 1 }),
        });
        expect(res.status).toBe(401);
        expect(((await res.json()) as Json).error.code).toBe("unauthorized");
      }
    });
  });

  it("400 invalid_json", async () => {
    await unchanged([user], async () => {
      for (const body of ['{"customer":', "not json", '{"customer":"a",}']) {
        await expectError(400, "invalid_json", "POST", "/v1/consume", body, {
          "Content-Type": "application/json",
        });
      }
      await expectError(400, "invalid_json", "PUT", `/v1/customers/${user}`, "{", {
        "Content-Type": "application/json",
      });
    });
  });

  it("400 invalid_request with details.issues paths", async () => {
    const long = "x".repeat(257);
    const cases: [string, string, Json, string][] = [
      ["POST", "/v1/consume", { entitlement: "tokens" }, "customer"],
      ["POST", "/v1/consume", { customer: long, entitlement: "tokens" }, "customer"],
      ["POST", "/v1/consume", { customer: "", entitlement: "tokens" }, "customer"],
      ["POST", "/v1/consume", { customer: user, entitlement: "tok\u0000ens" }, "entitlement"],
      ["POST", "/v1/consume", { customer: user, entitlement: "tokens\u007f" }, "entitlement"],
      [
        "POST",
        "/v1/consume",
        { customer: user, entitlement: "tokens", idempotencyKey: long },
        "idempotencyKey",
      ],
      [
        "POST",
        "/v1/consume",
        { customer: user, entitlement: "tokens", idempotencyKey: "a\nb" },
        "idempotencyKey",
      ],
      ["POST", "/v1/consume", { customer: user, entitlement: "tokens", surprise: 1 }, "surprise"],
      ["POST", "/v1/consume", { customer: user, entitlement: "tokens", amount: true }, "amount"],
      ["POST", "/v1/consume", { customer: 42, entitlement: "tokens" }, "customer"],
      ["POST", "/v1/check", { customer: user, entitlement: "tokens", ttl: "1m" }, "ttl"],
      ["POST", "/v1/reserve", { customer: user, entitlement: "tokens", ttl: "8d" }, "ttl"],
      ["POST", "/v1/reserve", { customer: user, entitlement: "tokens", ttl: 7 * 86400 + 1 }, "ttl"],
      ["POST", "/v1/reserve", { customer: user, entitlement: "tokens", ttl: "soon" }, "ttl"],
      ["POST", "/v1/reserve", { customer: user, entitlement: "tokens", ttl: 0 }, "ttl"],
      ["POST", "/v1/settle", { customer: user, holdId: long }, "holdId"],
      ["POST", "/v1/settle", { customer: user, holdId: "h", entitlement: "tokens" }, "entitlement"],
      ["PUT", `/v1/customers/${user}`, { alternateIds: ["ok", "bad\u0001"] }, "alternateIds.1"],
      ["PUT", `/v1/customers/${user}`, { plan: long }, "plan"],
      ["PUT", `/v1/customers/${user}`, { nickname: "x" }, "nickname"],
      ["PUT", `/v1/customers/${user}`, { label: 5 }, "label"],
      ["PUT", `/v1/customers/${user}/plan`, { plan: "pro", keepUsage: "no" }, "keepUsage"],
      ["POST", `/v1/customers/${user}/alternate-ids`, { alternateId: long }, "alternateId"],
      ["POST", `/v1/customers/${user}/alternate-ids`, {}, "alternateId"],
      ["PUT", `/v1/customers/${long}`, {}, "id"],
      ["GET", `/v1/customers/${long}`, undefined, "id"],
      ["GET", `/v1/customers/a%01b`, undefined, "id"],
      ["GET", `/v1/customers/${user}/events?limit=0`, undefined, "limit"],
      ["GET", `/v1/customers/${user}/events?limit=1001`, undefined, "limit"],
      ["GET", `/v1/customers/${user}/events?after=-1`, undefined, "after"],
      ["GET", `/v1/customers/${user}/events?cursor=3`, undefined, "cursor"],
    ];
    await unchanged([user, org, other], async () => {
      for (const [method, path, body, issuePath] of cases) {
        const error = await expectError(400, "invalid_request", method, path, body);
        const paths = (error.details?.issues ?? []).map((i: Json) => i.path);
        expect(paths, `${method} ${path} ${JSON.stringify(body)}`).toContain(issuePath);
      }
    });
  });

  it("400 invalid_amount: negative, not finite, over 10^15, wrong unit, hex, trailing garbage", async () => {
    const amounts: unknown[] = [
      -1,
      -0.5,
      1e16,
      "NaN",
      "Infinity",
      "-5",
      "0x10",
      "1e16",
      "5GB",
      "10 tokens!",
      "10abc",
      "１０",
      "1,000",
      "",
      " ",
      "5 seats",
    ];
    await unchanged([user, org], async () => {
      for (const amount of amounts) {
        for (const op of ["check", "consume", "release", "reserve"]) {
          const error = await expectError(400, "invalid_amount", "POST", `/v1/${op}`, {
            customer: user,
            entitlement: "tokens",
            amount,
          });
          expect(error.message, JSON.stringify(amount)).toEqual(expect.any(String));
        }
      }
      // A JSON number too large for a double parses as Infinity: not finite.
      await expectError(
        400,
        "invalid_amount",
        "POST",
        "/v1/consume",
        `{"customer":"${user}","entitlement":"tokens","amount":1e400}`,
        { "Content-Type": "application/json" },
      );
      // MB credit: a count word or a time is not a size.
      for (const amount of ["5 tokens", "3h", "5mb"]) {
        await expectError(400, "invalid_amount", "POST", "/v1/consume", {
          customer: user,
          entitlement: "storage",
          amount,
        });
      }
      // Org-scoped meters check amounts too.
      await expectError(400, "invalid_amount", "POST", "/v1/consume", {
        customer: user,
        entitlement: "seats",
        amount: -2,
      });
    });
  });

  it("400 invalid_amount on settle, the hold kept", async () => {
    const { holdId } = await reserve({ customer: other, entitlement: "storage", amount: 5 });
    await unchanged([other], async () => {
      for (const amount of [-1, "5 tokens", "0x5", 1e16]) {
        await expectError(400, "invalid_amount", "POST", "/v1/settle", { customer: other, holdId, amount });
      }
    });
    expect(await settle({ customer: other, holdId, amount: "2MB" })).toMatchObject({ used: 2, held: 0 });
  });

  it("400 unknown_entitlement, inherited object properties included", async () => {
    await unchanged([user, org], async () => {
      for (const entitlement of [
        "nope",
        "__proto__",
        "toString",
        "constructor",
        "hasOwnProperty",
        "valueOf",
      ]) {
        for (const op of ["check", "consume", "release", "reserve"]) {
          await expectError(400, "unknown_entitlement", "POST", `/v1/${op}`, { customer: user, entitlement });
        }
      }
      // The entitlement is required where a meter is named.
      await expectError(400, "invalid_request", "POST", "/v1/consume", { customer: user });
    });
  });

  it("error precedence: body shape, then unknown_entitlement, then invalid_amount, then the decision", async () => {
    await unchanged([user, org], async () => {
      await expectError(400, "invalid_request", "POST", "/v1/consume", {
        customer: user,
        entitlement: "nope",
        amount: -1,
        extra: true,
      });
      await expectError(400, "unknown_entitlement", "POST", "/v1/consume", {
        customer: user,
        entitlement: "nope",
        amount: -1,
      });
      // invalid_amount comes before any decision: unknown customer, not entitled, limit exceeded.
      await expectError(400, "invalid_amount", "POST", "/v1/consume", {
        customer: "nobody-here",
        entitlement: "tokens",
        amount: -1,
      });
      await expectError(400, "invalid_amount", "POST", "/v1/consume", {
        customer: user,
        entitlement: "soft_tokens",
        amount: "lots",
      });
      await expectError(400, "invalid_amount", "POST", "/v1/consume", {
        customer: user,
        entitlement: "tokens",
        amount: 1e16,
      });
    });
  });

  it("an unknown customer in a metering call is a 200 decision, not an error", async () => {
    for (const op of ["check", "consume", "release", "reserve"]) {
      const d = await ok("POST", `/v1/${op}`, {
        customer: "ghost",
        entitlement: "tokens",
        amount: "3 tokens",
      });
      expect(d).toMatchObject({
        allowed: false,
        outcome: "denied",
        reason: "unknown_customer",
        customer: "ghost",
        meteredOn: null,
        entitlement: "tokens",
        amount: 3,
        used: null,
        held: null,
        limit: null,
        remaining: null,
        overage: null,
        holdId: null,
        replayed: false,
      });
    }
    // Nothing was created for it.
    await expectError(404, "customer_not_found", "GET", "/v1/customers/ghost");
  });

  it("400 unknown_plan", async () => {
    await unchanged([user, org], async () => {
      for (const plan of ["gold", "__proto__", "toString"]) {
        await expectError(400, "unknown_plan", "PUT", `/v1/customers/${user}`, { plan });
        await expectError(400, "unknown_plan", "PUT", `/v1/customers/${user}/plan`, { plan });
      }
      // A new customer with an unknown plan is not created.
      await expectError(400, "unknown_plan", "PUT", "/v1/customers/planless", { plan: "gold" });
    });
    await expectError(404, "customer_not_found", "GET", "/v1/customers/planless");
  });

  it("400 unknown_org: missing, not an org, itself; an org cannot have an org", async () => {
    const anotherOrg = unique("org2");
    await putCustomer(anotherOrg, { type: "org" });
    await unchanged([user, org, other, anotherOrg], async () => {
      await expectError(400, "unknown_org", "PUT", `/v1/customers/${user}`, { org: "no-such-org" });
      await expectError(400, "unknown_org", "PUT", `/v1/customers/${user}`, { org: other });
      await expectError(400, "unknown_org", "PUT", `/v1/customers/${org}`, { org });
      await expectError(400, "unknown_org", "PUT", "/v1/customers/orgless", { org: "no-such-org" });
      const error = await call("PUT", `/v1/customers/${anotherOrg}`, { org });
      expect(error.status).toBe(400);
      await expectError(400, error.json.error.code, "PUT", `/v1/customers/${user}`, { type: "org" });
    });
    await expectError(404, "customer_not_found", "GET", "/v1/customers/orgless");
  });

  it("404 customer_not_found on every customer route", async () => {
    const routes: [string, string, Json?][] = [
      ["GET", "/v1/customers/nobody"],
      ["DELETE", "/v1/customers/nobody"],
      ["PUT", "/v1/customers/nobody/plan", { plan: "pro" }],
      ["POST", "/v1/customers/nobody/alternate-ids", { alternateId: "nobody-alt" }],
      ["DELETE", "/v1/customers/nobody/alternate-ids/nobody-alt"],
      ["GET", "/v1/customers/nobody/state"],
      ["GET", "/v1/customers/nobody/events"],
    ];
    for (const [method, path, body] of routes)
      await expectError(404, "customer_not_found", method, path, body);
    // The failed POST claimed nothing: another customer can take the alternate ID.
    expect(
      (await ok("POST", `/v1/customers/${other}/alternate-ids`, { alternateId: "nobody-alt" })).alternateIds,
    ).toContain("nobody-alt");
    await ok("DELETE", `/v1/customers/${other}/alternate-ids/nobody-alt`);
  });

  it("404 hold_not_found: unknown, settled twice, settled by another customer", async () => {
    await unchanged([user, org, other], async () => {
      await expectError(404, "hold_not_found", "POST", "/v1/settle", { customer: user, holdId: "hold_nope" });
    });
    // A settle is a metering call: an unknown customer is a decision there too.
    expect(await settle({ customer: "ghost", holdId: "hold_nope" })).toMatchObject({
      allowed: false,
      reason: "unknown_customer",
      meteredOn: null,
    });
    const { holdId } = await reserve({ customer: user, entitlement: "tokens", amount: 10 });
    await unchanged([user, other], () =>
      expectError(404, "hold_not_found", "POST", "/v1/settle", { customer: other, holdId }),
    );
    await unchanged([user, other], () =>
      expectError(404, "hold_not_found", "POST", "/v1/settle", { customer: `${other}@mail.test`, holdId }),
    );
    await settle({ customer: user, holdId, amount: 4 });
    await unchanged([user], () =>
      expectError(404, "hold_not_found", "POST", "/v1/settle", { customer: user, holdId }),
    );
    // An org member's seat hold lives on the org: another member cannot settle it either.
    const mate = unique("mate");
    await putCustomer(mate, { org });
    const seat = await reserve({ customer: user, entitlement: "seats" });
    expect(seat.meteredOn).toBe(org);
    await unchanged([org, mate, user], () =>
      expectError(404, "hold_not_found", "POST", "/v1/settle", { customer: mate, holdId: seat.holdId }),
    );
    await unchanged([org, mate, user], () =>
      expectError(404, "hold_not_found", "POST", "/v1/settle", { customer: org, holdId: seat.holdId }),
    );
    expect(await settle({ customer: user, holdId: seat.holdId, amount: 0 })).toMatchObject({
      reason: "released",
    });
  });

  it("404 not_found and 405 method_not_allowed", async () => {
    await expectError(404, "not_found", "GET", "/v1/nothing-here");
    // GET /v1/customers lists customers since issue 13 (SPEC §13.1): another method there is a 405.
    expect((await expectError(405, "method_not_allowed", "POST", "/v1/customers")).details.allow).toContain(
      "GET",
    );
    await expectError(404, "not_found", "POST", "/v1/customers/x/nothing");
    await expectError(404, "not_found", "GET", "/nothing");
    await unchanged([user], async () => {
      const error = await expectError(405, "method_not_allowed", "GET", "/v1/consume");
      expect(error.details.allow).toContain("POST");
      const res = await call("PATCH", `/v1/customers/${user}`, { label: "x" });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toContain("PUT");
      await expectError(405, "method_not_allowed", "POST", `/v1/customers/${user}/state`, {});
    });
  });

  it("409 alternate_id_taken: held by another customer, or another customer's id; nothing claimed", async () => {
    await unchanged([user, other], async () => {
      await expectError(409, "alternate_id_taken", "PUT", `/v1/customers/${user}`, {
        alternateIds: [`${user}@mail.test`, "fresh-alt", `${other}@mail.test`],
      });
      await expectError(409, "alternate_id_taken", "POST", `/v1/customers/${user}/alternate-ids`, {
        alternateId: other,
      });
      await expectError(409, "alternate_id_taken", "PUT", "/v1/customers/newcomer", {
        alternateIds: [`${other}@mail.test`],
      });
    });
    await expectError(404, "customer_not_found", "GET", "/v1/customers/newcomer");
    // "fresh-alt" was claimed and given back when the later one failed.
    await expectError(404, "customer_not_found", "GET", "/v1/customers/fresh-alt");
    const taken = await ok("POST", `/v1/customers/${other}/alternate-ids`, { alternateId: "fresh-alt" });
    expect(taken.alternateIds).toContain("fresh-alt");
    await ok("DELETE", `/v1/customers/${other}/alternate-ids/fresh-alt`);
  });

  it("409 idempotency_key_reused: same key, different body", async () => {
    await unchanged([user, org], async () => {
      // "hold-1" reserved 10MB of storage in beforeAll.
      await expectError(409, "idempotency_key_reused", "POST", "/v1/reserve", {
        customer: user,
        entitlement: "storage",
        amount: "11MB",
        idempotencyKey: "hold-1",
      });
      await expectError(409, "idempotency_key_reused", "POST", "/v1/consume", {
        customer: user,
        entitlement: "storage",
        amount: 10,
        idempotencyKey: "hold-1",
      });
      await expectError(409, "idempotency_key_reused", "POST", "/v1/reserve", {
        customer: user,
        entitlement: "storage",
        amount: 10,
        ttl: "1h",
        idempotencyKey: "hold-1",
      });
    });
  });

  it("412 precondition_failed on a stale If-Match; the policy stays", async () => {
    const before = await ok("GET", "/v1/policy");
    const error = await expectError(
      412,
      "precondition_failed",
      "PUT",
      "/v1/policy",
      TEST_POLICY.replace("value: 500", "value: 5"),
      { "Content-Type": "application/yaml", "If-Match": '"0123456789abcdef"' },
    );
    expect(error.details.currentVersion).toBe(before.version);
    expect(await ok("GET", "/v1/policy")).toEqual(before);
  });

  it("413 payload_too_large over 64 KiB (1 MiB for state)", async () => {
    await unchanged([user], async () => {
      const error = await expectError(413, "payload_too_large", "POST", "/v1/consume", {
        customer: user,
        entitlement: "tokens",
        pad: "x".repeat(65 * 1024),
      });
      expect(error.details.limitBytes).toBe(64 * 1024);
      await expectError(413, "payload_too_large", "PUT", `/v1/customers/${user}`, {
        metadata: { pad: "x".repeat(65 * 1024) },
      });
      const state = await expectError(413, "payload_too_large", "PUT", `/v1/customers/${user}/state`, {
        pad: "x".repeat(1024 * 1024 + 1),
      });
      expect(state.details.limitBytes).toBe(1024 * 1024);
    });
  });

  it("415 unsupported_media_type", async () => {
    await unchanged([user], async () => {
      for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/yaml"]) {
        await expectError(
          415,
          "unsupported_media_type",
          "POST",
          "/v1/consume",
          JSON.stringify({ customer: user, entitlement: "tokens" }),
          { "Content-Type": type },
        );
      }
      await expectError(415, "unsupported_media_type", "PUT", `/v1/customers/${user}`, "{}", {
        "Content-Type": "text/plain",
      });
    });
  });

  it("a missing Content-Type is JSON; an empty body is {}", async () => {
    const res = await exports.default.fetch(`${BASE}/v1/check`, {
      method: "POST",
      headers: AUTH,
      body: new TextEncoder().encode(JSON.stringify({ customer: user, entitlement: "tokens" })),
    });
    expect(res.status).toBe(200);
    const error = await expectError(400, "invalid_request", "POST", "/v1/consume", "", {
      "Content-Type": "application/json",
    });
    expect(error.details.issues.map((i: Json) => i.path)).toEqual(
      expect.arrayContaining(["customer", "entitlement"]),
    );
  });
});
