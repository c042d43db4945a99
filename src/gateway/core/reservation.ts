/**
 * A gateway reservation and its one settle (SPEC §11, §12.4): the model's tokens and, for a priced call under
 * `gateway.spend`, its estimated cost. One settle step settles both holds, each exactly once (later settles
 * get the first one's answer): the tokens with their classes and the call's cost (the model meter's
 * `overheadDiff`, the event's `data.cost`), the spend with the actual cost in its credit.
 */
import type { SettleUsage } from "../../domain/token-usage";
import type { Decision } from "../../domain/types";
import type { ActivePolicy } from "../../policy/store";
import { type GatewayContext, logSettleFailure } from "./context";
import { settleHold } from "./metering";
import { type CallMoney, classesCost } from "./spend";

/** The decisions of a call's holds: the model's tokens, and the spend (null when the call reserved none). */
export interface HoldDecisions {
  model: Decision;
  spend: Decision | null;
}

export class Reservation {
  private settled: Promise<HoldDecisions> | null = null;

  constructor(
    private readonly call: { ctx: GatewayContext; key: string; active: ActivePolicy },
    private readonly customer: string,
    /** The reserve decisions: what the headers show until the settle answers. */
    readonly reserved: HoldDecisions,
    private readonly money: CallMoney,
  ) {}

  /**
   * Settle once (later calls get the first settle's answer); resolves to the decisions to report. `usage`:
   * the token classes the amount is made of (none for a cancel, which costs nothing).
   */
  settle(amount: number, usage: SettleUsage | null = null): Promise<HoldDecisions> {
    this.settled ??= this.settleOnce(amount, usage);
    return this.settled;
  }

  private async settleOnce(amount: number, usage: SettleUsage | null): Promise<HoldDecisions> {
    const { cost, spend } = this.money;
    const runes = cost === null || usage === null || amount === 0 ? 0 : classesCost(cost, usage.classes);
    const spent = this.reserved.spend;
    const [model, spendDecision] = await Promise.all([
      this.settleOne(this.reserved.model, amount, usage, cost === null ? null : runes),
      spent === null || spend === null
        ? Promise.resolve(spent)
        : this.settleOne(spent, runes / spend.runesPerUnit, null, null),
    ]);
    return { model, spend: spendDecision };
  }

  private async settleOne(
    reserved: Decision,
    amount: number,
    usage: SettleUsage | null,
    cost: number | null,
  ): Promise<Decision> {
    const holdId = reserved.holdId;
    // A feature flag reserves nothing (holdId null): there is nothing to settle.
    if (holdId === null) return reserved;
    const { ctx, active } = this.call;
    try {
      const result = await settleHold(ctx.env, this.customer, holdId, amount, active.version, usage, cost);
      if (result.ok) return result.decision;
      this.logFailure(result.code === "customer_not_found" ? "customer_gone" : result.code);
    } catch (error) {
      this.logFailure(error instanceof Error ? error.name : "unknown");
    }
    return reserved;
  }

  private logFailure(code: string): void {
    logSettleFailure(this.call.ctx, this.call.key, code);
  }
}
