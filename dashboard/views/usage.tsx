/**
 * Usage per day by entitlement or by model, and spend (SPEC §13.1 `GET /v1/usage`): a stacked bar chart, and the
 * same numbers in a table with totals.
 */
import { useMemo, useState } from "preact/hooks";
import { call, query } from "../api";
import { BarChart, type Series } from "../chart";
import { Empty, ErrorBox, Section } from "../common";
import { amount, browserZone, day } from "../format";
import type { UsageAnswer, UsageRow } from "../types";
import { useApi } from "../use-api";

type By = "entitlement" | "model";

interface Table {
  days: string[];
  groups: string[];
  /** cell[group][day] */
  cells: Map<string, Map<string, number>>;
  totals: Map<string, number>;
  total: number;
}

/** Rows of `groupBy=<key>,day` (or `day` alone) as a day × group table, a value read by `pick`. */
function tabulate(
  rows: UsageRow[],
  key: By | null,
  zone: string,
  pick: (row: UsageRow) => number | undefined,
): Table {
  const cells = new Map<string, Map<string, number>>();
  const days = new Set<string>();
  for (const row of rows) {
    const value = pick(row);
    if (value === undefined) continue;
    const group = key === null ? "total" : (row.group[key] ?? "(none)");
    const bucket = day(row.bucket, zone);
    days.add(bucket);
    const line = cells.get(group) ?? new Map<string, number>();
    line.set(bucket, (line.get(bucket) ?? 0) + value);
    cells.set(group, line);
  }
  const totals = new Map(
    [...cells].map(([group, line]) => [group, [...line.values()].reduce((a, b) => a + b, 0)]),
  );
  return {
    days: [...days].sort(),
    groups: [...cells.keys()].sort(),
    cells,
    totals,
    total: [...totals.values()].reduce((a, b) => a + b, 0),
  };
}

function TableOf({ table, label, testid }: { table: Table; label: string; testid: string }) {
  return (
    <table class="grid numbers" data-testid={testid}>
      <thead>
        <tr>
          <th>{label}</th>
          {table.days.map((name) => (
            <th key={name}>{name}</th>
          ))}
          <th>total</th>
        </tr>
      </thead>
      <tbody>
        {table.groups.map((group) => (
          <tr key={group} data-group={group}>
            <th>{group}</th>
            {table.days.map((name) => (
              <td key={name} data-day={name}>
                {amount(table.cells.get(group)?.get(name) ?? 0)}
              </td>
            ))}
            <td data-field="total">{amount(table.totals.get(group))}</td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th>all</th>
          {table.days.map((name) => (
            <td key={name}>
              {amount(table.groups.reduce((sum, group) => sum + (table.cells.get(group)?.get(name) ?? 0), 0))}
            </td>
          ))}
          <td data-field="grand-total">{amount(table.total)}</td>
        </tr>
      </tfoot>
    </table>
  );
}

function chartSeries(table: Table): Series[] {
  return table.groups.map((group) => ({
    label: group,
    values: table.days.map((name) => table.cells.get(group)?.get(name) ?? 0),
  }));
}

const isoDay = (date: Date): string => date.toISOString().slice(0, 10);

export function UsageView() {
  const zone = browserZone();
  const [by, setBy] = useState<By>("entitlement");
  const [from, setFrom] = useState(() => isoDay(new Date(Date.now() - 29 * 86_400_000)));
  const [to, setTo] = useState(() => isoDay(new Date(Date.now() + 86_400_000)));
  const [customer, setCustomer] = useState("");
  const range = { from: `${from}T00:00:00Z`, to: `${to}T00:00:00Z`, tz: zone, customer };
  const usage = useApi(
    () => call<UsageAnswer>("GET", `/v1/usage${query({ ...range, groupBy: `${by},day` })}`),
    [by, from, to, customer],
  );
  const spend = useApi(
    () => call<UsageAnswer>("GET", `/v1/usage${query({ ...range, groupBy: "day" })}`),
    [from, to, customer],
  );
  const usageTable = useMemo(
    () => tabulate(usage.data?.series ?? [], by, zone, (row) => row.amount),
    [usage.data, by, zone],
  );
  const spendTable = useMemo(
    () =>
      tabulate(spend.data?.series ?? [], null, zone, (row) =>
        typeof row.cost === "number" ? row.cost : undefined,
      ),
    [spend.data, zone],
  );
  const usageSeries = useMemo(() => chartSeries(usageTable), [usageTable]);
  const spendSeries = useMemo(() => chartSeries(spendTable), [spendTable]);
  return (
    <div data-testid="usage-view">
      <h1>Usage</h1>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          By{" "}
          <select name="by" value={by} onChange={(event) => setBy(event.currentTarget.value as By)}>
            <option value="entitlement">entitlement</option>
            <option value="model">model</option>
          </select>
        </label>
        <label>
          From{" "}
          <input
            name="from"
            type="date"
            value={from}
            onChange={(event) => setFrom(event.currentTarget.value)}
          />
        </label>
        <label>
          To <input name="to" type="date" value={to} onChange={(event) => setTo(event.currentTarget.value)} />
        </label>
        <label>
          Customer{" "}
          <input
            name="customer"
            value={customer}
            placeholder="all"
            onChange={(event) => setCustomer(event.currentTarget.value)}
          />
        </label>
        <span class="muted">days in {zone}</span>
      </form>
      <Section title={`Usage per day by ${by}`} testid="usage-chart">
        <ErrorBox error={usage.error} />
        {usageTable.groups.length === 0 ? (
          !usage.loading && <Empty>No usage in this range.</Empty>
        ) : (
          <>
            <BarChart labels={usageTable.days} series={usageSeries} title={`Usage per day by ${by}`} />
            <TableOf table={usageTable} label={by} testid="usage-table" />
          </>
        )}
      </Section>
      <Section title="Spend per day (runes)" testid="spend-chart">
        <ErrorBox error={spend.error} />
        {spendTable.groups.length === 0 ? (
          !spend.loading && <Empty>No spend in this range.</Empty>
        ) : (
          <>
            <BarChart labels={spendTable.days} series={spendSeries} title="Spend per day" />
            <TableOf table={spendTable} label="spend" testid="spend-table" />
          </>
        )}
      </Section>
    </div>
  );
}
