/**
 * Policy writes are serialised through one Durable Object (SPEC §11 "Integrity"), so `If-Match` and
 * `If-None-Match: *` on `PUT /v1/policy` are a true compare-and-set: of writers racing with the same
 * precondition, exactly one wins.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, ok } from "../support/api";

// Storage is isolated per test file, not per test: these tests run in order and build on each other.

const policyWith = (tokens: number) => `
credits:
  token: { label: Token }
plans:
  free:
    default: true
    entitlements:
      tokens:
        limit: { credit: token, value: ${tokens} }
`;

const JSON_POLICY = { plans: { free: { default: true } } };

const put = (yaml: string, headers: Record<string, string> = {}) =>
  call("PUT", "/v1/policy", yaml, { "Content-Type": "application/yaml", ...headers });

type Answer = Awaited<ReturnType<typeof put>>;

/** The one 200 among the answers, after checking every other one is 412 naming the winner's version. */
function oneWinner(answers: Answer[]): string {
  const winners = answers.filter((answer) => answer.status === 200);
  expect(answers.map((answer) => answer.status).sort(), JSON.stringify(answers.map((a) => a.json))).toEqual([
    200,
    ...Array(answers.length - 1).fill(412),
  ]);
  const version = winners[0]?.json.version as string;
  for (const answer of answers.filter((a) => a.status === 412)) {
    expect(answer.json.error).toMatchObject({
      code: "precondition_failed",
      details: { currentVersion: version },
    });
  }
  return version;
}

describe("PUT /v1/policy preconditions are a compare-and-set (SPEC §5.1, §11 Integrity)", () => {
  let active = "";

  it("If-None-Match: * from racing writers on an empty KV: exactly one policy is stored", async () => {
    const answers = await Promise.all([1, 2, 3, 4].map((n) => put(policyWith(n), { "If-None-Match": "*" })));
    active = oneWinner(answers);
    expect((await ok("GET", "/v1/policy")).version).toBe(active);
  });

  it("If-None-Match: * while a policy is active is 412 with currentVersion, even for the same policy", async () => {
    for (const yaml of [policyWith(99), policyWith(1), policyWith(2)]) {
      const answer = await put(yaml, { "If-None-Match": "*" });
      expect(answer.status).toBe(412);
      expect(answer.json.error).toMatchObject({
        code: "precondition_failed",
        details: { currentVersion: active },
      });
    }
    expect((await ok("GET", "/v1/policy")).version).toBe(active);
  });

  it("If-Match with the same version from racing writers: exactly one wins, the rest are 412", async () => {
    active = (await ok("PUT", "/v1/policy", { ...JSON_POLICY })).version;
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(
        [10, 20, 30].map((n) => put(policyWith(n + round), { "If-Match": `"${active}"` })),
      );
      const winner = oneWinner(answers);
      expect(winner).not.toBe(active);
      active = winner;
      const stored = await ok("GET", "/v1/policy");
      expect(stored.version).toBe(active);
      expect(await env.POLICIES.get("policy:active", "json")).toMatchObject({ version: active });
    }
  });

  it("two writers with the same If-Match: exactly one succeeds", async () => {
    const [a, b] = await Promise.all([
      put(policyWith(1000), { "If-Match": active }),
      put(policyWith(2000), { "If-Match": active }),
    ]);
    active = oneWinner([a as Answer, b as Answer]);
  });

  it("a stale If-Match is 412 before the body is validated", async () => {
    const answer = await put("plans: {}", { "If-Match": '"0000000000000000"' });
    expect(answer.status).toBe(412);
    expect(answer.json.error.details).toEqual({ currentVersion: active });
  });

  it("an invalid body with a matching If-Match is 400 and changes nothing", async () => {
    const answer = await put("plans: {}", { "If-Match": active });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({
      code: "invalid_policy",
      details: { issues: [{ path: "plans", message: expect.stringMatching(/at least one plan/) }] },
    });
    expect((await ok("GET", "/v1/policy")).version).toBe(active);
  });
});
