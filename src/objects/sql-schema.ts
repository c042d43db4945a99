/** Versioned SQL schema of CustomerObject. Append a migration; never edit a shipped one. */

const MIGRATIONS: string[][] = [
  [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meters (entitlement TEXT PRIMARY KEY, state TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS holds (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, body TEXT NOT NULL)",
    `CREATE TABLE IF NOT EXISTS idempotency (
       customer TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, response TEXT NOT NULL,
       created_at INTEGER NOT NULL, PRIMARY KEY (customer, key))`,
    `CREATE TABLE IF NOT EXISTS events (
       seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL)`,
  ],
  // v2: the event log is the webhook outbox (SPEC §7): delivery state per event.
  [
    "ALTER TABLE events ADD COLUMN deliver INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE events ADD COLUMN delivered_at INTEGER",
    "ALTER TABLE events ADD COLUMN next_attempt_at INTEGER",
    "ALTER TABLE events ADD COLUMN last_error TEXT",
    "CREATE INDEX IF NOT EXISTS events_outbox ON events (seq) WHERE deliver = 1 AND delivered_at IS NULL",
  ],
  // v3: delivery states pending | delivered | failed | skipped (SPEC §7), the start of the retry horizon and
  // when delivery settled (retention). Events written with no WEBHOOK_URL become `skipped`; undelivered ones
  // written with one stay `pending` (they were promised delivery); `deliver` is no longer read.
  [
    "ALTER TABLE events ADD COLUMN status TEXT NOT NULL DEFAULT 'skipped'",
    "ALTER TABLE events ADD COLUMN first_attempt_at INTEGER",
    "ALTER TABLE events ADD COLUMN settled_at INTEGER",
    `UPDATE events SET status = CASE WHEN deliver = 0 THEN 'skipped'
       WHEN delivered_at IS NULL THEN 'pending' ELSE 'delivered' END`,
    `UPDATE events SET settled_at = COALESCE(delivered_at, CAST(strftime('%s', at) AS INTEGER) * 1000, 0)
       WHERE status <> 'pending'`,
    "DROP INDEX IF EXISTS events_outbox",
    "CREATE INDEX IF NOT EXISTS events_pending ON events (seq) WHERE status = 'pending'",
    "CREATE INDEX IF NOT EXISTS events_settled ON events (settled_at) WHERE status <> 'pending'",
  ],
  // Issue 9, objects: idempotency keys are pruned and capped oldest first (SPEC §11 "Bounds"); an org knows
  // its members, so it can refuse to stop being an org while it has some (SPEC §11 "Integrity").
  [
    "CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency (created_at)",
    "CREATE TABLE IF NOT EXISTS members (customer TEXT PRIMARY KEY)",
  ],
  // Issue 12, money: the grants this object's customer holds as a meter owner (SPEC §12.3), one row each.
  [
    "CREATE TABLE IF NOT EXISTS grants (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, body TEXT NOT NULL)",
  ],
  // Issue 13, read model (SPEC §13.1): how far the D1 read model has this log. Events are projected strictly in
  // seq order, so one watermark says it for every event (`seq <= projected_through`): appending an event costs
  // nothing more, and marking a batch projected is one row. Events written before this migration start
  // unprojected, every one of them: the alarm projects the whole log that is still kept.
  ["INSERT OR IGNORE INTO meta (key, value) VALUES ('projected_through', '0')"],
];

/** True when this object's storage has ever been written. */
export function schemaExists(sql: SqlStorage): boolean {
  return (
    sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0
  );
}

/** Bring the schema up to date; the version lives in `meta.schema_version`. */
export function migrate(sql: SqlStorage): void {
  sql.exec(MIGRATIONS[0]?.[0] ?? "");
  const row = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0];
  let version = row === undefined ? 0 : Number(row.value);
  while (version < MIGRATIONS.length) {
    for (const statement of MIGRATIONS[version] ?? []) sql.exec(statement);
    version += 1;
    sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", String(version));
  }
}
