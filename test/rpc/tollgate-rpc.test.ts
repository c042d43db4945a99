/**
 * Workers RPC (SPEC §13.3): a second Worker (test/rpc/caller-worker.js) binds `TollgateRpc` as a service
 * binding and calls it. Same decisions as the HTTP API, errors as returned values, no admin token.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { RpcResult } from "../../src/rpc/entrypoint";
import {
  BASE,
  check,
  consume,
  expectError,
  getCustomer,
  type Json,
  putCustomer,
  putPolicy,
  release,
  reserve,
  settle,
  TEST_POLICY,
  unique,
} from "../support/api";

type Op = "check" | "consume" | "release" | "reserve" | "settle";

/** The caller Worker's own entrypoint, reached through the tests' service binding. */
interface RpcCaller {
  call(op: Op, body: unknown): Promise<RpcResult>;
  callMany(op: Op, bodies: unknown[]): Promise<RpcResult[]>;
}
const caller = (env as unknown as { RPC_CALLER: RpcCaller }).RPC_CALLER;

/** An HTTP decision as it reads for another customer (the RPC twin of the same calls). */
const onCustomer = (decision: Json, id: string): Json => ({ ...decision, customer: id, meteredOn: id });

/** One RPC call from the second Worker. */
const rpc = (op: Op, body: unknown): Promise<RpcResult> => caller.call(op, body);

/** One RPC call that must answer a decision; answers it. */
async function decided(op: Op, body: unknown): Promise<Json> {
  const result = await rpc(op, body);
  expect(result, JSON.stringify(result)).toMatchObject({ ok: true });
  return (result as { decision: Json }).decision;
}

/** One RPC call that must answer an error value with `code`; answers the error. */
async function failed(op: Op, body: unknown, code: string): Promise<Json> {
  const result = await rpc(op, body);
  expect(result, JSON.stringify(result)).toMatchObject({ ok: false, error: { code } });
  expect(Object.keys(result).sort()).toEqual(["error", "ok"]);
  return (result as { error: Json }).error;
}

describe("before any policy is stored", () => {
  // Runs first: this file's storage has never held a policy.
  it("every operation answers policy_unavailable as a value", async () => {
    for (const op of ["check", "consume", "release", "reserve"] as const) {
      const error = await failed(op, { customer: "c", entitlement: "tokens" }, "policy_unavailable");
      expect(error.message).toMatch(/policy/);
    }
    await failed("settle", { customer: "c", holdId: "h" }, "policy_unavailable");
  });
});

describe("TollgateRpc through a service binding", () => {
  beforeAll(async () => {
    await putPolicy(TEST_POLICY);
  });

  it("consume and check: the same decisions as POST /v1/consume and /v1/check, no token needed", async () => {
    const viaHttp = unique("http");
    const viaRpc = unique("rpc");
    await putCustomer(viaHttp);
    await putCustomer(viaRpc);
    for (const amount of [200, 250, 100]) {
      const body = { entitlement: "tokens", amount };
      const http = await consume({ ...body, customer: viaHttp });
      const viaBinding = await decided("consume", { ...body, customer: viaRpc });
      expect(viaBinding).toEqual(onCustomer(http, viaRpc));
    }
    const checked = await decided("check", { customer: viaRpc, entitlement: "tokens", amount: 60 });
    expect(checked).toEqual(
      onCustomer(await check({ customer: viaHttp, entitlement: "tokens", amount: 60 }), viaRpc),
    );
    expect(checked).toMatchObject({ allowed: false, reason: "limit_exceeded", used: 450, remaining: 50 });
    // The binding is the trust boundary: the same call over HTTP without the admin token is refused.
    const anonymous = await exports.default.fetch(`${BASE}/v1/check`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ customer: viaRpc, entitlement: "tokens" }),
    });
    expect(anonymous.status).toBe(401);
    // The object recorded the RPC consumes as it records HTTP ones.
    expect((await getCustomer(viaRpc)).meters.tokens.used).toBe(450);
  });

  it("release, reserve and settle: the same decisions as HTTP, a hold reserved by RPC settles by HTTP", async () => {
    const viaHttp = unique("http");
    const viaRpc = unique("rpc");
    await putCustomer(viaHttp);
    await putCustomer(viaRpc);
    await consume({ customer: viaHttp, entitlement: "tokens", amount: 100 });
    await decided("consume", { customer: viaRpc, entitlement: "tokens", amount: 100 });

    const released = await decided("release", { customer: viaRpc, entitlement: "tokens", amount: 30 });
    expect(released).toEqual(
      onCustomer(await release({ customer: viaHttp, entitlement: "tokens", amount: 30 }), viaRpc),
    );

    const held = await decided("reserve", { customer: viaRpc, entitlement: "tokens", amount: 50, ttl: "5m" });
    const heldHttp = await reserve({ customer: viaHttp, entitlement: "tokens", amount: 50, ttl: "5m" });
    expect(held).toMatchObject({ allowed: true, held: 50, holdId: expect.stringMatching(/^hold_/) });
    // Hold ids are unique per hold; everything else is the same decision.
    expect({ ...held, holdId: null }).toEqual({ ...onCustomer(heldHttp, viaRpc), holdId: null });

    const settled = await decided("settle", { customer: viaRpc, holdId: held.holdId, amount: 20 });
    const settledHttp = await settle({ customer: viaHttp, holdId: heldHttp.holdId, amount: 20 });
    expect({ ...settled, holdId: null }).toEqual({ ...onCustomer(settledHttp, viaRpc), holdId: null });
    expect(settled).toMatchObject({ used: 90, held: 0 });

    // One door's hold is the other's: reserved over RPC, settled over HTTP.
    const crossed = await decided("reserve", { customer: viaRpc, entitlement: "tokens", amount: 10 });
    expect(await settle({ customer: viaRpc, holdId: crossed.holdId, amount: 10 })).toMatchObject({
      used: 100,
      held: 0,
    });
  });

  it("denials are decisions (unknown customer, limit), not errors", async () => {
    const unknown = await decided("consume", {
      customer: unique("nobody"),
      entitlement: "tokens",
      amount: 1,
    });
    expect(unknown).toMatchObject({ allowed: false, reason: "unknown_customer" });
    const id = unique("full");
    await putCustomer(id);
    const over = await decided("consume", { customer: id, entitlement: "tokens", amount: 501 });
    expect(over).toMatchObject({ allowed: false, outcome: "denied", reason: "limit_exceeded" });
  });

  it("idempotency keys replay over RPC as over HTTP", async () => {
    const id = unique("idem");
    await putCustomer(id);
    const body = { customer: id, entitlement: "tokens", amount: 40, idempotencyKey: "k1" };
    const first = await decided("consume", body);
    expect(await decided("consume", body)).toEqual({ ...first, replayed: true });
    // The same key over HTTP is the same call.
    expect(await consume(body)).toEqual({ ...first, replayed: true });
    const error = await failed("consume", { ...body, amount: 41 }, "idempotency_key_reused");
    expect(error.message).toBeTypeOf("string");
  });

  it("errors are values from the catalogue: unknown_entitlement, invalid_amount, hold_not_found", async () => {
    const id = unique("err");
    await putCustomer(id);
    const unknown = await failed(
      "consume",
      { customer: id, entitlement: "nope", amount: 1 },
      "unknown_entitlement",
    );
    const http = await expectError(400, "unknown_entitlement", "POST", "/v1/consume", {
      customer: id,
      entitlement: "nope",
      amount: 1,
    });
    expect(unknown).toEqual({
      code: http.code,
      message: http.message,
      ...(http.details ? { details: http.details } : {}),
    });
    for (const amount of [-1, "1e400", "12 parsecs", 1e16, Number.POSITIVE_INFINITY, Number.NaN]) {
      await failed("consume", { customer: id, entitlement: "tokens", amount }, "invalid_amount");
    }
    await failed("reserve", { customer: id, entitlement: "tokens", amount: 0 }, "invalid_amount");
    await failed("settle", { customer: id, holdId: "hold_nope", amount: 1 }, "hold_not_found");
    expect((await getCustomer(id)).meters.tokens?.used ?? 0).toBe(0);
  });

  it("invalid_request carries details.issues with paths, as the HTTP envelope does", async () => {
    const error = await failed("consume", { customer: "", entitlement: 5, extra: true }, "invalid_request");
    const paths = (error.details.issues as { path: string }[]).map((issue) => issue.path).sort();
    expect(paths).toEqual(["customer", "entitlement", "extra"]);
    const http = await expectError(400, "invalid_request", "POST", "/v1/consume", {
      customer: "",
      entitlement: 5,
      extra: true,
    });
    expect(error).toEqual({ code: http.code, message: http.message, details: http.details });
    for (const body of [null, "consume", 42, [], { customer: "x\u0000y", entitlement: "tokens" }]) {
      await failed("consume", body, "invalid_request");
    }
    const ttl = await failed(
      "reserve",
      { customer: "c", entitlement: "tokens", ttl: "8d" },
      "invalid_request",
    );
    expect(ttl.details).toEqual({ issues: [{ path: "ttl", message: "must be at most 7 days" }] });
    await failed("settle", { customer: "c", entitlement: "tokens" }, "invalid_request");
  });

  it("exact under concurrency: 50 concurrent consumes against a hard limit admit exactly what fits", async () => {
    const id = unique("race");
    await putCustomer(id);
    // 50 calls of 13 against 500: 38 fit (494), the other 12 are refused.
    const bodies = Array.from({ length: 50 }, () => ({ customer: id, entitlement: "tokens", amount: 13 }));
    const results = await caller.callMany("consume", bodies);
    const decisions = results.map((result) => {
      expect(result.ok).toBe(true);
      return (result as { decision: Json }).decision;
    });
    expect(decisions.filter((d) => d.allowed)).toHaveLength(38);
    expect(decisions.filter((d) => !d.allowed).every((d) => d.reason === "limit_exceeded")).toBe(true);
    expect((await getCustomer(id)).meters.tokens.used).toBe(494);
    const useds = decisions
      .filter((d) => d.allowed)
      .map((d) => d.used)
      .sort((a, b) => a - b);
    expect(useds).toEqual(Array.from({ length: 38 }, (_, i) => 13 * (i + 1)));
  });
});
