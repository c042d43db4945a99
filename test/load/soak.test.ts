/**
 * Soak: mixed check / consume / reserve / settle from 32 clients for a few seconds, with one-second holds,
 * some settled in time, some settled late (after expiry), some never settled, on customer meters and on an
 * org-scoped meter. Then real time passes until the objects' alarms expire what is left. Every meter must equal
 * what consumes admitted plus what settles recorded, nothing may stay held, and every expired hold must have
 * exactly one `hold.expired` event in its owner's log.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { gate, type Json, pool, prng, putLoadPolicy } from "./support";

const CLIENTS = 32;
const SOAK_MS = 8_000;
// Bounded in count too, so no owner's log outgrows the 1000 events kept and every hold.expired can be counted.
const MAX_CALLS = 3_000;
const TTL_SECONDS = 1;
const SEED = 7;

const client = gate();
const orgs = ["soak_org_0", "soak_org_1", "soak_org_2"];
const members = Array.from({ length: 12 }, (_, i) => `soak_user_${i}`);
const orgOf = (member: string) => orgs[Number(member.split("_").at(-1)) % orgs.length] as string;
const entitlements = ["burst", "org_tokens"] as const;
type Entitlement = (typeof entitlements)[number];

interface Hold {
  id: string;
  customer: string;
  entitlement: Entitlement;
  amount: number;
  reservedAtMs: number;
}

/** Where a meter lives: the org for org-scoped entitlements. */
const ownerOf = (customer: string, entitlement: Entitlement) =>
  entitlement === "org_tokens" ? orgOf(customer) : customer;

describe("soak of mixed calls with holds expiring", () => {
  const recorded = new Map<string, number>(); // owner|entitlement → used expected
  const holds: Hold[] = [];
  const open = new Map<string, Hold>();
  const lateSettled = new Set<string>();
  const expiredBySettle: string[] = [];
  const counts = { check: 0, consume: 0, reserve: 0, settle: 0, denied: 0 };
  const unexpected: string[] = [];

  const add = (owner: string, entitlement: string, amount: number) =>
    recorded.set(`${owner}|${entitlement}`, (recorded.get(`${owner}|${entitlement}`) ?? 0) + amount);

  beforeAll(async () => {
    await putLoadPolicy(client);
    await pool(orgs, 3, (id) => client.putCustomer(id, { type: "org" }));
    await pool(members, 6, (id) => client.putCustomer(id, { org: orgOf(id) }));

    const deadline = Date.now() + SOAK_MS;
    let calls = 0;
    const clientLoop = async (n: number) => {
      const random = prng(SEED * 1000 + n);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      while (Date.now() < deadline && calls < MAX_CALLS) {
        calls += 1;
        const customer = pick(members);
        const entitlement = pick(entitlements);
        const r = random();
        if (r < 0.2) {
          counts.check += 1;
          const reply = await client.call("POST", "/v1/check", { customer, entitlement, amount: 5 });
          if (reply.status !== 200) unexpected.push(`check ${reply.status} ${reply.text}`);
        } else if (r < 0.45) {
          counts.consume += 1;
          const amount = 1 + Math.floor(random() * 10);
          const reply = await client.call("POST", "/v1/consume", { customer, entitlement, amount });
          if (reply.status !== 200) unexpected.push(`consume ${reply.status} ${reply.text}`);
          else if (reply.json.allowed) add(ownerOf(customer, entitlement), entitlement, reply.json.amount);
          else counts.denied += 1;
        } else if (r < 0.75 || open.size === 0) {
          counts.reserve += 1;
          const amount = 1 + Math.floor(random() * 20);
          const reply = await client.call("POST", "/v1/reserve", {
            customer,
            entitlement,
            amount,
            ttl: TTL_SECONDS,
          });
          if (reply.status !== 200) unexpected.push(`reserve ${reply.status} ${reply.text}`);
          else if (reply.json.allowed) {
            const hold = { id: reply.json.holdId, customer, entitlement, amount, reservedAtMs: Date.now() };
            holds.push(hold);
            // About a third are left to expire by the alarm.
            if (random() < 0.67) open.set(hold.id, hold);
          } else counts.denied += 1;
        } else {
          counts.settle += 1;
          const hold = pick([...open.values()]);
          open.delete(hold.id);
          // Settle the actual amount: all, part, or 0 (cancel); some after the ttl has passed.
          const amount = pick([hold.amount, Math.floor(hold.amount / 2), 0]);
          if (random() < 0.25) {
            const wait = hold.reservedAtMs + TTL_SECONDS * 1000 + 200 - Date.now();
            if (wait > 0) await sleep(wait);
            lateSettled.add(hold.id);
          }
          const reply = await client.call("POST", "/v1/settle", {
            customer: hold.customer,
            holdId: hold.id,
            amount,
          });
          if (reply.status !== 200) unexpected.push(`settle ${reply.status} ${reply.text}`);
          else {
            add(ownerOf(hold.customer, hold.entitlement), hold.entitlement, reply.json.amount);
            if (reply.json.reason === "hold_expired") expiredBySettle.push(hold.id);
            (hold as Hold & { settled?: boolean }).settled = true;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, n) => clientLoop(n)));
    console.log(
      `soak: ${JSON.stringify(counts)}, ${holds.length} holds, ${expiredBySettle.length} settled after expiry`,
    );

    // Let every remaining hold pass its ttl, then wait for the alarms to expire them (real time: a real server).
    const lastExpiry = Math.max(...holds.map((h) => h.reservedAtMs)) + TTL_SECONDS * 1000;
    await sleep(Math.max(0, lastExpiry - Date.now()) + 500);
    for (let tries = 0; tries < 40; tries++) {
      const views = await pool([...orgs, ...members], 6, (id) => client.getCustomer(id));
      if (
        views.every((v: Json) => Object.values(v.meters as Record<string, Json>).every((m) => m.held === 0))
      )
        break;
      await sleep(250);
    }
  });

  it("answers every call with a 200 decision and exercised every path", () => {
    expect(unexpected.slice(0, 5)).toEqual([]);
    expect(counts.check).toBeGreaterThan(0);
    expect(counts.consume).toBeGreaterThan(0);
    expect(counts.settle).toBeGreaterThan(0);
    expect(counts.denied, "holds and consumes must crowd the small limit").toBeGreaterThan(0);
    expect(holds.filter((h) => !(h as Hold & { settled?: boolean }).settled).length).toBeGreaterThan(0);
    expect(expiredBySettle.length).toBeGreaterThan(0);
  });

  it("holds nothing once every hold has expired or settled, and used is what was admitted and settled", async () => {
    const views = await pool([...orgs, ...members], 6, (id) => client.getCustomer(id));
    const mismatches: string[] = [];
    for (const view of views) {
      for (const entitlement of entitlements) {
        const meter = view.meters[entitlement];
        const expected = recorded.get(`${view.id}|${entitlement}`) ?? 0;
        if (meter === undefined) {
          if (expected !== 0) mismatches.push(`${view.id} ${entitlement}: no meter, expected ${expected}`);
          continue;
        }
        if (meter.held !== 0) mismatches.push(`${view.id} ${entitlement}: held ${meter.held} after expiry`);
        if (meter.used !== expected)
          mismatches.push(`${view.id} ${entitlement}: used ${meter.used}, expected ${expected}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("writes exactly one hold.expired per expired hold, in the log of the meter's owner", async () => {
    const expired = new Set([
      ...holds.filter((h) => !(h as Hold & { settled?: boolean }).settled).map((h) => h.id),
      ...expiredBySettle,
    ]);
    const seen = new Map<string, number>();
    for (const id of [...orgs, ...members]) {
      const { events } = await client.allEvents(id);
      expect(events[0]?.seq, `${id}: the whole log is kept`).toBe(1);
      for (const e of events) {
        if (e.type === "hold.expired") {
          const holdId = String(e.data?.holdId);
          seen.set(holdId, (seen.get(holdId) ?? 0) + 1);
        }
      }
    }
    expect([...seen.values()].filter((n) => n !== 1)).toEqual([]);
    expect(new Set(seen.keys())).toEqual(expired);
  });

  it("no longer lets an expired hold settle twice", async () => {
    const settled = holds.find((h) => lateSettled.has(h.id) && expiredBySettle.includes(h.id));
    if (settled === undefined) return;
    const reply = await client.call("POST", "/v1/settle", {
      customer: settled.customer,
      holdId: settled.id,
      amount: 1,
    });
    expect(reply.status).toBe(404);
    expect(reply.json.error.code).toBe("hold_not_found");
  });
});
