/**
 * A door's endpoint table and the allow-list it makes (SPEC §6, §11 "Gateway paths"). Each door lists its
 * endpoints in a table: token-metered ones name the body shape they take; the others are forwarded and count
 * 1 of `gateway.requests`. A path outside the table is refused unless the policy's `gateway.passthrough`
 * opens it (forwarded unmetered, 1 of `gateway.requests`). Paths here are canonical and relative.
 */
import type { CompiledPassthrough } from "../../domain/types";

/** One endpoint of a door: a method and a path whose `{name}` segments match any one segment. */
export interface EndpointRule<M extends string> {
  method: string;
  path: string;
  /** The body shape of a token-metered endpoint; null: forwarded, 1 of `gateway.requests`. */
  metered: M | null;
}

/** What a door does with a request: meter it by tokens, or forward it (table or passthrough) for 1 request. */
export type EndpointRoute<M extends string> =
  | { kind: "metered"; endpoint: M }
  | { kind: "forwarded" }
  | { kind: "passthrough" };

function matchesTemplate(template: string, path: string): boolean {
  const want = template.split("/");
  const have = path.split("/");
  return (
    want.length === have.length &&
    want.every((segment, i) => (segment.startsWith("{") && segment.endsWith("}")) || segment === have[i])
  );
}

/**
 * The route of `method path` through a door's table, then the policy's passthrough rules; null when neither
 * knows it (the door answers 404). The table wins: a passthrough rule cannot unmeter a metered endpoint.
 */
export function routeEndpoint<M extends string>(
  table: readonly EndpointRule<M>[],
  passthrough: readonly CompiledPassthrough[],
  method: string,
  path: string,
): EndpointRoute<M> | null {
  const rule = table.find((r) => r.method === method && matchesTemplate(r.path, path));
  if (rule !== undefined)
    return rule.metered === null ? { kind: "forwarded" } : { kind: "metered", endpoint: rule.metered };
  return passthrough.some((p) => p.method === method && p.regex.test(path)) ? { kind: "passthrough" } : null;
}
