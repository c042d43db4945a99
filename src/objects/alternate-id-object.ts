import { DurableObject } from "cloudflare:workers";
import type { ClaimResult } from "./contract";

/**
 * One string (an email, a Stripe id, an API key…) and the customer that owns it. One object per string, so the
 * index scales with the number of IDs and no global object sits on the hot path (SPEC §1, §10). The owner's
 * record is the truth; this index is how an ID finds it.
 *
 * It is also where a string's two uses meet (SPEC §11 "Integrity"): a customer being created claims its own id
 * here as `canonical`, so an alternate-ID claim and the creation of a customer with that id are serialised by
 * this one object, and exactly one of them wins, whatever the interleaving.
 */
export class AlternateIdObject extends DurableObject<Env> {
  /** The owning customer's canonical id, or null (also when the string is a customer's own id). */
  async lookup(): Promise<string | null> {
    if ((await this.ctx.storage.get<boolean>("canonical")) === true) return null;
    return (await this.ctx.storage.get<string>("owner")) ?? null;
  }

  /**
   * Claim the string (`alternateId`, this object's name) for `customer`: as its alternate ID, or
   * (`canonical`) as the id of the customer being created, `customer` itself. Answers the current owner when
   * someone else holds it. An owner that neither lists the ID (or is it) nor is claiming it (a claim left
   * behind by a crash or a lost race) is replaced.
   */
  async claim(customer: string, alternateId: string, canonical = false): Promise<ClaimResult> {
    // One claim at a time, the owner's answer included: two claimants must not both take over a stale claim.
    return this.ctx.blockConcurrencyWhile(async () => {
      const owner = await this.ctx.storage.get<string>("owner");
      if (owner !== undefined && owner !== customer && (await this.ownerHolds(owner, alternateId))) {
        return { ok: false, owner };
      }
      if (owner !== customer) await this.ctx.storage.put("owner", customer);
      if (((await this.ctx.storage.get<boolean>("canonical")) === true) !== canonical) {
        await this.ctx.storage.put("canonical", canonical);
      }
      return { ok: true };
    });
  }

  /** Free the ID if `customer` holds it. */
  async release(customer: string): Promise<void> {
    const owner = await this.ctx.storage.get<string>("owner");
    if (owner === customer) await this.ctx.storage.deleteAll();
  }

  private ownerHolds(owner: string, alternateId: string): Promise<boolean> {
    return this.env.CUSTOMERS.get(this.env.CUSTOMERS.idFromName(owner)).holdsAlternateId(alternateId);
  }
}
