import { DurableObject } from "cloudflare:workers";
import { failedCondition, type PolicyConditions } from "../policy/preconditions";
import { type PolicyPointer, readPolicyState, writePolicyToKv } from "../policy/store";

/** What a write (or a check of its conditions) answers. */
export type PolicyWriteResult =
  | { ok: true; version: string; updatedAt: string }
  | { ok: false; failed: "If-Match" | "If-None-Match"; currentVersion: string | null };

const ACTIVE = "active";

const timeOf = (pointer: PolicyPointer): number => {
  const ms = Date.parse(pointer.updatedAt);
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
};

/**
 * The one writer of the policy pointer (SPEC §11 "Integrity"): `PUT /v1/policy` and the CLI go through this
 * object, which serialises writes, so `If-Match` / `If-None-Match` are a true compare-and-set (KV has none).
 * Decisions never call it: they read KV. One instance, named `active`.
 */
export class PolicyObject extends DurableObject<Env> {
  /** Evaluate conditions without writing: the edge checks them before reading the body (RFC 9110 §13.2.1). */
  async check(conditions: PolicyConditions): Promise<PolicyWriteResult | null> {
    const { current } = await this.read();
    const failed = failedCondition(conditions, current?.version ?? null);
    return failed === null ? null : { ok: false, failed, currentVersion: current?.version ?? null };
  }

  /**
   * Make a validated policy active if `conditions` hold. The same policy again keeps its version and
   * `updatedAt`, unless KV does not have it in force (a pointer or document written by something else): then
   * it is written again. The caller validated `document` and computed `version` from it
   * (src/policy/load.ts); this object is reachable only through bindings.
   */
  async write(
    version: string,
    document: Record<string, unknown>,
    conditions: PolicyConditions,
  ): Promise<PolicyWriteResult> {
    // One write at a time, from the check to the last KV put: the KV calls are I/O, during which a
    // Durable Object would otherwise take the next request.
    return this.ctx.blockConcurrencyWhile(async () => {
      const { current, inKv } = await this.read();
      const failed = failedCondition(conditions, current?.version ?? null);
      if (failed !== null) return { ok: false, failed, currentVersion: current?.version ?? null };
      if (current?.version === version && inKv) {
        this.ctx.storage.kv.put(ACTIVE, current);
        return { ok: true, ...current };
      }
      const pointer: PolicyPointer = { version, updatedAt: new Date().toISOString() };
      await writePolicyToKv(this.env, { ...pointer, document });
      this.ctx.storage.kv.put(ACTIVE, pointer);
      return { ok: true, ...pointer };
    });
  }

  /**
   * The active version: this object's own record, unless the policy in force in KV is newer (a document a
   * tool wrote to KV directly, which SPEC §5.1 lets reach decisions; or KV seeded before this object first
   * ran). A KV read that lags behind this object's own write is older, so it never wins. `inKv`: KV's
   * pointer names that version and it is the one in force there.
   */
  private async read(): Promise<{ current: PolicyPointer | null; inKv: boolean }> {
    const own = this.ctx.storage.kv.get<PolicyPointer>(ACTIVE) ?? null;
    const { active, state } = await readPolicyState(this.env, Date.now(), true);
    const inForce = active === null ? null : { version: active.version, updatedAt: active.updatedAt };
    const current =
      own === null || inForce === null ? (own ?? inForce) : timeOf(inForce) > timeOf(own) ? inForce : own;
    const inKv = current !== null && state === "current" && inForce?.version === current.version;
    return { current, inKv };
  }
}

/** The policy writer's stub (one object for the whole deployment). */
export function policyWriter(env: Env): DurableObjectStub<PolicyObject> {
  return env.POLICY_WRITER.get(env.POLICY_WRITER.idFromName("active"));
}
