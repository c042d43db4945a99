/** Assertions for scripts: each failure says what was expected, where, and what came instead. */
import { inspect, isDeepStrictEqual } from "node:util";
import { type ApiResponse, errorCode, type Json } from "./client";

export class CheckFailed extends Error {}

/** A value on one line, for failure messages. */
export const show = (value: unknown): string =>
  inspect(value, { depth: 4, breakLength: Number.POSITIVE_INFINITY });

const isPlainObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Where `actual` differs from `expected`, read as a pattern: every key of an expected object must match
 * (extra keys in `actual` are fine); arrays and scalars must be deeply equal.
 */
export function mismatches(actual: unknown, expected: unknown, path = ""): string[] {
  if (isPlainObject(expected)) {
    if (!isPlainObject(actual)) return [`${path || "(root)"}: expected an object, got ${show(actual)}`];
    return Object.entries(expected).flatMap(([key, value]) =>
      mismatches(actual[key], value, path === "" ? key : `${path}.${key}`),
    );
  }
  return isDeepStrictEqual(actual, expected)
    ? []
    : [`${path || "(root)"}: expected ${show(expected)}, got ${show(actual)}`];
}

/** Throw unless `actual` matches the pattern `expected` (see mismatches). */
export function expectMatch(what: string, actual: unknown, expected: unknown): void {
  const found = mismatches(actual, expected);
  if (found.length > 0) throw new CheckFailed(`${what}:\n  ${found.join("\n  ")}`);
}

/** Throw unless both values are deeply equal, listing the differing paths both ways. */
export function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (isDeepStrictEqual(actual, expected)) return;
  const found = [...new Set([...mismatches(actual, expected), ...mismatches(expected, actual)])];
  throw new CheckFailed(`${what} differ:\n  ${found.join("\n  ")}`);
}

/** Throw unless the response has this status (and error code, when given); returns the body. */
export function expectStatus(what: string, response: ApiResponse, status: number, code?: string): Json {
  const actualCode = errorCode(response.body);
  if (response.status !== status || (code !== undefined && actualCode !== code)) {
    const wanted = code === undefined ? `${status}` : `${status} ${code}`;
    throw new CheckFailed(`${what}: expected ${wanted}, got ${response.status} ${show(response.body)}`);
  }
  return response.body;
}
