-- The read model of SPEC §13.1, projected from each customer object's event log by its alarm
-- (src/objects/projection.ts writes, src/analytics/ reads). The objects stay the source of truth: every row
-- here can be rebuilt by projecting their events again, and projecting an event twice changes nothing.

-- One row per customer ever created. `seq` is the seq (in the customer's own log) of the newest customer
-- event projected into the row: a write carrying an older seq never overwrites it. A deleted customer keeps
-- a row with deleted = 1 (a tombstone), so a replayed older event cannot bring it back.
CREATE TABLE IF NOT EXISTS customers (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  plan TEXT,
  org TEXT,
  label TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_label ON customers (label) WHERE deleted = 0;
CREATE INDEX IF NOT EXISTS customers_org ON customers (org, id) WHERE deleted = 0;
CREATE INDEX IF NOT EXISTS customers_type ON customers (type, id) WHERE deleted = 0;
CREATE INDEX IF NOT EXISTS customers_plan ON customers (plan, id) WHERE deleted = 0;

-- A live customer's alternate IDs, for prefix search (`q`); rewritten with the customer row.
CREATE TABLE IF NOT EXISTS customer_alternate_ids (
  alternate_id TEXT NOT NULL,
  customer TEXT NOT NULL,
  PRIMARY KEY (customer, alternate_id)
);
CREATE INDEX IF NOT EXISTS customer_alternate_ids_prefix ON customer_alternate_ids (alternate_id);

-- Recorded usage: one row per `meter.changed` event of a consume, a settle (amount > 0 or not) or a release
-- (negative), keyed by the event id, so a replayed event is ignored. `customer` is the caller, `metered_on`
-- the meter's owner (the org for an org-scoped call). `at_ms` is the event's time (epoch ms).
CREATE TABLE IF NOT EXISTS usage (
  event_id TEXT PRIMARY KEY,
  customer TEXT NOT NULL,
  metered_on TEXT NOT NULL,
  entitlement TEXT NOT NULL,
  operation TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  amount REAL NOT NULL,
  unit TEXT,
  model TEXT,
  door TEXT,
  input REAL,
  cached_input REAL,
  cache_write REAL,
  output REAL,
  reasoning REAL,
  cost REAL
);
CREATE INDEX IF NOT EXISTS usage_at ON usage (at_ms);
CREATE INDEX IF NOT EXISTS usage_customer ON usage (customer, at_ms);
CREATE INDEX IF NOT EXISTS usage_metered_on ON usage (metered_on, at_ms);
CREATE INDEX IF NOT EXISTS usage_entitlement ON usage (entitlement, at_ms);
CREATE INDEX IF NOT EXISTS usage_model ON usage (model, at_ms) WHERE model IS NOT NULL;
