/**
 * `If-Match` / `If-None-Match` on `PUT /v1/policy` (SPEC §5.1, RFC 9110 §13.1): parsed once at the edge,
 * evaluated by the policy writer object against the version it knows is active.
 */

/** The entity tags of each header, unquoted (bare versions are accepted too); null when it was not sent. */
export interface PolicyConditions {
  ifMatch: string[] | null;
  ifNoneMatch: string[] | null;
}

/** The entity tags of an If-Match or If-None-Match header, unquoted; `W/` is dropped. */
export function parseEntityTags(header: string): string[] {
  return header
    .split(",")
    .map((tag) =>
      tag
        .trim()
        .replace(/^W\//, "")
        .replace(/^"(.*)"$/, "$1"),
    )
    .filter((tag) => tag !== "");
}

/** The conditions of a request from its two headers. */
export function parseConditions(
  ifMatch: string | undefined,
  ifNoneMatch: string | undefined,
): PolicyConditions {
  return {
    ifMatch: ifMatch === undefined ? null : parseEntityTags(ifMatch),
    ifNoneMatch: ifNoneMatch === undefined ? null : parseEntityTags(ifNoneMatch),
  };
}

const names = (tags: string[], version: string | null): boolean =>
  version !== null && tags.some((tag) => tag === "*" || tag === version);

/**
 * The header whose condition fails against the active version (`null`: none active), or null when both
 * hold. If-Match is evaluated first (RFC 9110 §13.2.2): it must name the active version (`*`: any);
 * If-None-Match must not (`*`: no policy may be active).
 */
export function failedCondition(
  conditions: PolicyConditions,
  currentVersion: string | null,
): "If-Match" | "If-None-Match" | null {
  if (conditions.ifMatch !== null && !names(conditions.ifMatch, currentVersion)) return "If-Match";
  if (conditions.ifNoneMatch !== null && names(conditions.ifNoneMatch, currentVersion))
    return "If-None-Match";
  return null;
}
