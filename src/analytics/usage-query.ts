/**
 * `GET /v1/usage` from the read model (SPEC §13.1): recorded usage (consumes and settles, less releases)
 * summed per group (customer, entitlement, model) and per local day or hour of a zone. The SQL text is built
 * only from the fixed column names of the chosen keys; every value is a bound parameter.
 */
import { round9 } from "../domain/money/numbers";
import { fail, type Result } from "../errors/catalogue";
import { bucketOf, SLOT_MS } from "./buckets";
import type { UsageClasses, UsageGroupKey, UsagePoint, UsageQuery } from "./types";

/** Rows the SQL may answer (groups × 15-minute slots); a wider query is refused, never cut silently. */
export const MAX_SQL_ROWS = 50_000;

const GROUP_COLUMNS: Record<UsageGroupKey, string> = {
  customer: "customer",
  entitlement: "entitlement",
  model: "model",
};

type SqlRow = {
  customer?: string;
  entitlement?: string;
  model?: string | null;
  slot?: number;
  amount: number;
  input: number | null;
  cached_input: number | null;
  cache_write: number | null;
  output: number | null;
  reasoning: number | null;
  classed: number;
  cost: number | null;
  costed: number;
};

/** The usage series, sorted by bucket then group, at most `query.limit` points (`truncated` says more). */
export async function queryUsage(
  db: D1Database,
  query: UsageQuery,
): Promise<Result<{ series: UsagePoint[]; truncated: boolean }>> {
  const keys = (["customer", "entitlement", "model"] as const).filter((k) => query.groupBy.includes(k));
  const time = query.groupBy.includes("hour") ? "hour" : query.groupBy.includes("day") ? "day" : null;
  const where: string[] = [];
  const params: (string | number)[] = [];
  const bind = (value: string | number) => {
    params.push(value);
    return `?${params.length}`;
  };
  if (query.entitlement !== undefined) where.push(`entitlement = ${bind(query.entitlement)}`);
  if (query.customer !== undefined) where.push(`customer = ${bind(query.customer)}`);
  if (query.model !== undefined) where.push(`model = ${bind(query.model)}`);
  if (query.org !== undefined) {
    const org = bind(query.org);
    where.push(
      `(metered_on = ${org} OR customer IN (SELECT id FROM customers WHERE org = ${org} AND deleted = 0))`,
    );
  }
  if (query.fromMs !== undefined) where.push(`at_ms >= ${bind(query.fromMs)}`);
  if (query.toMs !== undefined) where.push(`at_ms < ${bind(query.toMs)}`);
  const selected = keys.map((k) => GROUP_COLUMNS[k]);
  if (time !== null) selected.push(`at_ms / ${SLOT_MS} AS slot`);
  const grouped = [...keys.map((k) => GROUP_COLUMNS[k]), ...(time === null ? [] : ["slot"])];
  const sql = `SELECT ${[
    ...selected,
    "SUM(amount) AS amount",
    "SUM(input) AS input",
    "SUM(cached_input) AS cached_input",
    "SUM(cache_write) AS cache_write",
    "SUM(output) AS output",
    "SUM(reasoning) AS reasoning",
    "COUNT(input) AS classed",
    "SUM(cost) AS cost",
    "COUNT(cost) AS costed",
  ].join(", ")} FROM usage${where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`}${
    grouped.length === 0 ? "" : ` GROUP BY ${grouped.join(", ")}`
  } LIMIT ${bind(MAX_SQL_ROWS + 1)}`;
  const { results } = await db
    .prepare(sql)
    .bind(...params)
    .all<SqlRow>();
  if (results.length > MAX_SQL_ROWS) {
    return fail(
      "invalid_request",
      "the query spans too many groups and 15-minute slots; narrow from/to or the filters",
      {
        issues: [{ path: "", message: `more than ${MAX_SQL_ROWS} rows to fold` }],
      },
    );
  }
  // An empty table answers one all-null row to an ungrouped SUM: no usage, no point.
  const rows = grouped.length === 0 ? results.filter((r) => r.amount !== null) : results;
  const points = new Map<string, { startMs: number; point: UsagePoint }>();
  for (const row of rows) {
    const group: UsagePoint["group"] = {};
    for (const key of keys) group[key] = row[key] ?? (null as never);
    const bucket =
      time === null || row.slot === undefined ? null : bucketOf(time, query.tz, row.slot * SLOT_MS);
    const id = JSON.stringify([bucket?.name ?? null, keys.map((k) => row[k] ?? null)]);
    let entry = points.get(id);
    if (entry === undefined) {
      entry = {
        startMs: bucket?.startMs ?? 0,
        point: { group, bucket: bucket?.name ?? null, amount: 0 },
      };
      points.set(id, entry);
    }
    entry.point.amount += row.amount ?? 0;
    if (row.classed > 0) {
      entry.point.usage ??= { input: 0, cached_input: 0, cache_write: 0, output: 0, reasoning: 0 };
      const usage = entry.point.usage;
      for (const name of Object.keys(usage) as (keyof UsageClasses)[]) usage[name] += row[name] ?? 0;
    }
    if (row.costed > 0) entry.point.cost = (entry.point.cost ?? 0) + (row.cost ?? 0);
  }
  const sorted = [...points.values()].sort(
    (a, b) => a.startMs - b.startMs || compareGroups(a.point.group, b.point.group, keys),
  );
  const series = sorted.slice(0, query.limit).map(({ point }) => rounded(point));
  return { ok: true, value: { series, truncated: sorted.length > query.limit } };
}

function compareGroups(
  a: UsagePoint["group"],
  b: UsagePoint["group"],
  keys: readonly UsageGroupKey[],
): number {
  for (const key of keys) {
    const x = a[key] ?? "";
    const y = b[key] ?? "";
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Numbers as answers show them (SPEC §12: rounded to 1e-9). */
function rounded(point: UsagePoint): UsagePoint {
  const out: UsagePoint = { group: point.group, bucket: point.bucket, amount: round9(point.amount) };
  if (point.usage !== undefined) {
    const usage = { ...point.usage };
    for (const name of Object.keys(usage) as (keyof UsageClasses)[]) usage[name] = round9(usage[name]);
    out.usage = usage;
  }
  if (point.cost !== undefined) out.cost = round9(point.cost);
  return out;
}
