/** A gateway reservation and its one settle (SPEC §11): later settles get the first one's answer. */
import type { SettleUsage } from "../../domain/token-usage";
import type { Decision } from "../../domain/types";
import type { ActivePolicy } from "../../policy/store";
import { type GatewayContext, logSettleFailure } from "./context";
import { settleHold } from "./metering";

export class Reservation {
  private settled: Promise<Decision> | null = null;

  constructor(
    private readonly call: { ctx: GatewayContext; key: string; active: ActivePolicy },
    private readonly customer: string,
    /** The reserve decision: what the headers show until the settle answers. */
    readonly reserved: Decision,
  ) {}

  /**
   * Settle once (later calls get the first settle's answer); resolves to the decision to report. `usage`:
   * the token classes the amount is made of (none for a cancel).
   */
  settle(amount: number, usage: SettleUsage | null = null): Promise<Decision> {
    this.settled ??= this.settleOnce(amount, usage);
    return this.settled;
  }

  private async settleOnce(amount: number, usage: SettleUsage | null): Promise<Decision> {
    const holdId = this.reserved.holdId;
    // A feature flag reserves nothing (holdId null): there is nothing to settle.
    if (holdId === null) return this.reserved;
    const { ctx, active } = this.call;
    try {
      const result = await settleHold(ctx.env, this.customer, holdId, amount, active.version, usage);
      if (result.ok) return result.decision;
      this.logFailure(result.code === "customer_not_found" ? "customer_gone" : result.code);
    } catch (error) {
      this.logFailure(error instanceof Error ? error.name : "unknown");
    }
    return this.reserved;
  }

  private logFailure(code: string): void {
    logSettleFailure(this.call.ctx, this.call.key, code);
  }
}
