/** A minimal in-memory owner of one meter and its holds, storing what the pure core returns. */
import type { DecisionContext } from "../../src/domain/decision";
import { expireHold } from "../../src/domain/holds";
import { applyMeter, type MeterRequest } from "../../src/domain/meter";
import type { CompiledEntitlement, Decision, DomainEvent, Hold, MeterState } from "../../src/domain/types";

export const T0 = Date.UTC(2026, 0, 15, 10, 17, 3, 123);

export class MeterSim {
  meter: MeterState | undefined;
  holds = new Map<string, Hold>();
  events: DomainEvent[] = [];
  private nextHold = 1;

  constructor(
    readonly entitlement: CompiledEntitlement,
    public now = T0,
  ) {}

  context(): DecisionContext {
    return {
      customer: "cus_1",
      meteredOn: "cus_1",
      plan: "free",
      entitlement: this.entitlement,
      policyVersion: "v",
      nowMs: this.now,
    };
  }

  run(req: MeterRequest): Decision {
    const result = applyMeter(this.meter, this.context(), req);
    if (result.meter !== null) this.meter = result.meter;
    if (result.hold !== null) {
      if (req.op === "reserve") this.holds.set(result.hold.id, result.hold);
      else this.holds.delete(result.hold.id);
    }
    this.events.push(...result.events);
    return result.decision;
  }

  check(amount: number | null = null): Decision {
    return this.run({ op: "check", amount });
  }
  consume(amount: number | null = null): Decision {
    return this.run({ op: "consume", amount });
  }
  release(amount: number | null = null): Decision {
    return this.run({ op: "release", amount });
  }
  reserve(amount: number | null = null, ttlMs = 600_000): Decision {
    return this.run({ op: "reserve", amount, holdId: `hold_${this.nextHold++}`, ttlMs });
  }
  settle(holdId: string, amount: number | null = null): Decision {
    const hold = this.holds.get(holdId);
    if (hold === undefined) throw new Error(`no hold ${holdId}`);
    return this.run({ op: "settle", hold, amount });
  }
  /** What the object's alarm does: expire every due hold. */
  expireDue(): void {
    for (const hold of [...this.holds.values()]) {
      const expired = expireHold(this.meter, hold, "free", this.now);
      if (expired === null) continue;
      if (expired.meter !== null) this.meter = expired.meter;
      this.holds.set(hold.id, expired.hold);
      this.events.push(expired.event);
    }
  }
  advance(ms: number): void {
    this.now += ms;
  }
  eventTypes(): string[] {
    return this.events.map((e) => e.type);
  }
}
