/**
 * The read model's "Done when" (issue 13, SPEC §13.1): after 1,000 consumes over 50 customers in 3 orgs
 * (members consuming an org-scoped entitlement too), the alarms project every event into D1 and
 * `GET /v1/usage` equals the sums of the objects' own meters exactly; replaying the events changes no total;
 * D1 failing, or a run that throws mid-way, loses nothing. Alarms are run with runDurableObjectAlarm.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  consume,
  customerStub,
  getCustomer,
  type Json,
  ok,
  putCustomer,
  putPolicy,
  runProjection,
} from "../support/api";
import { restoreAnalytics, sumBy, swapAnalytics, usage } from "../support/read-model";

const POLICY = `
credits:
  token: { label: Token }
  call: { label: Call, overhead_cost: 0.01 }
plans:
  team:
    default: true
    entitlements:
      tokens:
        limit: { credit: token, value: 1000000 }
      calls:
        limit: { credit: call, value: 100, mode: soft }
      org_tokens:
        scope: org
        limit: { credit: token, value: 800 }
`;

const ORGS = ["rm_org_a", "rm_org_b", "rm_org_c"];
const USERS = Array.from({ length: 50 }, (_, i) => `rm_user_${String(i).padStart(2, "0")}`);
const orgOf = (user: string) => ORGS[Number(user.slice(-2)) % ORGS.length] as string;
const ENTITLEMENTS = ["tokens", "calls", "org_tokens"] as const;
/** What each member's org-scoped calls recorded on its org, from the decisions (an org meter is shared). */
const orgScopedBy = new Map<string, number>();

/** mulberry32: the same 1,000 calls on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function projectAll(): Promise<void> {
  for (const id of [...ORGS, ...USERS]) await runProjection(id);
}

/** Each object's own meters, summed per entitlement, and per customer. */
async function meterSums(): Promise<{ perEntitlement: Map<string, number>; perObject: Map<string, number> }> {
  const perEntitlement = new Map<string, number>();
  const perObject = new Map<string, number>();
  for (const id of [...ORGS, ...USERS]) {
    const view = await getCustomer(id);
    let own = 0;
    for (const [name, meter] of Object.entries(view.meters as Record<string, Json>)) {
      perEntitlement.set(name, (perEntitlement.get(name) ?? 0) + meter.used);
      own += meter.used;
    }
    perObject.set(id, own);
  }
  return { perEntitlement, perObject };
}

/** `GET /v1/usage` equals the meters exactly, by customer, by entitlement and day, and by org. */
async function expectExact(): Promise<void> {
  const { perEntitlement, perObject } = await meterSums();
  const byCustomer = sumBy((await usage("groupBy=customer")).series, (p) => p.group.customer);
  for (const user of USERS) {
    // A member's calls: its own meters, plus what it recorded on its org's org-scoped meter.
    expect(byCustomer.get(user) ?? 0, user).toBe((perObject.get(user) ?? 0) + (orgScopedBy.get(user) ?? 0));
  }
  for (const org of ORGS) {
    // The orgs made no calls themselves; their meter is exactly what their members recorded on it.
    expect(byCustomer.has(org)).toBe(false);
    const members = USERS.filter((u) => orgOf(u) === org);
    expect(perObject.get(org)).toBe(members.reduce((sum, u) => sum + (orgScopedBy.get(u) ?? 0), 0));
    const onOrg = await usage(`org=${org}&entitlement=org_tokens`);
    expect(onOrg.series).toHaveLength(1);
    expect(onOrg.series[0].amount).toBe(perObject.get(org));
    const all = await usage(`org=${org}`);
    expect(all.series[0].amount).toBe(
      (perObject.get(org) ?? 0) + members.reduce((sum, u) => sum + (perObject.get(u) ?? 0), 0),
    );
  }
  const byDay = await usage("groupBy=entitlement,day");
  for (const point of byDay.series) expect(point.bucket).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00\+00:00$/);
  const byEntitlement = sumBy(byDay.series, (p) => p.group.entitlement);
  expect(Object.fromEntries(byEntitlement)).toEqual(Object.fromEntries(perEntitlement));
}

beforeAll(async () => {
  await putPolicy(POLICY);
  for (const org of ORGS) await putCustomer(org, { type: "org", label: `Org ${org}` });
  for (const user of USERS)
    await putCustomer(user, { org: orgOf(user), alternateIds: [`${user}@example.com`] });
  const random = prng(13);
  let denied = 0;
  const calls = Array.from({ length: 1000 }, () => ({
    customer: USERS[Math.floor(random() * USERS.length)] as string,
    entitlement: ENTITLEMENTS[Math.floor(random() * ENTITLEMENTS.length)] as string,
    amount: 1 + Math.floor(random() * 20),
  }));
  for (let i = 0; i < calls.length; i += 25) {
    await Promise.all(
      calls.slice(i, i + 25).map(async (call) => {
        const decision = await consume(call);
        if (!decision.allowed) denied += 1;
        if (call.entitlement === "org_tokens" && decision.allowed) {
          expect(decision.meteredOn).toBe(orgOf(call.customer));
          orgScopedBy.set(call.customer, (orgScopedBy.get(call.customer) ?? 0) + call.amount);
        }
      }),
    );
  }
  // The org meters are hard at 800: some org-scoped calls were denied, and denials record nothing.
  expect(denied).toBeGreaterThan(0);
  await projectAll();
}, 120_000);

describe("GET /v1/usage after 1,000 consumes over 50 customers in 3 orgs (SPEC §13.1)", () => {
  it("equals the objects' own meters exactly: by customer, by entitlement and day, by org", async () => {
    await expectExact();
  });

  it("carries the money the events carry: cost = amount × overhead_cost on the priced credit", async () => {
    const { series } = await usage("groupBy=entitlement");
    const calls = series.find((p: Json) => p.group.entitlement === "calls");
    expect(calls.cost).toBeCloseTo(calls.amount * 0.01, 9);
    const tokens = series.find((p: Json) => p.group.entitlement === "tokens");
    expect(tokens.cost).toBe(0);
    expect(tokens.usage).toBeUndefined();
  });

  it("every event shows projected: true once its alarm ran", async () => {
    const page = await usage("groupBy=customer&limit=1");
    expect(page.series).toHaveLength(1);
    expect(page.truncated).toBe(true);
    for (const id of [USERS[0] as string, ORGS[0] as string]) {
      const { events } = await ok("GET", `/v1/customers/${id}/events?limit=1000`);
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((e: Json) => e.projected === true)).toBe(true);
    }
  });

  it("replaying the same events twice changes no total", async () => {
    const before = [await usage("groupBy=customer"), await usage("groupBy=entitlement,day")];
    for (let round = 0; round < 2; round++) {
      for (const id of [...ORGS, ...USERS]) {
        await runInDurableObject(customerStub(id), (_i, state: DurableObjectState) => {
          state.storage.sql.exec("UPDATE meta SET value = '0' WHERE key = 'projected_through'");
        });
        // A new instance finds the unprojected events and arms the alarm (as after the schema migration).
        await evictDurableObject(customerStub(id));
      }
      await projectAll();
      expect([await usage("groupBy=customer"), await usage("groupBy=entitlement,day")]).toEqual(before);
    }
    await expectExact();
  });
});

describe("projection failures lose nothing (SPEC §13.1)", () => {
  const victims = [USERS[1] as string, USERS[2] as string, USERS[3] as string];

  /** Consume on every victim (org-scoped too) and keep the tally of what the org meters recorded. */
  async function consumeOnVictims(): Promise<void> {
    for (const customer of victims) {
      await consume({ customer, entitlement: "tokens", amount: 7 });
      await consume({ customer, entitlement: "calls", amount: 3 });
      const d = await consume({ customer, entitlement: "org_tokens", amount: 1 });
      if (d.allowed) orgScopedBy.set(customer, (orgScopedBy.get(customer) ?? 0) + 1);
    }
  }

  it("D1 unavailable: events stay unprojected, the alarm stays armed, totals unchanged; then exact", async () => {
    const before = await usage("groupBy=customer");
    const broken = [...victims, ...ORGS];
    for (const id of broken) {
      await swapAnalytics(id, () => ({ project: () => Promise.reject(new Error("D1_ERROR: unavailable")) }));
    }
    await consumeOnVictims();
    for (const id of broken) {
      await runDurableObjectAlarm(customerStub(id));
      const alarm = await runInDurableObject(customerStub(id), (_i, s: DurableObjectState) =>
        s.storage.getAlarm(),
      );
      expect(alarm, id).not.toBeNull();
    }
    for (const id of victims) {
      const { events } = await ok("GET", `/v1/customers/${id}/events?limit=1000`);
      expect(events.at(-1).projected).toBe(false);
    }
    expect(await usage("groupBy=customer")).toEqual(before);
    for (const id of broken) await restoreAnalytics(id);
    await projectAll();
    await expectExact();
  });

  it("a run that throws mid-way (after D1 took part of a batch, or all of it): nothing lost, nothing twice", async () => {
    const [half, all, sync] = victims as [string, string, string];
    await swapAnalytics(half, (real) => ({
      async project(items) {
        await real.project(items.slice(0, Math.ceil(items.length / 2)));
        throw new Error("the isolate died mid-batch");
      },
    }));
    await swapAnalytics(all, (real) => ({
      async project(items) {
        await real.project(items);
        throw new Error("died after D1 committed, before the events were marked");
      },
    }));
    await swapAnalytics(sync, () => ({
      project() {
        throw new Error("thrown, not rejected");
      },
    }));
    for (const org of ORGS) {
      await swapAnalytics(org, (real) => ({
        async project(items) {
          await real.project(items);
          throw new Error("died after D1 committed");
        },
      }));
    }
    await consumeOnVictims();
    for (const id of [...victims, ...ORGS]) await runDurableObjectAlarm(customerStub(id));
    for (const id of [...victims, ...ORGS]) await restoreAnalytics(id);
    await projectAll();
    await expectExact();
  });
});
