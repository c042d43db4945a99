/** A metered request's body as every door first reads it: JSON text that must be one object. */
import { fail } from "../../errors/catalogue";
import type { ParamFailure } from "./door";

export type JsonBody = { ok: true; body: Record<string, unknown> } | { ok: false; error: ParamFailure };

/** Parse `text` as a JSON object: `invalid_json` when it is not JSON, `invalid_request` when not an object. */
export function parseJsonObject(text: string): JsonBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const message = `the body is not valid JSON: ${(error as Error).message}`;
    return { ok: false, error: { ...fail("invalid_json", message), param: null } };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return {
      ok: false,
      error: { ...fail("invalid_request", "the body must be a JSON object"), param: null },
    };
  }
  return { ok: true, body: parsed as Record<string, unknown> };
}
