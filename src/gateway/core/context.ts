/** What a gateway call needs from its surroundings, and the gateway's log lines (never a key in full). */
import { type Failure, fail } from "../../errors/catalogue";
import type { ActivePolicy } from "../../policy/store";
import type { Door, Upstream } from "./door";

export interface GatewayContext {
  env: Env;
  /** Keeps the isolate alive for work after the response (settles); `ctx.waitUntil` in production. */
  waitUntil: (promise: Promise<unknown>) => void;
  requestId: string;
}

/** One admitted gateway call: its door, its customer's key, its policy, and what goes upstream. */
export interface GatewayCall<M extends string, E> {
  door: Door<M, E>;
  ctx: GatewayContext;
  key: string;
  upstream: Upstream;
  active: ActivePolicy;
  body: Uint8Array;
  target: string;
  headers: Headers;
}

/** A key as it may be logged: its first 6 characters (SPEC §11 "Secrets"). */
function loggableKey(key: string): string {
  return key.length > 6 ? `${key.slice(0, 6)}…` : key;
}

/** `502`: the upstream could not be reached at all. */
export function upstreamUnreachable(): Failure {
  return fail("upstream_unreachable", "the upstream API could not be reached");
}

/**
 * `502`: the upstream refused the gateway's own key. Its 401 is not passed on: the caller's key is fine, and
 * the upstream's message may quote part of the gateway's key.
 */
export function upstreamAuthFailed(): Failure {
  return fail("upstream_auth_failed", "the upstream API refused the gateway's credentials");
}

/**
 * One log line for an upstream that could not be reached or refused the gateway's key (`keyName`: the
 * secret that holds it, named, never quoted).
 */
export function logUpstreamFailure(ctx: GatewayContext, key: string, error: unknown, keyName: string): void {
  const refused = error === "upstream_auth_failed";
  console.error(
    JSON.stringify({
      level: "error",
      msg: refused ? `gateway upstream refused ${keyName}` : "gateway upstream unreachable",
      requestId: ctx.requestId,
      key: loggableKey(key),
      error: refused ? "upstream 401" : error instanceof Error ? error.name : "unknown",
    }),
  );
}

/** One log line for a settle that did not land (the hold then expires on its own). */
export function logSettleFailure(ctx: GatewayContext, key: string, code: string): void {
  console.error(
    JSON.stringify({
      level: "error",
      msg: "gateway settle failed",
      requestId: ctx.requestId,
      key: loggableKey(key),
      code,
    }),
  );
}
