/**
 * Exact under concurrency (SPEC §8): 10,000 consumes over 100 customers in 5 orgs, 64 in flight, then every
 * meter must equal the sum of the amounts its decisions admitted, hard limits must hold, each org's seats must
 * admit exactly what fits, and every recorded change (and hard denial) must have its event.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { gate, type Json, pool, prng, putLoadPolicy } from "./support";

const CALLS = 10_000;
const CONCURRENCY = 64;
const ORGS = 5;
const CUSTOMERS = 100;
const SEED = 20261127;
const LIMITS = { seats: 40, tokens: 2000, storage: 1000, soft_tokens: 300 } as const;
const ORG_SCOPED = new Set(["seats", "org_tokens"]);

const client = gate();
const orgs = Array.from({ length: ORGS }, (_, i) => `load_org_${i}`);
const customers = Array.from({ length: CUSTOMERS }, (_, i) => ({
  id: `load_user_${String(i).padStart(3, "0")}`,
  key: `load_key_${i}`,
  org: orgs[i % ORGS] as string,
}));

interface Call {
  customer: (typeof customers)[number];
  viaAlternateId: boolean;
  entitlement: string;
  amount: number | string;
}

/** The calls, from a seeded PRNG: 10% seats, 10% org tokens, 40% tokens, 20% storage, 20% soft tokens. */
function plan(): Call[] {
  const random = prng(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  return Array.from({ length: CALLS }, () => {
    const customer = pick(customers);
    const r = random();
    const viaAlternateId = random() < 0.25;
    if (r < 0.1) return { customer, viaAlternateId, entitlement: "seats", amount: 1 };
    if (r < 0.2)
      return { customer, viaAlternateId, entitlement: "org_tokens", amount: 1 + Math.floor(random() * 50) };
    if (r < 0.6)
      return { customer, viaAlternateId, entitlement: "tokens", amount: 1 + Math.floor(random() * 100) };
    if (r < 0.8)
      return {
        customer,
        viaAlternateId,
        entitlement: "storage",
        amount: pick(["10MB", "25MB", "0.1GB", 250]),
      };
    return { customer, viaAlternateId, entitlement: "soft_tokens", amount: 1 + Math.floor(random() * 40) };
  });
}

/** Meter key: the object it lives on and the entitlement. */
const meterKey = (call: Call) =>
  `${ORG_SCOPED.has(call.entitlement) ? call.customer.org : call.customer.id}|${call.entitlement}`;

describe("10,000 concurrent consumes over 100 customers and 5 orgs", () => {
  const decisions: { call: Call; decision: Json }[] = [];

  beforeAll(async () => {
    await putLoadPolicy(client);
    await pool(orgs, 8, (id) => client.putCustomer(id, { type: "org" }));
    await pool(customers, 8, (c) => client.putCustomer(c.id, { org: c.org, alternateIds: [c.key] }));
    const calls = plan();
    const started = Date.now();
    const replies = await pool(calls, CONCURRENCY, async (call) => {
      const reply = await client.call("POST", "/v1/consume", {
        customer: call.viaAlternateId ? call.customer.key : call.customer.id,
        entitlement: call.entitlement,
        amount: call.amount,
      });
      return { call, reply };
    });
    const failed = replies.filter((r) => r.reply.status !== 200);
    expect(failed.map((f) => `${f.reply.status} ${f.reply.text.slice(0, 200)}`).slice(0, 5)).toEqual([]);
    for (const { call, reply } of replies) decisions.push({ call, decision: reply.json });
    const seconds = (Date.now() - started) / 1000;
    console.log(`load: ${CALLS} consumes in ${seconds.toFixed(1)} s (${Math.round(CALLS / seconds)}/s)`);
  });

  it("answers every call with a decision about the right customer", () => {
    expect(decisions).toHaveLength(CALLS);
    for (const { call, decision } of decisions) {
      expect(typeof decision.allowed).toBe("boolean");
      expect(decision.customer).toBe(call.customer.id);
      expect(decision.entitlement).toBe(call.entitlement);
      expect(decision.meteredOn).toBe(
        ORG_SCOPED.has(call.entitlement) ? call.customer.org : call.customer.id,
      );
      if (!decision.allowed) expect(decision.reason).toBe("limit_exceeded");
    }
  });

  it("keeps every meter equal to the sum of the amounts admitted", async () => {
    const admitted = new Map<string, number>();
    for (const { call, decision } of decisions) {
      if (decision.allowed)
        admitted.set(meterKey(call), (admitted.get(meterKey(call)) ?? 0) + decision.amount);
    }
    const owners = [...orgs, ...customers.map((c) => c.id)];
    const views = await pool(owners, 8, (id) => client.getCustomer(id));
    const mismatches: string[] = [];
    let checked = 0;
    for (const view of views) {
      for (const [entitlement, meter] of Object.entries(view.meters as Record<string, Json>)) {
        const expected = admitted.get(`${view.id}|${entitlement}`) ?? 0;
        checked += 1;
        if (meter.used !== expected)
          mismatches.push(`${view.id} ${entitlement}: used ${meter.used}, admitted ${expected}`);
      }
    }
    expect(mismatches).toEqual([]);
    // Every meter that admitted something was seen.
    expect(checked).toBeGreaterThanOrEqual(admitted.size);
  });

  it("admits exactly what fits: each org's seats are full and hard limits hold", async () => {
    const views = new Map<string, Json>();
    for (const view of await pool([...orgs, ...customers.map((c) => c.id)], 8, (id) =>
      client.getCustomer(id),
    )) {
      views.set(view.id, view);
    }
    for (const org of orgs) {
      const attempts = decisions.filter((d) => d.call.entitlement === "seats" && d.call.customer.org === org);
      const admitted = attempts.filter((d) => d.decision.allowed).length;
      expect(attempts.length, `${org} must be oversubscribed`).toBeGreaterThan(LIMITS.seats);
      expect(admitted, `${org} seats admitted`).toBe(LIMITS.seats);
      expect(views.get(org).meters.seats.used).toBe(LIMITS.seats);
    }
    // A denial means used + amount > limit at that moment; usage only grows here, so also at the end.
    for (const { call, decision } of decisions) {
      if (decision.allowed || call.entitlement === "soft_tokens") continue;
      const owner = ORG_SCOPED.has(call.entitlement) ? call.customer.org : call.customer.id;
      const meter = views.get(owner).meters[call.entitlement];
      expect(meter.used + decision.amount, `${owner} ${call.entitlement}`).toBeGreaterThan(meter.limit);
    }
    for (const c of customers) {
      const meters = views.get(c.id).meters;
      if (meters.tokens !== undefined) expect(meters.tokens.used).toBeLessThanOrEqual(LIMITS.tokens);
      if (meters.storage !== undefined) expect(meters.storage.used).toBeLessThanOrEqual(LIMITS.storage);
      // Soft never denies and records what went past the limit.
      if (meters.soft_tokens !== undefined) {
        expect(meters.soft_tokens.overage).toBe(Math.max(0, meters.soft_tokens.used - LIMITS.soft_tokens));
      }
    }
    const denied = decisions.filter((d) => !d.decision.allowed);
    expect(denied.filter((d) => d.call.entitlement === "soft_tokens")).toEqual([]);
    // The run is only meaningful if limits were actually hit.
    expect(denied.filter((d) => d.call.entitlement === "tokens").length).toBeGreaterThan(0);
    expect(denied.filter((d) => d.call.entitlement === "storage").length).toBeGreaterThan(0);
  });

  it("writes one event per recorded change and per hard denial, with gap-free seq", async () => {
    const expected = new Map<string, { changed: number; limitReached: number }>();
    for (const { call, decision } of decisions) {
      const owner = ORG_SCOPED.has(call.entitlement) ? call.customer.org : call.customer.id;
      const counts = expected.get(owner) ?? { changed: 0, limitReached: 0 };
      if (decision.allowed) counts.changed += 1;
      else counts.limitReached += 1;
      expected.set(owner, counts);
    }
    const owners = [...orgs, ...customers.map((c) => c.id)];
    await pool(owners, 8, async (id) => {
      const { events } = await client.allEvents(id);
      const seqs = events.map((e: Json) => e.seq);
      expect(seqs, `${id} seq`).toEqual(Array.from({ length: seqs.length }, (_, i) => (seqs[0] ?? 1) + i));
      // Only a full log (nothing pruned) can be counted.
      if (seqs[0] !== 1) return;
      const count = (type: string) => events.filter((e: Json) => e.type === type).length;
      const want = expected.get(id) ?? { changed: 0, limitReached: 0 };
      expect({ id, changed: count("meter.changed"), limitReached: count("meter.limit_reached") }).toEqual({
        id,
        ...want,
      });
    });
  });
});
