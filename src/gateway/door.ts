/**
 * A door of the gateway (SPEC §6): a path prefix, an endpoint table and an error shape. The checks a door
 * makes before any object call or upstream request (canonical path, endpoint allow-list) are the same for
 * every door; only the table and the error shape differ.
 */
import type { CompiledPassthrough } from "../domain/types";
import { fail } from "../errors/catalogue";
import {
  type EndpointRoute,
  type EndpointRule,
  type MeteredEndpoint,
  OPENAI_ENDPOINTS,
  routeEndpoint,
} from "./endpoints";
import { errorResponse } from "./gateway-response";
import { type OpenAiError, openAiError, type ParamFailure } from "./openai-errors";
import { type DoorPath, doorPath, rawTarget } from "./paths";

/**
 * A door: where it is, what it serves, and its provider's error shape. `E` is that shape (OpenAI's today);
 * a second door (Anthropic's) brings its own `shape` and `respond` over the same catalogue failures.
 */
export interface Door<M extends string = MeteredEndpoint, E = OpenAiError> {
  prefix: string;
  endpoints: readonly EndpointRule<M>[];
  /** A catalogue failure in the provider's shape, with the headers its answer carries. */
  shape(failure: ParamFailure, headers?: Record<string, string>): E;
  /** The response of a shaped failure (extra headers: the RateLimit headers of the decisions made). */
  respond(error: E, headers?: Record<string, string>): Response;
}

export type Admitted<T, E = OpenAiError> = { ok: true; value: T } | { ok: false; error: E };

// Long paths are quoted in part only; JSON escapes whatever control characters remain.
const quoted = (pathname: string) => (pathname.length > 200 ? `${pathname.slice(0, 200)}…` : pathname);

/** `/gateway/openai/v1/*`: OpenAI's endpoints, refused as OpenAI does. */
export const OPENAI_DOOR: Door = {
  prefix: "/gateway/openai/v1",
  endpoints: OPENAI_ENDPOINTS,
  shape: openAiError,
  respond: errorResponse,
};

/** The door's 404 for a path it does not serve (OpenAI's `unknown_url`), in its provider's shape. */
function notFound<M extends string, E>(door: Door<M, E>, method: string, pathname: string): E {
  return door.shape(fail("unknown_url", `Invalid URL (${method} ${quoted(pathname)})`));
}

/** The canonical path of a request under the door, or the door's 404 (SPEC §11 "Gateway paths"). */
export function admitPath<M extends string, E>(
  door: Door<M, E>,
  method: string,
  url: string,
): Admitted<DoorPath, E> {
  const path = doorPath(url, door.prefix);
  if (path !== null) return { ok: true, value: path };
  return { ok: false, error: notFound(door, method, rawTarget(url).pathname) };
}

/** What the door does with `method path`: its table, then the policy's passthrough; else its 404. */
export function admitEndpoint<M extends string, E>(
  door: Door<M, E>,
  passthrough: readonly CompiledPassthrough[],
  method: string,
  path: string,
): Admitted<EndpointRoute<M>, E> {
  const route = routeEndpoint(door.endpoints, passthrough, method, path);
  if (route !== null) return { ok: true, value: route };
  return { ok: false, error: notFound(door, method, `${door.prefix}/${path}`) };
}
