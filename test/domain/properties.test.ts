import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CompiledEntitlement, Decision } from "../../src/domain/types";
import { entitlement, HOUR, MINUTE } from "../support/compiled";
import { MeterSim } from "../support/meter-sim";

type Step =
  | { kind: "consume" | "check" | "release" | "reserve"; amount: number }
  | { kind: "settle"; pick: number; fraction: number }
  | { kind: "advance"; ms: number }
  | { kind: "expire" };

const amount = fc.integer({ min: 0, max: 40 });
const stepArb = (withExpiry: boolean): fc.Arbitrary<Step> =>
  fc.oneof(
    fc.record({
      kind: fc.constantFrom("consume", "check", "release", "reserve"),
      amount,
    }) as fc.Arbitrary<Step>,
    fc.record({
      kind: fc.constant("settle"),
      pick: fc.nat(),
      fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    fc.record({
      kind: fc.constant("advance"),
      ms: fc.integer({ min: 0, max: withExpiry ? 2 * HOUR : 5 * MINUTE }),
    }),
    ...(withExpiry ? [fc.constant<Step>({ kind: "expire" })] : []),
  );

const meterArb: fc.Arbitrary<CompiledEntitlement> = fc
  .record({
    value: fc.integer({ min: 0, max: 100 }),
    mode: fc.constantFrom("hard", "soft", "observe"),
    minimum: fc.integer({ min: 0, max: 10 }),
    rolling: fc.boolean(),
    rated: fc.boolean(),
  })
  .map((m) =>
    entitlement("tokens", {
      limit: {
        value: m.value,
        mode: m.mode as "hard" | "soft" | "observe",
        minimum: m.minimum,
        reset: m.rolling ? { kind: "rolling", periodMs: HOUR } : { kind: "none" },
      },
      rate: m.rated ? { limit: 50, windowMs: MINUTE } : undefined,
    }),
  );

/** Run the steps; settles pick a live hold and settle at most its amount (expired ones too). */
function run(
  ent: CompiledEntitlement,
  steps: Step[],
  observe?: (sim: MeterSim, d: Decision, s: Step) => void,
) {
  const sim = new MeterSim(ent);
  const decisions: Decision[] = [];
  for (const step of steps) {
    let d: Decision | null = null;
    if (step.kind === "advance") sim.advance(step.ms);
    else if (step.kind === "expire") sim.expireDue();
    else if (step.kind === "settle") {
      const ids = [...sim.holds.keys()];
      const id = ids[step.pick % Math.max(1, ids.length)];
      const hold = id === undefined ? undefined : sim.holds.get(id);
      if (hold !== undefined) d = sim.settle(hold.id, Math.floor(hold.amount * step.fraction));
    } else d = sim[step.kind](step.amount);
    if (d !== null) {
      decisions.push(d);
      observe?.(sim, d, step);
    }
  }
  return { sim, decisions };
}

describe("engine properties", () => {
  it("a hard meter never exceeds its limit while holds settle within their reservation", () => {
    const hard = meterArb.filter((e) => e.limit?.mode === "hard");
    fc.assert(
      fc.property(hard, fc.array(stepArb(false), { maxLength: 60 }), (ent, steps) => {
        run(ent, steps, (sim) => {
          const m = sim.meter;
          if (m !== undefined) expect(m.used + m.held).toBeLessThanOrEqual(ent.limit?.value ?? 0);
        });
      }),
    );
  });

  it("used, held and overage never go negative, and held equals the live holds", () => {
    fc.assert(
      fc.property(meterArb, fc.array(stepArb(true), { maxLength: 60 }), (ent, steps) => {
        run(ent, steps, (sim) => {
          const m = sim.meter;
          if (m === undefined) return;
          expect(m.used).toBeGreaterThanOrEqual(0);
          expect(m.held).toBeGreaterThanOrEqual(0);
          expect(m.overage).toBeGreaterThanOrEqual(0);
          const live = [...sim.holds.values()].filter((h) => !h.expired).reduce((a, h) => a + h.amount, 0);
          expect(m.held).toBe(live);
        });
      }),
    );
  });

  it("a denial changes nothing", () => {
    fc.assert(
      fc.property(meterArb, fc.array(stepArb(true), { maxLength: 60 }), (ent, steps) => {
        const sim = new MeterSim(ent);
        for (const step of steps) {
          if (step.kind !== "consume" && step.kind !== "reserve") {
            if (step.kind === "advance") sim.advance(step.ms);
            continue;
          }
          const before = JSON.stringify({ meter: sim.meter, holds: [...sim.holds] });
          const d = sim[step.kind](step.amount);
          if (!d.allowed) expect(JSON.stringify({ meter: sim.meter, holds: [...sim.holds] })).toBe(before);
        }
      }),
    );
  });

  it("replaying a sequence from the same start state gives the same decisions", () => {
    fc.assert(
      fc.property(meterArb, fc.array(stepArb(true), { maxLength: 60 }), (ent, steps) => {
        const first = run(ent, steps);
        const second = run(ent, steps);
        expect(second.decisions).toEqual(first.decisions);
        expect(second.sim.meter).toEqual(first.sim.meter);
        expect(second.sim.events).toEqual(first.sim.events);
      }),
    );
  });

  it("a counter's used equals the admitted amounts since its last reset", () => {
    fc.assert(
      fc.property(meterArb, fc.array(stepArb(false), { maxLength: 60 }), (ent, steps) => {
        let sum = 0;
        run(ent, steps, (sim, d, step) => {
          if (sim.events.at(-1)?.type === "meter.reset" || sim.events.some((e) => e.type === "meter.reset"))
            return;
          if (step.kind === "consume" && d.allowed) sum += d.amount;
          if (step.kind === "settle") sum += d.amount;
          if (step.kind === "release") sum = d.used ?? sum;
          expect(sim.meter?.used ?? 0).toBe(sum);
        });
      }),
    );
  });
});
