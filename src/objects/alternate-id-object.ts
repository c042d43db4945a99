import { DurableObject } from "cloudflare:workers";

/**
 * One alternate ID (an email, a Stripe id, an API key…) and the customer that owns it. One object per ID,
 * so the index scales with the number of IDs and no global object sits on the hot path (SPEC §1, §10).
 */
export class AlternateIdObject extends DurableObject<Env> {
  /** The owning customer's canonical id, or null. */
  async lookup(): Promise<string | null> {
    return (await this.ctx.storage.get<string>("owner")) ?? null;
  }

  /** Claim the ID for `customer`; answers the current owner when someone else holds it. */
  async claim(customer: string): Promise<{ ok: true } | { ok: false; owner: string }> {
    const owner = await this.ctx.storage.get<string>("owner");
    if (owner !== undefined && owner !== customer) return { ok: false, owner };
    if (owner === undefined) await this.ctx.storage.put("owner", customer);
    return { ok: true };
  }

  /** Free the ID if `customer` holds it. */
  async release(customer: string): Promise<void> {
    const owner = await this.ctx.storage.get<string>("owner");
    if (owner === customer) await this.ctx.storage.deleteAll();
  }
}
