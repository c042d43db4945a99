/**
 * Validate and compile a policy document (already unwrapped) into the lookup form the domain uses.
 * The document is walked node by node: every node is checked even when a sibling is broken, so one
 * pass reports every issue, and names live in Maps, so `__proto__` or `toString` are ordinary names.
 */
import type {
  CompiledCredit,
  CompiledEntitlement,
  CompiledGateway,
  CompiledModelRoute,
  CompiledPlan,
  CompiledPolicy,
} from "../domain/types";
import { type CreditTable, compileCredit, compileEntitlement } from "./compile-entitlement";
import { compilePassthrough } from "./compile-passthrough";
import { globToRegExp } from "./glob";
import { IssueList, type Path, type PolicyIssue } from "./issues";
import {
  type CreditDocument,
  type EntitlementDocument,
  type GatewayDocument,
  gatewayShellSchema,
  type PlanDocument,
  type PolicyDocument,
  planShellSchema,
  policyShellSchema,
} from "./schema";

/** `gateway.default_max_tokens` when the policy sets none (SPEC §11). */
export const DEFAULT_MAX_TOKENS = 1024;

/** The compiled policy (the caller stamps the version) and its normalised document, or every issue. */
export type CompileResult =
  | { ok: true; policy: Omit<CompiledPolicy, "version">; document: PolicyDocument }
  | { ok: false; issues: PolicyIssue[] };

type RawObject = Record<string, unknown>;

function isObject(value: unknown): value is RawObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Own entries of a raw map, or none when it is not an object (the shell schema has said so already). */
function entriesOf(value: unknown): [string, unknown][] {
  // Note: JS objects put integer-like keys first, so "document order" holds for every other key.
  return isObject(value) ? Object.entries(value) : [];
}

/** Names are identifiers of the HTTP API too (SPEC §5.3): 1 to 256 characters, no control characters. */
function checkName(kind: string, name: string, path: Path, issues: IssueList): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (name.length === 0 || name.length > 256 || /[\u0000-\u001f\u007f]/.test(name)) {
    issues.add(path, `a ${kind} name must be 1 to 256 characters without control characters`);
  }
}

function compileCredits(raw: unknown, issues: IssueList) {
  const table: CreditTable = new Map();
  const documents: [string, CreditDocument][] = [];
  for (const [name, value] of entriesOf(raw)) {
    const path = ["credits", name];
    checkName("credit", name, path, issues);
    const compiled = compileCredit(name, value, path, issues);
    table.set(name, compiled?.credit ?? null);
    if (compiled) documents.push([name, compiled.document]);
  }
  return { table, documents };
}

function compilePlans(raw: unknown, credits: CreditTable, issues: IssueList) {
  const plans = new Map<string, CompiledPlan>();
  const documents: [string, PlanDocument][] = [];
  const names = new Set<string>();
  // One meter per entitlement name carries across plan changes (SPEC §11), so its unit must not change.
  const creditOf = new Map<string, { credit: string; plan: string }>();
  let defaultPlan: string | null = null;
  for (const [planName, rawPlan] of entriesOf(raw)) {
    const path = ["plans", planName];
    checkName("plan", planName, path, issues);
    const shell = issues.parse(planShellSchema, rawPlan, path)?.value;
    const entitlements = new Map<string, CompiledEntitlement>();
    const entitlementDocuments: [string, EntitlementDocument][] = [];
    for (const [name, rawEntitlement] of entriesOf(isObject(rawPlan) ? rawPlan.entitlements : undefined)) {
      const entitlementPath = [...path, "entitlements", name];
      checkName("entitlement", name, entitlementPath, issues);
      names.add(name);
      const compiled = compileEntitlement(name, rawEntitlement, entitlementPath, credits, issues);
      if (compiled === null) continue;
      const credit = compiled.entitlement.credit?.name;
      const seen = creditOf.get(name);
      if (credit !== undefined && seen !== undefined && seen.credit !== credit) {
        issues.add(
          [...entitlementPath, "limit", "credit"],
          `"${name}" counts in credit "${seen.credit}" in plan "${seen.plan}"; its meter is shared across plans, so every plan must use the same credit`,
        );
      } else if (credit !== undefined && seen === undefined) creditOf.set(name, { credit, plan: planName });
      entitlements.set(name, compiled.entitlement);
      entitlementDocuments.push([name, compiled.document]);
    }
    // Read `default` from the raw plan, so a second default is reported even when the plan has other issues.
    if (isObject(rawPlan) && rawPlan.default === true) {
      if (defaultPlan === null) defaultPlan = planName;
      else
        issues.add([...path, "default"], `only one plan may be the default, and "${defaultPlan}" already is`);
    }
    if (shell === undefined) continue;
    plans.set(planName, {
      name: planName,
      label: shell.label ?? null,
      isDefault: shell.default === true,
      entitlements,
    });
    const { entitlements: rawEntitlements, ...rest } = shell;
    const entitlementMap = Object.fromEntries(entitlementDocuments);
    documents.push([
      planName,
      rawEntitlements === undefined ? rest : { ...rest, entitlements: entitlementMap },
    ]);
  }
  return { plans, documents, names, defaultPlan };
}

function compileGateway(raw: unknown, names: ReadonlySet<string>, issues: IssueList) {
  const gateway: CompiledGateway = {
    defaultMaxTokens: DEFAULT_MAX_TOKENS,
    requests: null,
    models: [],
    passthrough: [],
  };
  if (raw === undefined) return { gateway, document: undefined };
  const shell = issues.parse(gatewayShellSchema, raw, ["gateway"])?.value;
  const models: CompiledModelRoute[] = [];
  for (const [pattern, target] of entriesOf(isObject(raw) ? raw.models : undefined)) {
    const path = ["gateway", "models", pattern];
    if (pattern.length === 0 || pattern.length > 256)
      issues.add(path, "a model pattern must be 1 to 256 characters");
    else if (typeof target !== "string") issues.add(path, "expected the name of an entitlement");
    else if (!names.has(target))
      issues.add(path, `model pattern maps to entitlement "${target}", which no plan has`);
    else models.push({ pattern, regex: globToRegExp(pattern), entitlement: target });
  }
  if (shell?.requests !== undefined && !names.has(shell.requests)) {
    issues.add(["gateway", "requests"], `names entitlement "${shell.requests}", which no plan has`);
  }
  const rawPassthrough = isObject(raw) && Array.isArray(raw.passthrough) ? raw.passthrough : [];
  const passthrough = compilePassthrough(rawPassthrough, issues);
  if (shell === undefined) return { gateway, document: undefined };
  gateway.passthrough = passthrough;
  gateway.defaultMaxTokens = shell.default_max_tokens ?? DEFAULT_MAX_TOKENS;
  gateway.requests = shell.requests ?? null;
  gateway.models = models;
  const { models: rawModels, ...rest } = shell;
  const modelMap = Object.fromEntries(models.map((m) => [m.pattern, m.entitlement]));
  const document: GatewayDocument = rawModels === undefined ? rest : { ...rest, models: modelMap };
  return { gateway, document };
}

/** Check and compile an unwrapped policy document: the compiled policy (less its version) or every issue. */
export function compilePolicy(root: unknown): CompileResult {
  const issues = new IssueList();
  const top = issues.parse(policyShellSchema, root, [])?.value;
  const raw = isObject(root) ? root : {};
  const credits = compileCredits(raw.credits, issues);
  const plans = compilePlans(raw.plans, credits.table, issues);
  const gateway = compileGateway(raw.gateway, plans.names, issues);
  // A policy without plans would validate and then deny everything (SPEC §11 "Integrity").
  if (top !== undefined && Object.keys(top.plans ?? {}).length === 0) {
    issues.add(["plans"], "a policy needs at least one plan");
  }
  if (top === undefined || !issues.empty) return { ok: false, issues: issues.items };

  // Rebuilt from the checked nodes: ignored Limitr keys are gone, `export_pdf:` (null) reads as `{}`.
  const document: PolicyDocument = {};
  if (top.credits !== undefined) document.credits = Object.fromEntries(credits.documents);
  if (top.plans !== undefined) document.plans = Object.fromEntries(plans.documents);
  if (gateway.document !== undefined) document.gateway = gateway.document;
  const compiledCredits = new Map<string, CompiledCredit>();
  for (const [name, credit] of credits.table) if (credit) compiledCredits.set(name, credit);
  return {
    ok: true,
    document,
    policy: {
      credits: compiledCredits,
      plans: plans.plans,
      defaultPlan: plans.defaultPlan,
      entitlementNames: plans.names,
      gateway: gateway.gateway,
    },
  };
}
