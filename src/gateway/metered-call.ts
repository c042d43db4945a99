/**
 * A token-metered call (SPEC §6, §11): shape the request, map its model to an entitlement, reserve the
 * estimate, count 1 of `gateway.requests`, forward, then settle with the usage the upstream reported (or the
 * character estimate when it reported none or the stream was cut short). Every path after the reserve
 * settles exactly once; the work runs under `waitUntil`, so a client that goes away cannot stop a settle.
 */
import type { Decision } from "../domain/types";
import { fail } from "../errors/catalogue";
import type { ActivePolicy } from "../policy/store";
import { readUpstream } from "./body-reader";
import type { MeteredEndpoint } from "./endpoints";
import {
  type GatewayContext,
  logSettleFailure,
  logUpstreamFailure,
  upstreamAuthFailed,
  upstreamUnreachable,
} from "./gateway-context";
import { decisionHeaders, errorResponse, withHeaders } from "./gateway-response";
import { clientResponseHeaders } from "./headers";
import { meterStream } from "./metered-stream";
import { gatewayFailure, identifyKey, reserveByKey, settleHold } from "./metering";
import { routeModel } from "./model-routes";
import { type OpenAiError, openAiError, refusalFor, unauthorized } from "./openai-errors";
import { countChars } from "./prompt-chars";
import { redactedUpstreamError } from "./redaction";
import { type ShapedRequest, shapeRequest } from "./request-shaping";
import { StreamMeter } from "./stream-meter";
import { bodyUsage, settleAmount } from "./usage";

export interface MeteredCall {
  ctx: GatewayContext;
  key: string;
  active: ActivePolicy;
  endpoint: MeteredEndpoint;
  body: Uint8Array;
  target: string;
  headers: Headers;
}

/** A reservation and its one settle. */
class Reservation {
  private settled: Promise<Decision> | null = null;

  constructor(
    private readonly call: MeteredCall,
    private readonly customer: string,
    /** The reserve decision: what the headers show until the settle answers. */
    readonly reserved: Decision,
  ) {}

  /** Settle once (later calls get the first settle's answer); resolves to the decision to report. */
  settle(amount: number): Promise<Decision> {
    this.settled ??= this.settleOnce(amount);
    return this.settled;
  }

  private async settleOnce(amount: number): Promise<Decision> {
    const holdId = this.reserved.holdId;
    // A feature flag reserves nothing (holdId null): there is nothing to settle.
    if (holdId === null) return this.reserved;
    const { ctx, active } = this.call;
    try {
      const result = await settleHold(ctx.env, this.customer, holdId, amount, active.version);
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

const decodeUtf8 = (bytes: Uint8Array): string | null => {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
};

/** A refusal found before the key was checked: a key that is no customer's is 401 first. */
async function refuseAfterAuth(call: MeteredCall, error: OpenAiError): Promise<Response> {
  const customer = await identifyKey(call.ctx.env, call.key);
  return errorResponse(customer === null ? unauthorized() : error);
}

/** Serve one token-metered call. */
export async function forwardMetered(call: MeteredCall): Promise<Response> {
  const { ctx, key, active } = call;
  const text = decodeUtf8(call.body);
  if (text === null)
    return refuseAfterAuth(call, openAiError(fail("invalid_json", "the body is not valid UTF-8")));
  const shaped = shapeRequest(call.endpoint, text, active.policy.gateway.defaultMaxTokens);
  if (!shaped.ok) return refuseAfterAuth(call, openAiError(shaped.error));
  const request = shaped.request;
  const entitlement = routeModel(active.policy.gateway, request.model);
  if (entitlement === null) {
    return refuseAfterAuth(
      call,
      openAiError({
        ...fail("model_not_allowed", `model ${request.model} is not available through this gateway`),
        param: "model",
      }),
    );
  }
  const requests = active.policy.gateway.requests;
  // One call reserves the model's tokens, counts the request and, if the count is refused, cancels the
  // reserve (SPEC §11): the object decides all three.
  const reserved = await reserveByKey(
    ctx.env,
    key,
    entitlement,
    request.reserveAmount,
    requests,
    active.version,
  );
  if (!reserved.ok) return errorResponse(gatewayFailure(reserved));
  const headersFor = (decisions: (Decision | null)[]) =>
    decisionHeaders(active.policy, decisions, Date.now());
  const { counted } = reserved.reserve;
  const modelRefusal = refusalFor(reserved.reserve.reserved);
  if (modelRefusal !== null) return errorResponse(modelRefusal, headersFor([reserved.reserve.reserved]));
  // A refused count: the object cancelled the reserve already, and `reserved` is the cancel's decision.
  const countRefusal = counted === null ? null : refusalFor(counted);
  if (countRefusal !== null)
    return errorResponse(countRefusal, headersFor([reserved.reserve.reserved, counted]));
  const hold = new Reservation(call, reserved.customer, reserved.reserve.reserved);

  const work = forward(call, request, hold, (decision) => headersFor([decision, counted]));
  ctx.waitUntil(work);
  return work;
}

/** Call the upstream and answer the client; every path settles the hold. */
async function forward(
  call: MeteredCall,
  request: ShapedRequest,
  hold: Reservation,
  headersFor: (decision: Decision) => Record<string, string>,
): Promise<Response> {
  const { ctx, key } = call;
  let upstream: Response;
  try {
    upstream = await fetch(call.target, {
      method: "POST",
      headers: call.headers,
      body: request.body,
      // A redirect is not followed: fetch would carry the gateway's key to wherever it points.
      redirect: "manual",
    });
  } catch (error) {
    logUpstreamFailure(ctx, key, error);
    return errorResponse(upstreamUnreachable(), headersFor(await hold.settle(0)));
  }
  const headers = clientResponseHeaders(upstream.headers);
  const init = { status: upstream.status, statusText: upstream.statusText, headers };
  if (!upstream.ok) {
    // An upstream error settles 0 and passes through as the upstream wrote it (but for the gateway's key).
    const settled = headersFor(await hold.settle(0));
    if (upstream.status === 401) {
      await upstream.body?.cancel();
      logUpstreamFailure(ctx, key, "upstream_auth_failed");
      return errorResponse(upstreamAuthFailed(), settled);
    }
    return redactedUpstreamError(upstream, ctx.env.OPENAI_API_KEY ?? "", settled);
  }
  const isStream = (upstream.headers.get("content-type") ?? "").startsWith("text/event-stream");
  if (isStream && upstream.body !== null) {
    const meter = new StreamMeter(request.endpoint);
    let release = () => {};
    ctx.waitUntil(new Promise<void>((resolve) => (release = resolve)));
    const body = meterStream(upstream.body, meter, () => {
      const amount = settleAmount(request.promptTokens, meter.reported, meter.generatedChars);
      hold.settle(amount).finally(release);
    });
    withHeaders(headers, headersFor(hold.reserved));
    return new Response(body, init);
  }
  const { text, complete } = await readUpstream(upstream.body);
  if (!complete) {
    // Cut short before the JSON ended: what arrived is all we know of the output.
    const settled = await hold.settle(settleAmount(request.promptTokens, null, countChars(text)));
    return errorResponse(
      openAiError(fail("upstream_incomplete", "the upstream response was cut short")),
      headersFor(settled),
    );
  }
  const usage = bodyUsage(request.endpoint, text);
  const settled = await hold.settle(settleAmount(request.promptTokens, usage.reported, usage.chars));
  withHeaders(headers, headersFor(settled));
  return new Response(text, init);
}
