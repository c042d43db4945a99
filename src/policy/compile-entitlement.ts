/** Compile one credit or one entitlement of a plan, recording every issue with its path. */
import type { CreditMoney } from "../domain/money/types";
import type { CompiledCredit, CompiledEntitlement, CompiledLimit } from "../domain/types";
import { compileLimit, compileRate } from "./compile-limit";
import { compileCreditMoney } from "./compile-money";
import type { IssueList, Path } from "./issues";
import { type CreditDocument, creditSchema, type EntitlementDocument, entitlementSchema } from "./schema";
import { describeUnit, type UnitInfo } from "./units";

/**
 * Credits by name. `null` marks a credit that is declared but invalid: its own issue is already
 * recorded, so entitlements using it skip unit checks instead of piling on a second issue.
 */
export type CreditTable = Map<string, CompiledCredit | null>;

/** Compile one credit: its unit (`unit`, alias `stof_units`; none: the credit's name as a word). */
export function compileCredit(
  name: string,
  raw: unknown,
  path: Path,
  issues: IssueList,
): { document: CreditDocument; credit: CompiledCredit; money: CreditMoney } | null {
  const parsed = issues.parse(creditSchema, raw, path);
  if (parsed === undefined) return null;
  const document = parsed.value;
  const { unit, stof_units: stofUnits } = document;
  if (unit !== undefined && stofUnits !== undefined && unit !== stofUnits) {
    issues.add(
      [...path, "stof_units"],
      `"unit" and its alias "stof_units" disagree ("${unit}" vs "${stofUnits}")`,
    );
    return null;
  }
  const described = describeUnit(unit ?? stofUnits ?? null, name);
  if (!described.ok) {
    issues.add([...path, unit !== undefined ? "unit" : "stof_units"], described.message);
    return null;
  }
  // A salvaged credit may have lost its `unit`: compiling it would misjudge every amount that uses it.
  if (!parsed.clean) return null;
  const credit: CompiledCredit = { name, label: document.label ?? null, ...described.value };
  const money = compileCreditMoney(document, credit, path, issues);
  if (money === null) return null;
  return { document, credit, money };
}

/** Compile one entitlement of one plan; null (with issues recorded) when anything in it is wrong. */
export function compileEntitlement(
  name: string,
  raw: unknown,
  path: Path,
  credits: CreditTable,
  issues: IssueList,
): { document: EntitlementDocument; entitlement: CompiledEntitlement } | null {
  const parsed = issues.parse(entitlementSchema, raw, path);
  if (parsed === undefined) return null;
  const document = parsed.value;
  let ok = parsed.clean;
  let credit: CompiledCredit | null = null;
  // null: no credit at all (a feature flag); undefined: unknown, so amounts with units cannot be judged.
  // A `limit` that was cut out while salvaging counts as unknown, not as "no credit".
  let unit: UnitInfo | null | undefined =
    typeof raw === "object" && raw !== null && Object.hasOwn(raw, "limit") ? undefined : null;
  let limit: CompiledLimit | null = null;
  if (document.limit !== undefined) {
    const creditName = document.limit.credit;
    const known = credits.get(creditName);
    if (known === undefined && !credits.has(creditName)) {
      const declared = [...credits.keys()].join(", ") || "none";
      issues.add(
        [...path, "limit", "credit"],
        `unknown credit "${creditName}" (declared credits: ${declared})`,
      );
    }
    credit = known ?? null;
    unit = known ?? undefined;
    limit = compileLimit(document.limit, unit, [...path, "limit"], issues);
    if (limit === null || credit === null) ok = false;
  }
  const rate =
    document.rate === undefined ? null : compileRate(document.rate, unit, [...path, "rate"], issues);
  if (!ok || (document.rate !== undefined && rate === null)) return null;
  const entitlement: CompiledEntitlement = {
    name,
    label: document.label ?? null,
    scope: document.scope ?? "customer",
    credit,
    limit,
    rate,
  };
  return { document, entitlement };
}
