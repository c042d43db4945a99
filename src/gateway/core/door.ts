/**
 * A door of the gateway (SPEC §6): everything that differs between providers, behind one interface, so the
 * core (order of work, reserve, forward, settle, headers) is written once. A door is its wire format: where
 * it is mounted, which endpoints it serves, how the customer's key and the upstream's credentials travel,
 * how a metered request is shaped and its usage read, and how a failure is written. The checks a door makes
 * before any object call or upstream request (canonical path, endpoint allow-list) are the same for every
 * door; only the table and the error shape differ.
 */
import type { GatewayDoor } from "../../domain/token-usage";
import type { CompiledPassthrough, Decision } from "../../domain/types";
import { type Failure, fail } from "../../errors/catalogue";
import type { PromptCounter } from "./chars";
import { type EndpointRoute, type EndpointRule, routeEndpoint } from "./endpoints";
import type { HeaderFilter } from "./headers";
import { type DoorPath, doorPath, rawTarget } from "./paths";
import type { ObservedUsage, StreamUsage } from "./usage";

/** A failure that may name the request field at fault, where the provider's shape has a place for it. */
export interface ParamFailure extends Failure {
  param?: string | null;
}

/** The upstream a door forwards to, as the deployment configures it. */
export interface Upstream {
  /** The base URL without a trailing `/`; the canonical path is appended. */
  baseUrl: string;
  /** The gateway's own key for this provider; empty when not configured (the door answers 503). */
  apiKey: string;
  /** The name of the secret holding `apiKey`, for messages and log lines (never its value). */
  keyName: string;
}

/** A metered request as a door shaped it: what the core reserves, forwards and settles against. */
export interface MeteredRequest<M extends string> {
  endpoint: M;
  model: string;
  /** Estimated prompt tokens: the settle's floor when the upstream reports no usage. */
  promptTokens: number;
  /** What to reserve on the model's entitlement before forwarding. */
  reserveAmount: number;
  /** The body to send upstream. */
  body: string;
}

export type Shaped<M extends string> =
  | { ok: true; request: MeteredRequest<M> }
  | { ok: false; error: ParamFailure };

/**
 * A door. `M` names its token-metered endpoints (the body shapes it parses), `E` is its error shape. The
 * core imports no door: it is handed one.
 */
export interface Door<M extends string, E> {
  /** Which provider's door: named in the usage a settle carries (`data.usage.door`). */
  name: GatewayDoor;
  prefix: string;
  endpoints: readonly EndpointRule<M>[];
  /** The provider's upstream from the deployment's environment. */
  upstream(env: Env): Upstream;
  /** The customer's key as the provider's clients send it, or null when there is none. */
  customerKey(headers: Headers): string | null;
  /** Which headers cross the gateway for this provider, and how the gateway's own key travels. */
  headers: HeaderFilter;
  /** The prompt characters of a parsed request body, which the reservation estimates tokens from. */
  promptChars: PromptCounter<M>;
  /** Parse and shape one metered request body (JSON text within the body limit). */
  shapeRequest(endpoint: M, text: string, defaultMaxTokens: number): Shaped<M>;
  /** The usage of a complete (non-streamed) response body. */
  bodyUsage(endpoint: M, text: string): ObservedUsage;
  /** A reader of the usage in a streamed response as it passes through. */
  streamUsage(endpoint: M): StreamUsage;
  /** The message of the door's 404 for `method pathname`. */
  notFoundMessage(method: string, pathname: string): string;
  /** A catalogue failure in the provider's shape, with the headers its answer carries. */
  error(failure: ParamFailure, headers?: Record<string, string>): E;
  /** The refusal a denied decision becomes in the provider's shape, or null when it allows the call. */
  refusal(decision: Decision): E | null;
  /** The response of a shaped failure (extra headers: the RateLimit headers of the decisions made). */
  respond(error: E, headers?: Record<string, string>): Response;
}

export type Admitted<T, E> = { ok: true; value: T } | { ok: false; error: E };

/** `401`: no key, or one that is no customer's alternate ID. Never echoes the key. */
export function unauthorized<M extends string, E>(door: Door<M, E>): E {
  return door.error(fail("invalid_api_key"));
}

/** An object's failure as a door answers it: a key that is no customer's is 401 (SPEC §6). */
export function doorFailure<M extends string, E>(door: Door<M, E>, failure: Failure): E {
  if (failure.code === "customer_not_found") return unauthorized(door);
  return door.error(failure);
}

// Long paths are quoted in part only; JSON escapes whatever control characters remain.
const quoted = (pathname: string) => (pathname.length > 200 ? `${pathname.slice(0, 200)}…` : pathname);

/** The door's 404 for a path it does not serve, in its provider's shape. */
function notFound<M extends string, E>(door: Door<M, E>, method: string, pathname: string): E {
  return door.error(fail("unknown_url", door.notFoundMessage(method, quoted(pathname))));
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
