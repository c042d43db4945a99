/**
 * A forwarded endpoint (a door's unmetered ones, like `models`) or a passthrough path (SPEC §6, §11): count 1
 * of `gateway.requests` (when set) and stream the upstream's answer back; a non-2xx answer is read and
 * redacted first.
 */
import type { Decision } from "../../domain/types";
import { type GatewayCall, logUpstreamFailure, upstreamAuthFailed, upstreamUnreachable } from "./context";
import { doorFailure, unauthorized } from "./door";
import { identifyKey, meterByKey } from "./metering";
import { redactedUpstreamError } from "./redaction";
import { decisionHeaders, withHeaders } from "./response";

/** Count the call, forward it, and pass the answer through. */
export async function forwardCounted<M extends string, E>(
  call: GatewayCall<M, E>,
  method: string,
): Promise<Response> {
  const { door, ctx, key, active } = call;
  const requests = active.policy.gateway.requests;
  let decision: Decision | null = null;
  if (requests === null) {
    if ((await identifyKey(ctx.env, key)) === null) return door.respond(unauthorized(door));
  } else {
    const counted = await meterByKey(ctx.env, key, "consume", requests, 1, active.version);
    if (!counted.ok) return door.respond(doorFailure(door, counted));
    decision = counted.decision;
  }
  const rateHeaders = decisionHeaders(active.policy, [decision], Date.now());
  const refusal = decision === null ? null : door.refusal(decision);
  if (refusal !== null) return door.respond(refusal, rateHeaders);
  let upstream: Response;
  try {
    upstream = await fetch(call.target, {
      method,
      headers: call.headers,
      body: method === "GET" || method === "HEAD" ? undefined : call.body,
      // A redirect is the client's to follow: fetch would carry the gateway's key to wherever it points.
      redirect: "manual",
    });
  } catch (error) {
    logUpstreamFailure(ctx, key, error, call.upstream.keyName);
    return door.respond(door.error(upstreamUnreachable()), rateHeaders);
  }
  if (upstream.status === 401) {
    await upstream.body?.cancel();
    logUpstreamFailure(ctx, key, "upstream_auth_failed", call.upstream.keyName);
    return door.respond(door.error(upstreamAuthFailed()), rateHeaders);
  }
  if (!upstream.ok)
    return redactedUpstreamError(upstream, call.upstream.apiKey, rateHeaders, door.headers.clientResponse);
  // Not metered by tokens: the body streams straight through.
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: withHeaders(door.headers.clientResponse(upstream.headers), rateHeaders),
  });
}
