/**
 * The OpenAI-compatible gateway (SPEC §6, §11): `/gateway/openai/v1/*` → `OPENAI_BASE_URL/*`. Checks, in
 * order: configured (503), a bearer key (401), a policy (503), the body limit (413); then a token-metered
 * call (metered-call.ts) or a pass-through that counts only `gateway.requests`.
 */
import type { Decision } from "../domain/types";
import { readCapped } from "../http/read-capped";
import { getActivePolicy } from "../policy/store";
import { GATEWAY_BODY_LIMIT_BYTES } from "./body-reader";
import { meteredEndpoint } from "./endpoints";
import {
  type GatewayContext,
  logUpstreamFailure,
  upstreamAuthFailed,
  upstreamUnreachable,
} from "./gateway-context";
import { decisionHeaders, errorResponse, withHeaders } from "./gateway-response";
import { bearerToken, clientResponseHeaders, upstreamRequestHeaders } from "./headers";
import { forwardMetered, type MeteredCall } from "./metered-call";
import { identifyKey, meterByKey } from "./metering";
import { gatewayError, refusalFor, unauthorized } from "./openai-errors";

export const GATEWAY_PREFIX = "/gateway/openai/v1";
const DEFAULT_BASE_URL = "https://api.openai.com/v1";

function upstreamUrl(env: Env, path: string, search: string): string {
  const base = (env.OPENAI_BASE_URL || DEFAULT_BASE_URL).replace(/\/+$/, "");
  return `${base}${path}${search}`;
}

/** Serve one gateway request. Never throws for expected failures: every refusal is an OpenAI-shaped answer. */
export async function handleGatewayRequest(request: Request, ctx: GatewayContext): Promise<Response> {
  const { env } = ctx;
  const apiKey = env.OPENAI_API_KEY;
  if (apiKey === undefined || apiKey === "") {
    return errorResponse(
      gatewayError(503, "not_configured", "the gateway is not configured: OPENAI_API_KEY is not set"),
    );
  }
  const key = bearerToken(request.headers.get("authorization"));
  if (key === null) return errorResponse(unauthorized());
  const active = await getActivePolicy(env);
  if (active === null) {
    return errorResponse(
      gatewayError(503, "policy_unavailable", "no policy is loaded; PUT /v1/policy first"),
    );
  }
  const body = await readCapped(
    request.body,
    request.headers.get("content-length"),
    GATEWAY_BODY_LIMIT_BYTES,
  );
  if (body === null) {
    return errorResponse(
      gatewayError(413, "payload_too_large", `the request body exceeds ${GATEWAY_BODY_LIMIT_BYTES} bytes`),
    );
  }
  const url = new URL(request.url);
  const path = url.pathname.slice(GATEWAY_PREFIX.length);
  const target = upstreamUrl(env, path, url.search);
  const headers = upstreamRequestHeaders(request.headers, apiKey);
  const endpoint = meteredEndpoint(request.method, path);
  if (endpoint !== null) {
    return forwardMetered({ ctx, key, active, endpoint, body, target, headers });
  }
  return passThrough({ ctx, key, active, body, target, headers }, request.method);
}

/** Any other path: count 1 of `gateway.requests` (when set) and stream the upstream's answer back. */
async function passThrough(call: Omit<MeteredCall, "endpoint">, method: string): Promise<Response> {
  const { ctx, key, active } = call;
  const requests = active.policy.gateway.requests;
  let decision: Decision | null = null;
  if (requests === null) {
    if ((await identifyKey(ctx.env, key)) === null) return errorResponse(unauthorized());
  } else {
    const counted = await meterByKey(ctx.env, key, "consume", requests, 1, active.version);
    if (counted.kind === "unknown") return errorResponse(unauthorized());
    if (counted.kind === "error")
      return errorResponse(gatewayError(counted.status, counted.code, counted.message));
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
  // Not metered by tokens: the body streams straight through.
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: withHeaders(clientResponseHeaders(upstream.headers), rateHeaders),
  });
}
