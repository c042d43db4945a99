/**
 * The OpenAI-compatible gateway (SPEC §6, §11): `/gateway/openai/v1/*` → `OPENAI_BASE_URL/*`. Checks, in
 * order (SPEC §11 "Order of work"): configured (503), a bearer key (401), a canonical path (404), a policy
 * (503), a known key (401: before the body is read), one of the door's endpoints or `gateway.passthrough`
 * (404), the body limit (413); then a token-metered call (metered-call.ts) or a forwarded one that counts
 * only `gateway.requests`. Nothing refused here reaches the upstream.
 */
import type { Decision } from "../domain/types";
import { fail } from "../errors/catalogue";
import { readCapped } from "../lib/read-capped";
import { getActivePolicy } from "../policy/store";
import { GATEWAY_BODY_LIMIT_BYTES } from "./body-reader";
import { admitEndpoint, admitPath, OPENAI_DOOR } from "./door";
import {
  type GatewayContext,
  logUpstreamFailure,
  upstreamAuthFailed,
  upstreamUnreachable,
} from "./gateway-context";
import { decisionHeaders, errorResponse, withHeaders } from "./gateway-response";
import { bearerToken, clientResponseHeaders, upstreamRequestHeaders } from "./headers";
import { forwardMetered, type MeteredCall } from "./metered-call";
import { gatewayFailure, identifyKey, keyIsKnown, meterByKey } from "./metering";
import { openAiError, refusalFor, unauthorized } from "./openai-errors";
import { redactedUpstreamError } from "./redaction";

const DEFAULT_BASE_URL = "https://api.openai.com/v1";

/** The upstream URL: the base URL, the canonical path and the original query string (SPEC §11). */
function upstreamUrl(env: Env, path: string, search: string): string {
  const base = (env.OPENAI_BASE_URL || DEFAULT_BASE_URL).replace(/\/+$/, "");
  return `${base}/${path}${search}`;
}

/** Serve one gateway request. Never throws for expected failures: every refusal is an OpenAI-shaped answer. */
export async function handleGatewayRequest(request: Request, ctx: GatewayContext): Promise<Response> {
  const { env } = ctx;
  const apiKey = env.OPENAI_API_KEY;
  if (apiKey === undefined || apiKey === "") {
    return errorResponse(
      openAiError(fail("not_configured", "the gateway is not configured: OPENAI_API_KEY is not set")),
    );
  }
  const key = bearerToken(request.headers.get("authorization"));
  if (key === null) return errorResponse(unauthorized());
  const method = request.method;
  const path = admitPath(OPENAI_DOOR, method, request.url);
  if (!path.ok) return errorResponse(path.error);
  const active = await getActivePolicy(env);
  if (active === null) {
    return errorResponse(openAiError(fail("policy_unavailable")));
  }
  // Before the body: an unknown key costs no read of up to 16 MiB.
  if (!(await keyIsKnown(env, key))) return errorResponse(unauthorized());
  const route = admitEndpoint(OPENAI_DOOR, active.policy.gateway.passthrough, method, path.value.path);
  if (!route.ok) return errorResponse(route.error);
  const body = await readCapped(
    request.body,
    request.headers.get("content-length"),
    GATEWAY_BODY_LIMIT_BYTES,
  );
  if (body === null) {
    return errorResponse(
      openAiError(fail("payload_too_large", `the request body exceeds ${GATEWAY_BODY_LIMIT_BYTES} bytes`)),
    );
  }
  const target = upstreamUrl(env, path.value.path, path.value.search);
  const headers = upstreamRequestHeaders(request.headers, apiKey, key);
  if (route.value.kind === "metered") {
    return forwardMetered({ ctx, key, active, endpoint: route.value.endpoint, body, target, headers });
  }
  return forwardCounted({ ctx, key, active, body, target, headers }, method);
}

/**
 * A forwarded endpoint (`models`) or a passthrough path: count 1 of `gateway.requests` (when set) and stream
 * the upstream's answer back; a non-2xx answer is read and redacted first.
 */
async function forwardCounted(call: Omit<MeteredCall, "endpoint">, method: string): Promise<Response> {
  const { ctx, key, active } = call;
  const requests = active.policy.gateway.requests;
  let decision: Decision | null = null;
  if (requests === null) {
    if ((await identifyKey(ctx.env, key)) === null) return errorResponse(unauthorized());
  } else {
    const counted = await meterByKey(ctx.env, key, "consume", requests, 1, active.version);
    if (!counted.ok) return errorResponse(gatewayFailure(counted));
    decision = counted.decision;
  }
  const rateHeaders = decisionHeaders(active.policy, [decision], Date.now());
  const refusal = decision === null ? null : refusalFor(decision);
  if (refusal !== null) return errorResponse(refusal, rateHeaders);
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
    logUpstreamFailure(ctx, key, error);
    return errorResponse(upstreamUnreachable(), rateHeaders);
  }
  if (upstream.status === 401) {
    await upstream.body?.cancel();
    logUpstreamFailure(ctx, key, "upstream_auth_failed");
    return errorResponse(upstreamAuthFailed(), rateHeaders);
  }
  if (!upstream.ok) return redactedUpstreamError(upstream, ctx.env.OPENAI_API_KEY ?? "", rateHeaders);
  // Not metered by tokens: the body streams straight through.
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: withHeaders(clientResponseHeaders(upstream.headers), rateHeaders),
  });
}
