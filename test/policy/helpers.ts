/** Shared helpers for the policy tests: validate YAML text and fail loudly with its issues. */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { CompiledEntitlement, CompiledPolicy } from "../../src/domain/types";
import { type PolicyIssue, type ValidationResult, validatePolicyText } from "../../src/policy/load";

export const POLICIES_DIR = join(import.meta.dirname, "../../policies");

/** Every policy file under policies/, as paths relative to it. */
export function policyFiles(dir = POLICIES_DIR, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const relative = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) return policyFiles(dir, relative);
    return /\.(ya?ml|json)$/.test(entry.name) ? [relative] : [];
  });
}

function describeIssues(issues: PolicyIssue[]): string {
  return issues.map((issue) => `  ${issue.path || "(root)"}: ${issue.message}`).join("\n");
}

/** Validate text that must be valid; throws with every issue otherwise. */
export async function valid(
  text: string,
  contentType?: string,
): Promise<Extract<ValidationResult, { ok: true }>> {
  const result = await validatePolicyText(text, contentType);
  if (!result.ok) throw new Error(`expected a valid policy, got issues:\n${describeIssues(result.issues)}`);
  return result;
}

/** Validate text that must be invalid; returns its issues. */
export async function invalid(text: string, contentType?: string): Promise<PolicyIssue[]> {
  const result = await validatePolicyText(text, contentType);
  if (result.ok) throw new Error("expected issues, but the policy is valid");
  return result.issues;
}

/** One entitlement of one plan of a compiled policy; throws when missing. */
export function entitlementOf(policy: CompiledPolicy, plan: string, name: string): CompiledEntitlement {
  const found = policy.plans.get(plan)?.entitlements.get(name);
  if (found === undefined) throw new Error(`no entitlement ${plan}.${name}`);
  return found;
}

/** A one-plan policy with token and MB credits around one entitlement body (YAML flow mapping). */
export function oneEntitlement(body: string, extra = ""): string {
  return `
credits:
  token: {}
  mb: { unit: MB }
plans:
  free:
    default: true
    entitlements:
      thing: ${body}
${extra}`;
}
