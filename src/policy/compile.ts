/**
 * Validate and compile a policy document (already unwrapped) into the lookup form the domain uses.
 * The document is walked node by node: every node is checked even when a sibling is broken, so one
 * pass reports every issue, and names live in Maps, so `__proto__` or `toString` are ordinary names.
 */

import { fixedRunesPerUnit } from "../domain/money/model-cost";
import type { CompiledTopup, CreditMoney, RuneRoute } from "../domain/money/types";
import type {
  CompiledCredit,
  CompiledEntitlement,
  CompiledGateway,
  CompiledModelRoute,
  CompiledPlan,
  CompiledPolicy,
} from "../domain/types";
import { type CreditTable, compileCredit, compileEntitlement } from "./compile-entitlement";
import { compileExchange, compileModelCost, compileTopups } from "./compile-money";
import { compilePassthrough } from "./compile-passthrough";
import { globToRegExp } from "./glob";
import { IssueList, type Path, type PolicyIssue } from "./issues";
import {
  type CreditDocument,
  type EntitlementDocument,
  type GatewayDocument,
  gatewayShellSchema,
  modelObjectSchema,
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
  const money = new Map<string, CreditMoney>();
  const documents: [string, CreditDocument][] = [];
  for (const [name, value] of entriesOf(raw)) {
    const path = ["credits", name];
    checkName("credit", name, path, issues);
    const compiled = compileCredit(name, value, path, issues);
    table.set(name, compiled?.credit ?? null);
    if (compiled) {
      documents.push([name, compiled.document]);
      money.set(name, compiled.money);
    }
  }
  return { table, documents, money };
}

function compilePlans(raw: unknown, credits: CreditTable, issues: IssueList) {
  const plans = new Map<string, CompiledPlan>();
  const topups = new Map<string, Map<string, CompiledTopup>>();
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
    const planTopups = compileTopups(
      isObject(rawPlan) ? rawPlan.topups : undefined,
      credits,
      [...path, "topups"],
      issues,
    );
    topups.set(planName, planTopups.topups);
    if (shell === undefined) continue;
    plans.set(planName, {
      name: planName,
      label: shell.label ?? null,
      isDefault: shell.default === true,
      entitlements,
    });
    // The plan's own `price` (a subscription price) is informational: left out of the document and version.
    const { entitlements: rawEntitlements, topups: rawTopups, price: _price, ...rest } = shell;
    const document: PlanDocument = { ...rest };
    if (rawEntitlements !== undefined) document.entitlements = Object.fromEntries(entitlementDocuments);
    if (rawTopups !== undefined) document.topups = planTopups.documents as PlanDocument["topups"];
    documents.push([planName, document]);
  }
  return { plans, documents, names, defaultPlan, topups, creditOf };
}

/** What `gateway.spend` needs from the rest of the policy: each entitlement's credit and the credits' rune routes. */
interface SpendContext {
  creditOf: ReadonlyMap<string, { credit: string }>;
  routes: ReadonlyMap<string, RuneRoute>;
}

function compileGateway(
  raw: unknown,
  names: ReadonlySet<string>,
  spendContext: SpendContext,
  issues: IssueList,
) {
  const gateway: CompiledGateway = {
    defaultMaxTokens: DEFAULT_MAX_TOKENS,
    requests: null,
    models: [],
    passthrough: [],
    spend: null,
    unpriced: "refuse",
  };
  if (raw === undefined) return { gateway, document: undefined };
  const shell = issues.parse(gatewayShellSchema, raw, ["gateway"])?.value;
  const models: CompiledModelRoute[] = [];
  const modelDocuments: [string, unknown][] = [];
  for (const [pattern, target] of entriesOf(isObject(raw) ? raw.models : undefined)) {
    const path = ["gateway", "models", pattern];
    if (pattern.length === 0 || pattern.length > 256) {
      issues.add(path, "a model pattern must be 1 to 256 characters");
      continue;
    }
    if (typeof target !== "string" && !isObject(target)) {
      issues.add(path, "expected the name of an entitlement, or { entitlement, cost? }");
      continue;
    }
    const parsed =
      typeof target === "string"
        ? { value: target, clean: true }
        : issues.parse(modelObjectSchema, target, path);
    if (parsed === undefined || !parsed.clean) continue;
    const entry = parsed.value;
    const entitlement = typeof entry === "string" ? entry : entry.entitlement;
    const entitlementPath = typeof entry === "string" ? path : [...path, "entitlement"];
    if (!names.has(entitlement)) {
      issues.add(entitlementPath, `model pattern maps to entitlement "${entitlement}", which no plan has`);
      continue;
    }
    const cost = typeof entry === "string" || entry.cost === undefined ? null : compileModelCost(entry.cost);
    models.push({ pattern, regex: globToRegExp(pattern), entitlement, cost });
    modelDocuments.push([pattern, entry]);
  }
  if (shell?.requests !== undefined && !names.has(shell.requests)) {
    issues.add(["gateway", "requests"], `names entitlement "${shell.requests}", which no plan has`);
  }
  if (shell?.spend !== undefined) checkSpend(shell.spend, names, spendContext, issues);
  const rawPassthrough = isObject(raw) && Array.isArray(raw.passthrough) ? raw.passthrough : [];
  const passthrough = compilePassthrough(rawPassthrough, issues);
  if (shell === undefined) return { gateway, document: undefined };
  gateway.passthrough = passthrough;
  gateway.defaultMaxTokens = shell.default_max_tokens ?? DEFAULT_MAX_TOKENS;
  gateway.requests = shell.requests ?? null;
  gateway.models = models;
  gateway.spend = shell.spend ?? null;
  gateway.unpriced = shell.unpriced ?? "refuse";
  const { models: rawModels, ...rest } = shell;
  const document: GatewayDocument =
    rawModels === undefined
      ? rest
      : { ...rest, models: Object.fromEntries(modelDocuments) as GatewayDocument["models"] };
  return { gateway, document };
}

/** `gateway.spend` must name an entitlement whose credit has a fixed rune value (SPEC §12.4). */
function checkSpend(
  spend: string,
  names: ReadonlySet<string>,
  context: SpendContext,
  issues: IssueList,
): void {
  const path = ["gateway", "spend"];
  if (!names.has(spend)) {
    issues.add(path, `names entitlement "${spend}", which no plan has`);
    return;
  }
  const credit = context.creditOf.get(spend)?.credit;
  if (credit === undefined) {
    issues.add(path, `entitlement "${spend}" has no limit, so it has no credit to count money in`);
    return;
  }
  const route = context.routes.get(credit);
  if (route === undefined) return; // the credit's own problem is reported at exchange.<credit>
  if (fixedRunesPerUnit(route) === null) {
    issues.add(
      path,
      `entitlement "${spend}" counts in credit "${credit}", which has no fixed rune value: give it an exchange pair to rune or usd, or a flat price`,
    );
  }
}

/** Check and compile an unwrapped policy document: the compiled policy (less its version) or every issue. */
export function compilePolicy(root: unknown): CompileResult {
  const issues = new IssueList();
  const top = issues.parse(policyShellSchema, root, [])?.value;
  const raw = isObject(root) ? root : {};
  const credits = compileCredits(raw.credits, issues);
  const plans = compilePlans(raw.plans, credits.table, issues);
  const declared = new Set(credits.table.keys());
  const exchange = compileExchange(raw.exchange, credits.money, declared, issues);
  const gateway = compileGateway(
    raw.gateway,
    plans.names,
    { creditOf: plans.creditOf, routes: exchange.routes },
    issues,
  );
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
  if (exchange.document !== undefined) document.exchange = exchange.document as PolicyDocument["exchange"];
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
      money: {
        credits: credits.money,
        exchange: exchange.exchange,
        routes: exchange.routes,
        topups: plans.topups,
      },
    },
  };
}
