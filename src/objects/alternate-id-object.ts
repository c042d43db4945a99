import { DurableObject } from "cloudflare:workers";
import { customerStub } from "./directory";

/**
 * One alternate ID (an email, a Stripe id, an API key…) and the customer that owns it. One object per ID,
 * so the index scales with the number of IDs and no global object sits on the hot path (SPEC §1, §10).
 * The owner's record is the truth; this index is how an ID finds it.
 */
export class AlternateIdObject extends DurableObject<Env> {
  /** The owning customer's canonical id, or null. */
  async lookup(): Promise<string | null> {
    return (await this.ctx.storage.get<string>("owner")) ?? null;
  }

  /**
   * Claim the ID (`alternateId`, this object's name) for `customer`; answers the current owner when someone
   * else holds it. An owner that neither lists the ID nor is claiming it (a claim left behind by a crash or a
   * lost race) is replaced.
   */
  async claim(customer: string, alternateId: string): Promise<{ ok: true } | { ok: false; owner: string }> {
    // One claim at a time, the owner's answer included: two claimants must not both take over a stale claim.
    return this.ctx.blockConcurrencyWhile(async () => {
      const owner = await this.ctx.storage.get<string>("owner");
      if (owner === customer) return { ok: true };
      if (owner !== undefined && (await this.ownerHolds(owner, alternateId))) return { ok: false, owner };
      await this.ctx.storage.put("owner", customer);
      return { ok: true };
    });
  }

  /** Free the ID if `customer` holds it. */
  async release(customer: string): Promise<void> {
    const owner = await this.ctx.storage.get<string>("owner");
    if (owner === customer) await this.ctx.storage.deleteAll();
  }

  private ownerHolds(owner: string, alternateId: string): Promise<boolean> {
    return customerStub(this.env, owner).holdsAlternateId(alternateId);
  }
}
