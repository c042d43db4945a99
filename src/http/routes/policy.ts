/** Policy routes (SPEC §5.1): read the active policy, replace it (YAML or JSON), validate without storing. */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { policyWriter } from "../../objects/policy-object";
import { parsePolicyText, type ValidationResult, validatePolicy } from "../../policy/load";
import { parseConditions } from "../../policy/preconditions";
import { getActivePolicy, rememberActivePolicy } from "../../policy/store";
import { type PolicyBody, readPolicyBody } from "../body";
import { ApiError, invalidPolicy, policyUnavailable } from "../errors";
import { errorDoc, jsonDoc, serve } from "../openapi";
import {
  policyDocumentSchema,
  policyResponseSchema,
  policyValidationResponseSchema,
  policyVersionResponseSchema,
} from "../schemas";
import type { AppEnv } from "../types";

type ValidPolicy = Extract<ValidationResult, { ok: true }>;

/** Parse and validate policy text; `400 invalid_policy` with every issue otherwise. */
async function validateText({ text, contentType }: PolicyBody): Promise<ValidPolicy> {
  // An empty body is `{}` as for every other route; the validator then says what a policy needs.
  const parsed =
    text.trim() === "" ? { ok: true as const, document: {} } : parsePolicyText(text, contentType);
  if (!parsed.ok) throw invalidPolicy(parsed.issues);
  const result = await validatePolicy(parsed.document);
  if (!result.ok) throw invalidPolicy(result.issues);
  return result;
}

/** `412 precondition_failed` with the version that is active (null: none). */
function preconditionFailed(failed: "If-Match" | "If-None-Match", currentVersion: string | null): ApiError {
  const message =
    failed === "If-Match"
      ? "If-Match does not name the active policy version"
      : "If-None-Match names the active policy version (*: a policy is active)";
  return new ApiError("precondition_failed", message, { currentVersion });
}

const etag = (version: string): string => `"${version}"`;

const policyBody = {
  required: true,
  content: {
    "application/json": { schema: policyDocumentSchema },
    "application/yaml": { schema: policyDocumentSchema },
  },
};

const getPolicyRoute = createRoute({
  method: "get",
  path: "/v1/policy",
  summary: "The active policy",
  description: "Answers with an `ETag` of the version; send it back as `If-Match` on PUT.",
  tags: ["policy"],
  responses: { 200: jsonDoc("The active policy", policyResponseSchema) },
});

const putPolicyRoute = createRoute({
  method: "put",
  path: "/v1/policy",
  summary: "Replace the active policy",
  description:
    "YAML or JSON (max 1 MiB). Optional `If-Match: <version>` (`*`: any existing policy) or `If-None-Match: *` (only when no policy is active): a compare-and-set, as writes are serialised. Putting the active policy again keeps its version.",
  tags: ["policy"],
  request: { body: policyBody },
  responses: {
    200: jsonDoc("The policy is active", policyVersionResponseSchema),
    400: errorDoc("invalid_policy (details.issues) or invalid_json"),
    412: errorDoc("precondition_failed (details.currentVersion)"),
  },
});

const validatePolicyRoute = createRoute({
  method: "post",
  path: "/v1/policy/validate",
  summary: "Validate a policy without storing it",
  tags: ["policy"],
  request: { body: policyBody },
  responses: {
    200: jsonDoc("The policy is valid", policyValidationResponseSchema),
    400: errorDoc("invalid_policy (details.issues)"),
  },
});

/** Register `GET`/`PUT /v1/policy` and `POST /v1/policy/validate`. Policy bodies are read by the handlers. */
export function registerPolicyRoutes(app: OpenAPIHono<AppEnv>): void {
  serve(app, getPolicyRoute, async (c) => {
    const active = await getActivePolicy(c.env);
    if (active === null) throw policyUnavailable();
    c.header("ETag", etag(active.version));
    return c.json({ version: active.version, updatedAt: active.updatedAt, policy: active.document }, 200);
  });

  serve(
    app,
    putPolicyRoute,
    async (c) => {
      const body = await readPolicyBody(c);
      const conditions = parseConditions(c.req.header("if-match"), c.req.header("if-none-match"));
      const writer = policyWriter(c.env);
      // Preconditions come before the content is processed (RFC 9110 §13.2.1): a stale writer hears 412
      // even when its policy is also invalid. The writer checks them again, atomically, when it writes.
      if (conditions.ifMatch !== null || conditions.ifNoneMatch !== null) {
        const early = await writer.check(conditions);
        if (early !== null && !early.ok) throw preconditionFailed(early.failed, early.currentVersion);
      }
      const { policy, document } = await validateText(body);
      const written = await writer.write(policy.version, document, conditions);
      if (!written.ok) throw preconditionFailed(written.failed, written.currentVersion);
      rememberActivePolicy({ version: written.version, updatedAt: written.updatedAt, policy, document });
      c.header("ETag", etag(written.version));
      return c.json({ version: written.version }, 200);
    },
    "handler",
  );

  serve(
    app,
    validatePolicyRoute,
    async (c) => {
      const { policy } = await validateText(await readPolicyBody(c));
      return c.json({ valid: true as const, version: policy.version }, 200);
    },
    "handler",
  );
}
