/**
 * Request bodies (SPEC §11 "HTTP"): size limits, media types, JSON parsing and schema validation, each
 * failure a distinct ApiError. Bodies are streamed with a byte cap so an oversized one is never buffered.
 */
import type { Context } from "hono";
import type { z } from "zod";
import { readCapped } from "../lib/read-capped";
import { toIssues } from "../services/request-schemas";
import { ApiError, invalidPolicy, invalidRequest } from "./errors";
import type { AppEnv } from "./types";

/** 64 KiB: the default for `/v1` JSON bodies. */
export const JSON_LIMIT_BYTES = 64 * 1024;
/** 1 MiB: policy bodies. */
const POLICY_LIMIT_BYTES = 1024 * 1024;
/**
 * 1 MiB: `PUT /v1/customers/:id/state` (SPEC §11 "HTTP"). Any export at the bounds of §11 with ordinary
 * identifiers fits (1,000 holds and 100 alternate IDs make about 300 KB); only identifiers of hundreds of
 * multi-byte characters on every one of 1,000 holds could pass it, and such a restore is a 413 (README).
 */
export const STATE_LIMIT_BYTES = 1024 * 1024;

const POLICY_TEXT_TYPES = new Set(["application/yaml", "application/x-yaml", "text/yaml", "text/plain"]);

/** The lower-cased media type without parameters; null when the header is absent or blank. */
function mediaType(c: Context<AppEnv>): string | null {
  const essence = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase() ?? "";
  return essence === "" ? null : essence;
}

/** `application/json` or any structured `…/…+json` type (RFC 6839). */
function isJsonMediaType(essence: string): boolean {
  return essence === "application/json" || /^[a-z0-9!#$&^_.-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(essence);
}

function tooLarge(limitBytes: number): ApiError {
  return new ApiError("payload_too_large", `the request body exceeds ${limitBytes} bytes`, {
    limitBytes,
  });
}

function unsupported(essence: string, accepted: string): ApiError {
  return new ApiError("unsupported_media_type", `Content-Type ${essence} is not accepted; use ${accepted}`);
}

/** A declared Content-Length over the limit is refused before anything else is looked at. */
function checkDeclaredLength(c: Context<AppEnv>, limitBytes: number): void {
  if (Number(c.req.header("content-length") ?? "0") > limitBytes) throw tooLarge(limitBytes);
}

/** Read the body as UTF-8 text, refusing more than `limitBytes` actually sent. */
async function readText(c: Context<AppEnv>, limitBytes: number, onBadText: () => ApiError): Promise<string> {
  // Content-Length can be absent (chunked) or lie; the bytes actually read are what count.
  const bytes = await readCapped(c.req.raw.body, null, limitBytes);
  if (bytes === null) throw tooLarge(limitBytes);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw onBadText();
  }
}

/**
 * Read, parse and validate a JSON body. A missing Content-Type is read as JSON and an empty body as `{}`.
 * Throws `413 payload_too_large`, `415 unsupported_media_type`, `400 invalid_json` or `400 invalid_request`
 * (with `details.issues`).
 */
export async function readJson<S extends z.ZodType>(
  c: Context<AppEnv>,
  schema: S,
  opts: { limitBytes?: number } = {},
): Promise<z.infer<S>> {
  const limitBytes = opts.limitBytes ?? JSON_LIMIT_BYTES;
  checkDeclaredLength(c, limitBytes);
  const essence = mediaType(c);
  if (essence !== null && !isJsonMediaType(essence)) throw unsupported(essence, "application/json");
  const invalidJson = (detail: string) =>
    new ApiError("invalid_json", `the body is not valid JSON: ${detail}`);
  const text = await readText(c, limitBytes, () => invalidJson("not UTF-8"));
  let parsed: unknown = {};
  if (text.trim() !== "") {
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw invalidJson((error as Error).message);
    }
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw invalidRequest(toIssues(result.error));
  return result.data;
}

/** A policy body as text with the media type to parse it by. */
export interface PolicyBody {
  text: string;
  contentType: string;
}

/**
 * Read a policy body (1 MiB): JSON (also when Content-Type is missing), or YAML as `application/yaml`,
 * `application/x-yaml`, `text/yaml` or `text/plain`; anything else is `415`. Parsing is the caller's job.
 */
export async function readPolicyBody(c: Context<AppEnv>): Promise<PolicyBody> {
  checkDeclaredLength(c, POLICY_LIMIT_BYTES);
  const essence = mediaType(c) ?? "application/json";
  if (!isJsonMediaType(essence) && !POLICY_TEXT_TYPES.has(essence)) {
    throw unsupported(essence, "application/json or application/yaml");
  }
  const text = await readText(c, POLICY_LIMIT_BYTES, () =>
    invalidPolicy([{ path: "", message: "the body is not valid UTF-8" }]),
  );
  return { text, contentType: essence };
}
