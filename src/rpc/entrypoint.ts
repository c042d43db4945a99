/**
 * Workers RPC (SPEC §13.3): `TollgateRpc`, a named entrypoint another Worker binds as a service binding
 * (`[[services]] binding = "TOLLGATE", service = "tollgate", entrypoint = "TollgateRpc"`) and calls as
 * `env.TOLLGATE.consume({ customer, entitlement, amount })`. The same bodies as `POST /v1/<op>`, validated by
 * the same schemas, and the same decisions; no HTTP and no admin token: the binding is the trust boundary.
 * Errors are returned values from the catalogue, never thrown (RPC would drop their class and details).
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { Decision } from "../domain/types";
import type { ErrorCode } from "../errors/catalogue";
import { logUnhandled } from "../lib/unhandled";
import type { MeterOp } from "../objects/contract";
import { meterUnchecked } from "../services/metering";

/** An error as the RPC edge answers it: a catalogue code, its message, and `details` when it has any. */
export interface RpcError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** Every method's answer: the decision (denials included), or the error that stopped the call. */
export type RpcResult = { ok: true; decision: Decision } | { ok: false; error: RpcError };

/** The Workers RPC entrypoint: check, consume, release, reserve and settle, as `/v1/<op>` does them. */
export class TollgateRpc extends WorkerEntrypoint<Env> {
  /** Decide without recording anything (`POST /v1/check`). */
  check(body: unknown): Promise<RpcResult> {
    return answer(this.env, this.ctx, "check", body);
  }

  /** Check and record atomically (`POST /v1/consume`). */
  consume(body: unknown): Promise<RpcResult> {
    return answer(this.env, this.ctx, "consume", body);
  }

  /** Give back usage; floors at the minimum (`POST /v1/release`). */
  release(body: unknown): Promise<RpcResult> {
    return answer(this.env, this.ctx, "release", body);
  }

  /** Book an amount against the limit and get a holdId (`POST /v1/reserve`, `ttl?`). */
  reserve(body: unknown): Promise<RpcResult> {
    return answer(this.env, this.ctx, "reserve", body);
  }

  /** Record the actual amount of a hold and free it (`POST /v1/settle`). */
  settle(body: unknown): Promise<RpcResult> {
    return answer(this.env, this.ctx, "settle", body);
  }
}

/** One call, every outcome a value: an exception nobody expected is logged and answered `internal`. */
async function answer(env: Env, ctx: ExecutionContext, op: MeterOp, body: unknown): Promise<RpcResult> {
  try {
    // The policy pointer is refreshed after the answer (ctx.waitUntil), as the HTTP routes do.
    const result = await meterUnchecked(env, op, body, (work) => ctx.waitUntil(work));
    if (result.ok) return { ok: true, decision: result.value };
    const { code, message, details } = result;
    return { ok: false, error: { code, message, ...(details === undefined ? {} : { details }) } };
  } catch (error) {
    logUnhandled(error, { requestId: undefined, method: `rpc.${op}` }, env);
    return { ok: false, error: { code: "internal", message: "internal error; the gate logged it" } };
  }
}
