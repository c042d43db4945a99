/**
 * Canonical gateway paths (SPEC §11 "Gateway paths"), for any door. The path after the door's prefix must be
 * plain: no `%` escape, no `\`, no `.` or `..` segment, no empty segment (`//`, a trailing `/`), no control
 * character. Read from the request URL as the runtime hands it over, never through `new URL()`, which would
 * resolve `..` and decode some escapes first: what is checked is what is forwarded.
 *
 * workerd itself resolves `.` / `..` segments (also `%2e`) and turns `\` into `/` before the Worker runs
 * (seen with a raw socket: `chat/../files` arrives as `files`), so those spellings reach this check already
 * resolved and are then judged as the path they resolve to; the check still refuses them should a runtime
 * pass them through.
 */

/** A request's path after a door's prefix (no leading `/`) and its original query string (`?…` or ""). */
export interface DoorPath {
  path: string;
  search: string;
}

/** The raw path and query of an absolute URL string, without parsing (and so without normalising) it. */
export function rawTarget(url: string): { pathname: string; search: string } {
  const scheme = url.indexOf("://");
  const start = scheme < 0 ? 0 : url.indexOf("/", scheme + 3);
  if (start < 0) return { pathname: "/", search: "" };
  const hash = url.indexOf("#", start);
  const end = hash < 0 ? url.length : hash;
  const query = url.indexOf("?", start);
  if (query < 0 || query > end) return { pathname: url.slice(start, end), search: "" };
  return { pathname: url.slice(start, query), search: url.slice(query, end) };
}

// `%` (any escape), `\`, C0 controls and DEL: none occurs in a provider's own paths.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const FORBIDDEN = /[%\\\u0000-\u001f\u007f]/;

/** Whether `path` (relative, no leading `/`) is canonical: non-empty segments, none `.`/`..`, nothing forbidden. */
function isCanonicalPath(path: string): boolean {
  if (path === "" || FORBIDDEN.test(path)) return false;
  return path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
}

/**
 * The canonical path of `url` under the door's `prefix` (e.g. `/gateway/{door}/v1`), or null when the path
 * is outside the prefix or not canonical (the door answers 404 in its provider's shape).
 */
export function doorPath(url: string, prefix: string): DoorPath | null {
  const { pathname, search } = rawTarget(url);
  if (!pathname.startsWith(`${prefix}/`)) return null;
  const path = pathname.slice(prefix.length + 1);
  return isCanonicalPath(path) ? { path, search } : null;
}
