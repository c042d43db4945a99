/**
 * Writing projected events into the D1 read model (SPEC §13.1), one `db.batch` (a transaction) per call:
 * customers from `customer.*` events, usage from `meter.changed` (all of a batch's usage in one statement). Idempotent: a usage row is keyed by its
 * event id (`ON CONFLICT DO NOTHING`), a customer row is only overwritten by a newer seq of that customer's
 * log, so projecting the same events again changes nothing. Every value is a bound parameter.
 */
import type { CustomerRecord, StoredEvent } from "../domain/types";
import type { ProjectionItem } from "./types";
import { type UsageRow, usageRowOf } from "./usage-rows";

const UPSERT_CUSTOMER = `INSERT INTO customers (id, type, plan, org, label, created_at, updated_at, deleted, seq)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8)
  ON CONFLICT (id) DO UPDATE SET type = excluded.type, plan = excluded.plan, org = excluded.org,
    label = excluded.label, created_at = excluded.created_at, updated_at = excluded.updated_at, deleted = 0,
    seq = excluded.seq
  WHERE excluded.seq > customers.seq`;

const TOMBSTONE_CUSTOMER = `INSERT INTO customers (id, type, plan, org, label, created_at, updated_at, deleted, seq)
  VALUES (?1, 'user', NULL, NULL, NULL, ?2, ?2, 1, ?3)
  ON CONFLICT (id) DO UPDATE SET deleted = 1, updated_at = excluded.updated_at, seq = excluded.seq
  WHERE excluded.seq > customers.seq`;

// The alternate IDs follow the row: rewritten only when the row now carries this event's seq.
const CLEAR_ALTERNATE_IDS = `DELETE FROM customer_alternate_ids
  WHERE customer = ?1 AND EXISTS (SELECT 1 FROM customers WHERE id = ?1 AND seq = ?2)`;

const INSERT_ALTERNATE_IDS = `INSERT OR IGNORE INTO customer_alternate_ids (alternate_id, customer)
  SELECT value, ?1 FROM json_each(?3)
  WHERE EXISTS (SELECT 1 FROM customers WHERE id = ?1 AND seq = ?2 AND deleted = 0)`;

/**
 * Every usage row of a batch in one statement: the rows travel as one JSON array of arrays (columns in the
 * order below), so a batch of 100 consumes is one statement, not 100 (each statement of a `db.batch` has its
 * own cost in the D1 protocol). Each row still stands alone: keyed by its event id, `DO NOTHING` on a replay.
 */
const USAGE_COLUMNS = [
  "event_id",
  "customer",
  "metered_on",
  "entitlement",
  "operation",
  "at_ms",
  "amount",
  "unit",
  "model",
  "door",
  "input",
  "cached_input",
  "cache_write",
  "output",
  "reasoning",
  "cost",
] as const;

const INSERT_USAGE = `INSERT INTO usage (${USAGE_COLUMNS.join(", ")})
  SELECT ${USAGE_COLUMNS.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ")}
  FROM json_each(?1) WHERE true
  ON CONFLICT (event_id) DO NOTHING`;

/** Write `items` to the read model in one transaction; throws (nothing written) when D1 refuses. */
export async function writeProjection(db: D1Database, items: readonly ProjectionItem[]): Promise<void> {
  const statements = items.flatMap((item) => statementsFor(db, item));
  const usage = items.flatMap(({ event }) => {
    const row = usageRowOf(event);
    return row === null ? [] : [usageValues(row)];
  });
  if (usage.length > 0) statements.push(db.prepare(INSERT_USAGE).bind(JSON.stringify(usage)));
  if (statements.length > 0) await db.batch(statements);
}

function statementsFor(db: D1Database, item: ProjectionItem): D1PreparedStatement[] {
  const { event } = item;
  switch (event.type) {
    case "customer.created":
    case "customer.updated":
    case "customer.plan_changed":
      // A record already deleted: the customer.deleted that follows in this log writes the tombstone.
      return item.record === null || item.record.id !== event.customer
        ? []
        : customerStatements(db, item.record, event.seq);
    case "customer.deleted":
      return [
        db.prepare(TOMBSTONE_CUSTOMER).bind(event.customer, Date.parse(event.at), event.seq),
        db.prepare(CLEAR_ALTERNATE_IDS).bind(event.customer, event.seq),
      ];
    default:
      return [];
  }
}

function customerStatements(db: D1Database, record: CustomerRecord, seq: number): D1PreparedStatement[] {
  return [
    db
      .prepare(UPSERT_CUSTOMER)
      .bind(
        record.id,
        record.type,
        record.plan,
        record.org,
        record.label,
        record.createdAt,
        record.updatedAt,
        seq,
      ),
    db.prepare(CLEAR_ALTERNATE_IDS).bind(record.id, seq),
    db.prepare(INSERT_ALTERNATE_IDS).bind(record.id, seq, JSON.stringify(record.alternateIds)),
  ];
}

/** One usage row's values, in the order of `USAGE_COLUMNS`. */
function usageValues(row: UsageRow): (string | number | null)[] {
  const c = row.classes;
  return [
    row.eventId,
    row.customer,
    row.meteredOn,
    row.entitlement,
    row.operation,
    row.atMs,
    row.amount,
    row.unit,
    row.model,
    row.door,
    c?.input ?? null,
    c?.cached_input ?? null,
    c?.cache_write ?? null,
    c?.output ?? null,
    c?.reasoning ?? null,
    row.cost,
  ];
}

/** Whether projecting `event` writes its customer's listing row (three statements, where usage shares one). */
export function writesCustomerRow(event: StoredEvent): boolean {
  return needsRecord(event) || event.type === "customer.deleted";
}

/** Whether projecting `event` needs its customer's record (a `customer.*` event that sets fields). */
export function needsRecord(event: StoredEvent): boolean {
  return (
    event.type === "customer.created" ||
    event.type === "customer.updated" ||
    event.type === "customer.plan_changed"
  );
}
