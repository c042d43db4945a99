/**
 * The order of work of a gateway request, for any door (SPEC §6, §11 "Order of work"): configured (503), a
 * key (401), a canonical path (404), a policy (503), a known key (401: before the body is read), one of the
 * door's endpoints or `gateway.passthrough` (404), the body limit (413); then a token-metered call
 * (metered-call.ts) or a forwarded one that counts only `gateway.requests` (counted-call.ts). Nothing refused
 * here reaches the upstream, and every refusal is in the door's shape.
 */
import { fail } from "../../errors/catalogue";
import { readCapped } from "../../lib/read-capped";
import { getActivePolicy } from "../../policy/store";
import { GATEWAY_BODY_LIMIT_BYTES } from "./body-reader";
import type { GatewayContext } from "./context";
import { forwardCounted } from "./counted-call";
import { admitEndpoint, admitPath, type Door, unauthorized } from "./door";
import { forwardMetered } from "./metered-call";
import { keyIsKnown } from "./metering";

/** Serve one request through `door`. Never throws for expected failures: every refusal is the door's answer. */
export async function handleGatewayRequest<M extends string, E>(
  door: Door<M, E>,
  request: Request,
  ctx: GatewayContext,
): Promise<Response> {
  const { env } = ctx;
  const upstream = door.upstream(env);
  if (upstream.apiKey === "") {
    return door.respond(
      door.error(fail("not_configured", `the gateway is not configured: ${upstream.keyName} is not set`)),
    );
  }
  const key = door.customerKey(request.headers);
  if (key === null) return door.respond(unauthorized(door));
  const method = request.method;
  const path = admitPath(door, method, request.url);
  if (!path.ok) return door.respond(path.error);
  // Past half its age the pointer is re-read after the answer (under waitUntil), never trusted past it.
  const active = await getActivePolicy(env, Date.now(), ctx.waitUntil);
  if (active === null) return door.respond(door.error(fail("policy_unavailable")));
  // Before the body: an unknown key costs no read of up to 16 MiB.
  if (!(await keyIsKnown(env, key))) return door.respond(unauthorized(door));
  const route = admitEndpoint(door, active.policy.gateway.passthrough, method, path.value.path);
  if (!route.ok) return door.respond(route.error);
  const body = await readCapped(
    request.body,
    request.headers.get("content-length"),
    GATEWAY_BODY_LIMIT_BYTES,
  );
  if (body === null) {
    return door.respond(
      door.error(fail("payload_too_large", `the request body exceeds ${GATEWAY_BODY_LIMIT_BYTES} bytes`)),
    );
  }
  // The upstream URL: the base URL, the canonical path and the original query string (SPEC §11).
  const target = `${upstream.baseUrl}/${path.value.path}${path.value.search}`;
  const headers = door.headers.upstreamRequest(request.headers, upstream.apiKey, key);
  const call = { door, ctx, key, upstream, active, body, target, headers };
  if (route.value.kind === "metered") return forwardMetered({ ...call, endpoint: route.value.endpoint });
  return forwardCounted(call, method);
}
