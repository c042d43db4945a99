/**
 * The real ports of a customer object (src/objects/ports.ts): other customers' objects through the
 * `CUSTOMERS` namespace, the alternate-ID index through `ALTERNATE_IDS`, policies from KV, the read model in
 * D1 (`ANALYTICS`), the system clock.
 */
import { writeProjection } from "../analytics/projection-writer";
import { loadDecisionPolicy } from "../policy/store";
import { unknownCustomer } from "./contract";
import type { AnalyticsPort, Clock, DirectoryPort, OrgPort, OrgRef, PolicyPort } from "./ports";

const customer = (env: Env, id: string) => env.CUSTOMERS.get(env.CUSTOMERS.idFromName(id));
const index = (env: Env, alternateId: string) =>
  env.ALTERNATE_IDS.get(env.ALTERNATE_IDS.idFromName(alternateId));

/** The org's object a member's hold names, or null when the id is no object id of this namespace. */
function orgObject(env: Env, ref: OrgRef) {
  if ("org" in ref) return customer(env, ref.org);
  try {
    return env.CUSTOMERS.get(env.CUSTOMERS.idFromString(ref.objectId));
  } catch {
    // Hex that is no object id of this namespace: a made-up hold id.
    return null;
  }
}

/** Member → org calls over the org's stub. */
export function stubOrgPort(env: Env): OrgPort {
  return {
    info: (org) => customer(env, org).orgInfo(),
    meterForMember: (org, call) => customer(env, org).meterForMember(call),
    async settleForMember(ref, call) {
      const stub = orgObject(env, ref);
      return stub === null ? { result: unknownCustomer(), fingerprint: null } : stub.settleForMember(call);
    },
    addMember: (org, member) => customer(env, org).addMember(member),
    removeMember: (org, member) => customer(env, org).removeMember(member),
  };
}

/** Other customers' objects and the alternate-ID index objects. */
export function stubDirectoryPort(env: Env): DirectoryPort {
  return {
    isCustomer: (id) => customer(env, id).exists(),
    isMemberOf: (member, org) => customer(env, member).isMemberOf(org),
    claim: (alternateId, owner, canonical = false) =>
      index(env, alternateId).claim(owner, alternateId, canonical),
    release: (alternateId, owner) => index(env, alternateId).release(owner),
  };
}

/** Policies as decisions load them: by version from KV, cached per isolate. */
export function kvPolicyPort(env: Env): PolicyPort {
  return { load: (version) => loadDecisionPolicy(env, version) };
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** The D1 read model (SPEC §13.1), or null when the Worker has no `ANALYTICS` binding (a bench Worker). */
export function d1AnalyticsPort(env: Env): AnalyticsPort | null {
  const db = (env as { ANALYTICS?: D1Database }).ANALYTICS;
  return db === undefined ? null : { project: (items) => writeProjection(db, items) };
}
