/**
 * A door of the gateway (SPEC §6): a path prefix, an endpoint table and an error shape. The checks a door
 * makes before any object call or upstream request (canonical path, endpoint allow-list) are the same for
 * every door; only the table and the shape of the 404 differ.
 */
import type { CompiledPassthrough } from "../domain/types";
import {
  type EndpointRoute,
  type EndpointRule,
  type MeteredEndpoint,
  OPENAI_ENDPOINTS,
  routeEndpoint,
} from "./endpoints";
import { type GatewayError, gatewayError } from "./openai-errors";
import { type DoorPath, doorPath, rawTarget } from "./paths";

export interface Door<M extends string = MeteredEndpoint> {
  prefix: string;
  endpoints: readonly EndpointRule<M>[];
  /** The door's 404 for a path it does not serve, in its provider's shape. */
  notFound(method: string, pathname: string): GatewayError;
}

export type Admitted<T> = { ok: true; value: T } | { ok: false; error: GatewayError };

// Long paths are quoted in part only; JSON escapes whatever control characters remain.
const quoted = (pathname: string) => (pathname.length > 200 ? `${pathname.slice(0, 200)}…` : pathname);

/** `/gateway/openai/v1/*`: OpenAI's endpoints, refused as OpenAI does (`unknown_url`). */
export const OPENAI_DOOR: Door = {
  prefix: "/gateway/openai/v1",
  endpoints: OPENAI_ENDPOINTS,
  notFound: (method, pathname) =>
    gatewayError(404, "unknown_url", `Invalid URL (${method} ${quoted(pathname)})`),
};

/** The canonical path of a request under the door, or the door's 404 (SPEC §11 "Gateway paths"). */
export function admitPath<M extends string>(door: Door<M>, method: string, url: string): Admitted<DoorPath> {
  const path = doorPath(url, door.prefix);
  if (path !== null) return { ok: true, value: path };
  return { ok: false, error: door.notFound(method, rawTarget(url).pathname) };
}

/** What the door does with `method path`: its table, then the policy's passthrough; else its 404. */
export function admitEndpoint<M extends string>(
  door: Door<M>,
  passthrough: readonly CompiledPassthrough[],
  method: string,
  path: string,
): Admitted<EndpointRoute<M>> {
  const route = routeEndpoint(door.endpoints, passthrough, method, path);
  if (route !== null) return { ok: true, value: route };
  return { ok: false, error: door.notFound(method, `${door.prefix}/${path}`) };
}
