import { DurableObject } from "cloudflare:workers";

/** One customer's record, meters, holds, idempotency keys and event log. */
export class CustomerObject extends DurableObject<Env> {
  async ping(): Promise<string> {
    return "pong";
  }
}
