/**
 * From policy text to a compiled policy: parse (YAML or JSON), unwrap the optional top-level `policy:`,
 * validate and compile, and stamp the content version (SPEC §2, §11).
 */

import { LineCounter, parseDocument } from "yaml";
import type { CompiledPolicy } from "../domain/types";
import { compilePolicy } from "./compile";
import type { PolicyIssue } from "./issues";
import { MAX_JSON_DEPTH, nestsWithin } from "./json-depth";
import { isIgnoredKey, type PolicyDocument } from "./schema";
import { policyVersion } from "./version";

export type { PolicyIssue } from "./issues";

export type ParseResult = { ok: true; document: unknown } | { ok: false; issues: PolicyIssue[] };

export type ValidationResult =
  | { ok: true; policy: CompiledPolicy; document: PolicyDocument }
  | { ok: false; issues: PolicyIssue[] };

// Anchors and aliases are legal YAML; this caps alias expansion ("billion laughs") well above real use.
const MAX_ALIAS_COUNT = 100;

function isJsonType(contentType: string | undefined): boolean {
  const essence = contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
  return essence === "application/json" || essence.endsWith("+json");
}

/**
 * Parse policy text. A JSON media type (`application/json`, `…+json`) is read with JSON.parse; anything
 * else, or no type, as YAML (which reads JSON too). Syntax errors become issues at path "". Which media
 * types are acceptable at all (415) is the HTTP layer's decision, not this function's.
 */
export function parsePolicyText(text: string, contentType?: string): ParseResult {
  if (isJsonType(contentType)) {
    try {
      return { ok: true, document: JSON.parse(text) };
    } catch (error) {
      return { ok: false, issues: [{ path: "", message: `invalid JSON: ${(error as Error).message}` }] };
    }
  }
  // uniqueKeys (the default, made explicit): a duplicated key is an error, never "last one wins".
  // prettyErrors off: one-line messages with the position, instead of a multi-line code frame.
  const lineCounter = new LineCounter();
  const parsed = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  if (parsed.errors.length > 0) {
    return {
      ok: false,
      issues: parsed.errors.map((error) => {
        const at = lineCounter.linePos(error.pos[0]);
        const where = ` at line ${at.line}, column ${at.col}`;
        return { path: "", message: `invalid YAML${where}: ${error.message}` };
      }),
    };
  }
  try {
    return { ok: true, document: parsed.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? null };
  } catch (error) {
    return { ok: false, issues: [{ path: "", message: `invalid YAML: ${(error as Error).message}` }] };
  }
}

/**
 * The policy root of a parsed document: the value of a top-level `policy:` key when there is one, else the
 * document itself. Beside `policy:` only ignored Limitr keys may stand; anything else is an issue at path ""
 * because it lies outside the policy root, to which every other path is relative.
 */
export function unwrapPolicy(document: unknown): { root: unknown; issues: PolicyIssue[] } {
  if (
    typeof document !== "object" ||
    document === null ||
    Array.isArray(document) ||
    !Object.hasOwn(document, "policy")
  ) {
    return { root: document, issues: [] };
  }
  const issues: PolicyIssue[] = [];
  for (const key of Object.keys(document)) {
    if (key !== "policy" && !isIgnoredKey(key)) {
      issues.push({
        path: "",
        message: `unknown key "${key}" beside the top-level "policy:" key (only ignored Limitr keys may stand there)`,
      });
    }
  }
  return { root: (document as Record<string, unknown>).policy, issues };
}

/**
 * Validate a parsed policy document (wrapped or not) and compile it. On success, `document` is the
 * normalised, unwrapped document (ignored Limitr keys dropped) whose canonical JSON gives the version;
 * validating that document again yields the same version. On failure, every issue found, not just the first.
 */
export async function validatePolicy(input: unknown): Promise<ValidationResult> {
  // Checked first: everything after (zod, structuredClone, canonical JSON) recurses.
  if (!nestsWithin(input, MAX_JSON_DEPTH)) {
    return {
      ok: false,
      issues: [{ path: "", message: `the document nests deeper than ${MAX_JSON_DEPTH} levels` }],
    };
  }
  const { root, issues } = unwrapPolicy(input);
  const compiled = compilePolicy(root);
  if (!compiled.ok) return { ok: false, issues: [...issues, ...compiled.issues] };
  if (issues.length > 0) return { ok: false, issues };
  const version = await policyVersion(compiled.document);
  return { ok: true, policy: { version, ...compiled.policy }, document: compiled.document };
}

/** Parse and validate policy text in one step (what `PUT /v1/policy` and the dev seeding need). */
export async function validatePolicyText(text: string, contentType?: string): Promise<ValidationResult> {
  const parsed = parsePolicyText(text, contentType);
  return parsed.ok ? validatePolicy(parsed.document) : parsed;
}
