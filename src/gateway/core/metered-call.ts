/**
 * A token-metered call, for any door (SPEC §6, §11): the door shapes the request, the policy maps its model
 * to an entitlement, one object call reserves the estimate and counts 1 of `gateway.requests`, then forward,
 * then settle with the usage the door read (or the character estimate when the upstream reported none or the
 * stream was cut short). Every path after the reserve settles exactly once; the work runs under `waitUntil`,
 * so a client that goes away cannot stop a settle. A 2xx answer does not wait for its settle (it is sent
 * before the answer leaves); an error answer does, so its headers show the hold released.
 */
import { MAX_MODEL_LENGTH } from "../../domain/token-usage";
import { fail } from "../../errors/catalogue";
import { readUpstream } from "./body-reader";
import { countChars } from "./chars";
import { type GatewayCall, logUpstreamFailure, upstreamAuthFailed, upstreamUnreachable } from "./context";
import { doorFailure, type MeteredRequest, unauthorized } from "./door";
import { meterStream } from "./metered-stream";
import { identifyKey, reserveByKey } from "./metering";
import { modelRoute } from "./model-routes";
import { redactedUpstreamError } from "./redaction";
import { type HoldDecisions, Reservation } from "./reservation";
import { decisionHeaders, withHeaders } from "./response";
import { callMoney, tokensForSpend } from "./spend";
import { type Settlement, settlement } from "./usage";

export interface MeteredCall<M extends string, E> extends GatewayCall<M, E> {
  endpoint: M;
}

const decodeUtf8 = (bytes: Uint8Array): string | null => {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
};

/** A refusal found before the key was checked: a key that is no customer's is 401 first. */
async function refuseAfterAuth<M extends string, E>(call: MeteredCall<M, E>, error: E): Promise<Response> {
  const customer = await identifyKey(call.ctx.env, call.key);
  return call.door.respond(customer === null ? unauthorized(call.door) : error);
}

/** Serve one token-metered call. */
export async function forwardMetered<M extends string, E>(call: MeteredCall<M, E>): Promise<Response> {
  const { door, ctx, key, active } = call;
  const text = decodeUtf8(call.body);
  if (text === null)
    return refuseAfterAuth(call, door.error(fail("invalid_json", "the body is not valid UTF-8")));
  const shaped = door.shapeRequest(call.endpoint, text, active.policy.gateway.defaultMaxTokens);
  if (!shaped.ok) return refuseAfterAuth(call, door.error(shaped.error));
  const request = shaped.request;
  const route = modelRoute(active.policy.gateway, request.model);
  if (route === null) {
    return refuseAfterAuth(
      call,
      door.error({
        ...fail("model_not_allowed", `model ${request.model} is not available through this gateway`),
        param: "model",
      }),
    );
  }
  // Money (SPEC §12.4): the model's price, and the estimate to reserve on `gateway.spend`; an unpriced model
  // under a spend meter is refused before anything is reserved or forwarded.
  const outputBudget = Math.max(0, request.reserveAmount - request.promptTokens);
  const priced = callMoney(active.policy, route, request.model, request.promptTokens, outputBudget);
  if (!priced.ok) return refuseAfterAuth(call, door.error({ ...priced, param: "model" }));
  const money = priced.money;
  const requests = active.policy.gateway.requests;
  const spend =
    money.spend === null ? null : { entitlement: money.spend.entitlement, amount: money.spend.estimate };
  // One call reserves the model's tokens and the estimated cost, counts the request and, if any step is
  // refused, cancels what it reserved (SPEC §11): the object decides all of them.
  const reserved = await reserveByKey(
    ctx.env,
    key,
    route.entitlement,
    request.reserveAmount,
    requests,
    spend,
    active.version,
  );
  if (!reserved.ok) return door.respond(doorFailure(door, reserved));
  const { counted } = reserved.reserve;
  const spent = reserved.reserve.spent ?? null;
  const headersFor = (holds: HoldDecisions) => {
    const spendTokens = holds.spend?.remaining == null ? null : tokensForSpend(money, holds.spend.remaining);
    return decisionHeaders(active.policy, [holds.model, counted], Date.now(), spendTokens);
  };
  const holds: HoldDecisions = { model: reserved.reserve.reserved, spend: spent };
  // The first refusal answers, in the order the object decided: tokens, spend, the request count. A refused
  // step means the object cancelled the holds before it already.
  for (const decision of [holds.model, spent, counted]) {
    const refusal = decision === null ? null : door.refusal(decision);
    if (refusal !== null) return door.respond(refusal, headersFor(holds));
  }
  const hold = new Reservation(call, reserved.customer, holds, money);

  const work = forward(call, request, hold, headersFor);
  ctx.waitUntil(work);
  return work;
}

/** Call the upstream and answer the client; every path settles the hold. */
async function forward<M extends string, E>(
  call: MeteredCall<M, E>,
  request: MeteredRequest<M>,
  hold: Reservation,
  headersFor: (holds: HoldDecisions) => Record<string, string>,
): Promise<Response> {
  const { door, ctx, key } = call;
  const { keyName } = call.upstream;
  // Settle what the call used, with the classes it is made of, the model and the door (SPEC §6). The
  // model is the client's string: cut to what the object accepts, so no model name can fail a settle.
  const settleUsed = (used: Settlement) =>
    hold.settle(used.amount, {
      classes: used.classes,
      model: request.model.slice(0, MAX_MODEL_LENGTH),
      door: door.name,
      estimated: used.estimated,
    });
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
    logUpstreamFailure(ctx, key, error, keyName);
    return door.respond(door.error(upstreamUnreachable()), headersFor(await hold.settle(0)));
  }
  const headers = door.headers.clientResponse(upstream.headers);
  const init = { status: upstream.status, statusText: upstream.statusText, headers };
  if (!upstream.ok) {
    // An upstream error settles 0 and passes through as the upstream wrote it (but for the gateway's key).
    const settled = headersFor(await hold.settle(0));
    if (upstream.status === 401) {
      await upstream.body?.cancel();
      logUpstreamFailure(ctx, key, "upstream_auth_failed", keyName);
      return door.respond(door.error(upstreamAuthFailed()), settled);
    }
    return redactedUpstreamError(upstream, call.upstream.apiKey, settled, door.headers.clientResponse);
  }
  const isStream = (upstream.headers.get("content-type") ?? "").startsWith("text/event-stream");
  if (isStream && upstream.body !== null) {
    const meter = door.streamUsage(request.endpoint);
    let release = () => {};
    ctx.waitUntil(new Promise<void>((resolve) => (release = resolve)));
    const body = meterStream(upstream.body, meter, () => {
      settleUsed(settlement(request.promptTokens, meter, meter.generatedChars)).finally(release);
    });
    withHeaders(headers, headersFor(hold.reserved));
    return new Response(body, init);
  }
  const { text, complete } = await readUpstream(upstream.body);
  if (!complete) {
    // Cut short before the JSON ended: what arrived is all we know of the output.
    const unreported = { reported: null, classes: null };
    const settled = await settleUsed(settlement(request.promptTokens, unreported, countChars(text)));
    return door.respond(
      door.error(fail("upstream_incomplete", "the upstream response was cut short")),
      headersFor(settled),
    );
  }
  const usage = door.bodyUsage(request.endpoint, text);
  // The settle leaves for the object now, before the answer, and is not waited for: the hold already counts the
  // whole reservation, so until it lands the customer's meters only read higher, never lower. The headers show
  // the state at admission, as a stream's do (and as OpenAI's own rate-limit headers count `max_tokens`).
  ctx.waitUntil(settleUsed(settlement(request.promptTokens, usage, usage.chars)));
  withHeaders(headers, headersFor(hold.reserved));
  return new Response(text, init);
}
