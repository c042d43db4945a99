/**
 * SQLite storage of one customer's object: record, meters, holds, idempotency keys and the event log, with
 * in-memory copies so a decision reads nothing from disk. Every mutation is synchronous; callers group a
 * change and its events in one `transaction` so no change exists without its event (SPEC §4).
 */
import type { Grant } from "../domain/money/types";
import type { CustomerRecord, DomainEvent, Hold, MeterState, StoredEvent } from "../domain/types";
import type { AttemptOutcome } from "../webhooks/retry";
import { migrate, schemaExists } from "./sql-schema";

/** Settled events kept per customer at least, newest first (SPEC §7 retention). */
export const EVENTS_KEPT = 1000;
/** A settled event is kept at least this long after it settled (SPEC §7 retention). */
export const EVENT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** Idempotency keys live 24 h (SPEC §3.6). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Live (unexpired) holds one object keeps at most; a reserve past that is denied `too_many_holds` (SPEC §11). */
export const MAX_LIVE_HOLDS = 1000;
/** Idempotency keys one object keeps at most; the oldest go first (SPEC §11 "Bounds"). */
const MAX_IDEMPOTENCY_KEYS = 10_000;
/** Expired idempotency keys are deleted once per this many stored keys. */
const PRUNE_EVERY_KEYS = 100;

/**
 * Where an event stands in the webhook outbox (SPEC §7, §11 "Webhooks"): `pending` until a 2xx (`delivered`)
 * or a permanent refusal or the end of the retry horizon (`failed`); `skipped` when webhooks were off or
 * misconfigured as it was written.
 */
type DeliveryStatus = "pending" | "delivered" | "failed" | "skipped";

export interface EventDelivery {
  status: DeliveryStatus;
  /** Attempts since the event was (re)queued. */
  attempts: number;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
  lastError: string | null;
}

/** An event as `GET …/events` lists it: with its delivery state and whether the read model has it. */
export type ListedEvent = StoredEvent & { delivery: EventDelivery; projected: boolean };

/** An event waiting for the read model (SPEC §13.1). */
export interface UnprojectedEvent {
  seq: number;
  body: string;
}

/** The next event waiting for delivery. */
export interface PendingEvent {
  seq: number;
  id: string;
  body: string;
  attempts: number;
  nextAttemptAt: number | null;
  /** The first attempt since the event was (re)queued: the 3-day horizon counts from here. */
  firstAttemptAt: number | null;
}

type EventRow = {
  body: string;
  status: DeliveryStatus;
  attempts: number;
  delivered_at: number | null;
  next_attempt_at: number | null;
  last_error: string | null;
  seq: number;
};

const EVENT_COLUMNS = "body, status, attempts, delivered_at, next_attempt_at, last_error, seq";

export interface IdempotencyEntry {
  fingerprint: string;
  response: string;
  createdAt: number;
}

export class CustomerStore {
  record: CustomerRecord | null = null;
  readonly meters = new Map<string, MeterState>();
  readonly holds = new Map<string, Hold>();
  /** The grants this customer holds as a meter owner (SPEC §12.3), oldest first, as last stored. */
  private grantList: readonly Grant[] = [];
  private lastSeq = 0;
  /** Every event up to this seq is in the D1 read model (SPEC §13.1); events are projected in seq order. */
  private projectedThrough = 0;
  private ready = false;
  private keysSincePrune = 0;
  /** Rows in `idempotency` (counted on first use); an upper bound between exact counts. */
  private keyCount: number | null = null;
  /** Set when a key was stored since `takeStoredKeys`: the alarm must be armed to prune it (SPEC §11). */
  private storedKeys = false;

  /**
   * @param deliverEvents whether events written now go to the webhook outbox (webhooks on); else `skipped`
   * @param onAppended called after events were appended (wakes the delivery alarm, arms retention)
   */
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly deliverEvents = false,
    private readonly onAppended: () => void = () => {},
  ) {
    // An object that was only ever asked about (an alternate ID tried as a canonical id) stays empty:
    // tables are created on the first write, never on a read.
    if (schemaExists(storage.sql)) {
      migrate(storage.sql);
      this.ready = true;
      this.load();
    }
  }

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /** The seq of the newest event written (0 when none). */
  get lastEventSeq(): number {
    return this.lastSeq;
  }

  private load(): void {
    this.meters.clear();
    this.holds.clear();
    const rec = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'record'").toArray()[0];
    this.record = rec === undefined ? null : (JSON.parse(rec.value) as CustomerRecord);
    for (const row of this.sql.exec<{ entitlement: string; state: string }>(
      "SELECT entitlement, state FROM meters",
    )) {
      this.meters.set(row.entitlement, JSON.parse(row.state) as MeterState);
    }
    for (const row of this.sql.exec<{ body: string }>("SELECT body FROM holds")) {
      const hold = JSON.parse(row.body) as Hold;
      this.holds.set(hold.id, hold);
    }
    this.grantList = this.sql
      .exec<{ body: string }>("SELECT body FROM grants ORDER BY created_at, id")
      .toArray()
      .map((row) => JSON.parse(row.body) as Grant);
    const seq = this.sql.exec<{ s: number | null }>("SELECT MAX(seq) AS s FROM events").one();
    this.lastSeq = seq.s ?? 0;
    const projected = this.sql
      .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'projected_through'")
      .toArray()[0];
    this.projectedThrough = projected === undefined ? 0 : Number(projected.value);
  }

  /** Run `fn` atomically, creating the schema first if this object has never been written. */
  transaction<T>(fn: () => T): T {
    if (!this.ready) {
      migrate(this.sql);
      this.ready = true;
    }
    try {
      return this.storage.transactionSync(fn);
    } catch (error) {
      // The write rolled back; the in-memory copies may hold part of it. The disk is the truth again.
      this.load();
      throw error;
    }
  }

  putRecord(record: CustomerRecord | null): void {
    this.record = record;
    if (record === null) this.sql.exec("DELETE FROM meta WHERE key = 'record'");
    else
      this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('record', ?)", JSON.stringify(record));
  }

  putMeter(entitlement: string, meter: MeterState): void {
    this.meters.set(entitlement, meter);
    this.sql.exec(
      "INSERT OR REPLACE INTO meters (entitlement, state) VALUES (?, ?)",
      entitlement,
      JSON.stringify(meter),
    );
  }

  putHold(hold: Hold): void {
    this.holds.set(hold.id, hold);
    this.sql.exec(
      "INSERT OR REPLACE INTO holds (id, expires_at, body) VALUES (?, ?, ?)",
      hold.id,
      hold.expiresAt,
      JSON.stringify(hold),
    );
  }

  /** The stored grants (lifecycle not applied: callers advance them to now). */
  get grants(): readonly Grant[] {
    return this.grantList;
  }

  /**
   * Store `grants` as the customer's whole set (call inside `transaction`): rows of grants no longer there are
   * deleted, changed ones rewritten, unchanged ones (the same object) left alone.
   */
  putGrants(grants: readonly Grant[]): void {
    const before = new Map(this.grantList.map((grant) => [grant.id, grant]));
    for (const grant of grants) {
      if (before.get(grant.id) !== grant) {
        this.sql.exec(
          "INSERT OR REPLACE INTO grants (id, created_at, body) VALUES (?, ?, ?)",
          grant.id,
          grant.createdAt,
          JSON.stringify(grant),
        );
      }
      before.delete(grant.id);
    }
    for (const id of before.keys()) this.sql.exec("DELETE FROM grants WHERE id = ?", id);
    this.grantList = [...grants].sort((a, b) =>
      a.createdAt !== b.createdAt ? a.createdAt - b.createdAt : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
  }

  /** Holds not yet expired (what the state export lists and `MAX_LIVE_HOLDS` bounds). */
  liveHoldCount(): number {
    let count = 0;
    for (const hold of this.holds.values()) if (!hold.expired) count += 1;
    return count;
  }

  deleteHold(id: string): void {
    this.holds.delete(id);
    this.sql.exec("DELETE FROM holds WHERE id = ?", id);
  }

  /** Whether this org has registered members (SPEC §11 "Integrity"). */
  hasMembers(): boolean {
    return this.ready && this.sql.exec("SELECT 1 FROM members LIMIT 1").toArray().length > 0;
  }

  hasMember(customer: string): boolean {
    return (
      this.ready && this.sql.exec("SELECT 1 FROM members WHERE customer = ?", customer).toArray().length > 0
    );
  }

  listMembers(): string[] {
    if (!this.ready) return [];
    return this.sql
      .exec<{ customer: string }>("SELECT customer FROM members ORDER BY customer")
      .toArray()
      .map((r) => r.customer);
  }

  putMember(customer: string): void {
    this.sql.exec("INSERT OR IGNORE INTO members (customer) VALUES (?)", customer);
  }

  deleteMember(customer: string): void {
    this.sql.exec("DELETE FROM members WHERE customer = ?", customer);
  }

  /**
   * Forget record, meters, holds and idempotency keys; the event log stays (it is the outbox), and so do the
   * members: their records still name this id, should it become an org again.
   */
  clearCustomer(): void {
    this.putRecord(null);
    this.meters.clear();
    this.holds.clear();
    this.sql.exec("DELETE FROM meters");
    this.sql.exec("DELETE FROM holds");
    this.sql.exec("DELETE FROM grants");
    this.grantList = [];
    this.sql.exec("DELETE FROM idempotency");
    this.keyCount = 0;
  }

  getIdempotency(customer: string, key: string, nowMs: number): IdempotencyEntry | null {
    if (!this.ready) return null;
    const row = this.sql
      .exec<{ fingerprint: string; response: string; created_at: number }>(
        "SELECT fingerprint, response, created_at FROM idempotency WHERE customer = ? AND key = ?",
        customer,
        key,
      )
      .toArray()[0];
    if (row === undefined || row.created_at + IDEMPOTENCY_TTL_MS <= nowMs) return null;
    return { fingerprint: row.fingerprint, response: row.response, createdAt: row.created_at };
  }

  putIdempotency(customer: string, key: string, fingerprint: string, response: string, nowMs: number): void {
    // Keys are also pruned here, not only by the hold alarm: a customer that never reserves has no alarm.
    this.keysSincePrune += 1;
    if (this.keysSincePrune >= PRUNE_EVERY_KEYS) {
      this.keysSincePrune = 0;
      this.pruneIdempotency(nowMs);
    }
    this.sql.exec(
      "INSERT OR REPLACE INTO idempotency (customer, key, fingerprint, response, created_at) VALUES (?, ?, ?, ?, ?)",
      customer,
      key,
      fingerprint,
      response,
      nowMs,
    );
    this.storedKeys = true;
    this.capIdempotency();
  }

  /** Never more than `MAX_IDEMPOTENCY_KEYS` keys: past that, the oldest go (call inside `transaction`). */
  private capIdempotency(): void {
    // A replaced row is counted as new, so the count only ever overestimates; past the bound it is made exact.
    this.keyCount = (this.keyCount ?? this.countKeys() - 1) + 1;
    if (this.keyCount <= MAX_IDEMPOTENCY_KEYS) return;
    const excess = this.countKeys() - MAX_IDEMPOTENCY_KEYS;
    if (excess > 0) {
      this.sql.exec(
        "DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency ORDER BY created_at, rowid LIMIT ?)",
        excess,
      );
    }
    this.keyCount = this.countKeys();
  }

  private countKeys(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM idempotency").one().n;
  }

  /** Whether a key was stored since the last call (and forget that it was). */
  takeStoredKeys(): boolean {
    const stored = this.storedKeys;
    this.storedKeys = false;
    return stored;
  }

  /** When the oldest stored idempotency key turns 24 h old, or null when none is stored. */
  nextKeyExpiryMs(): number | null {
    if (!this.ready) return null;
    const row = this.sql.exec<{ at: number | null }>("SELECT MIN(created_at) AS at FROM idempotency").one();
    return row.at === null ? null : row.at + IDEMPOTENCY_TTL_MS;
  }

  /**
   * Append events with gap-free seq numbers (call inside `transaction`): `pending` in the outbox when webhooks
   * are on, else `skipped` (settled now, so retention can prune them). Pruning is the alarm's (`pruneEvents`).
   */
  appendEvents(events: DomainEvent[], customer: string, meteredOn: string, nowMs: number): StoredEvent[] {
    const at = new Date(nowMs).toISOString();
    const stored: StoredEvent[] = [];
    for (const e of events) {
      const event: StoredEvent = {
        id: newEventId(),
        seq: ++this.lastSeq,
        type: e.type,
        at,
        customer,
        meteredOn,
        ...(e.entitlement === undefined ? {} : { entitlement: e.entitlement }),
        data: e.data,
      };
      this.sql.exec(
        "INSERT INTO events (seq, id, type, at, body, status, settled_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        event.seq,
        event.id,
        event.type,
        at,
        JSON.stringify(event),
        this.deliverEvents ? "pending" : "skipped",
        this.deliverEvents ? null : nowMs,
      );
      stored.push(event);
    }
    if (events.length > 0) this.onAppended();
    return stored;
  }

  /** The oldest pending event (one in flight per customer, in seq order). */
  nextPending(): PendingEvent | null {
    if (!this.ready) return null;
    const row = this.sql
      .exec<{
        seq: number;
        id: string;
        body: string;
        attempts: number;
        next_attempt_at: number | null;
        first_attempt_at: number | null;
      }>(
        "SELECT seq, id, body, attempts, next_attempt_at, first_attempt_at FROM events WHERE status = 'pending' ORDER BY seq LIMIT 1",
      )
      .toArray()[0];
    if (row === undefined) return null;
    return {
      seq: row.seq,
      id: row.id,
      body: row.body,
      attempts: row.attempts,
      nextAttemptAt: row.next_attempt_at,
      firstAttemptAt: row.first_attempt_at,
    };
  }

  /** Record one delivery attempt of a pending event, begun at `startedAtMs`. */
  recordAttempt(seq: number, startedAtMs: number, outcome: AttemptOutcome): void {
    const error = outcome.kind === "delivered" ? null : outcome.error.slice(0, 500);
    const status = outcome.kind === "retry" ? "pending" : outcome.kind;
    this.sql.exec(
      `UPDATE events SET status = ?, attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, ?),
         delivered_at = ?, next_attempt_at = ?, last_error = ?, settled_at = ?
       WHERE seq = ? AND status = 'pending'`,
      status,
      startedAtMs,
      outcome.kind === "delivered" ? outcome.atMs : null,
      outcome.kind === "retry" ? outcome.nextAttemptAt : null,
      error,
      outcome.kind === "retry" ? null : outcome.atMs,
      seq,
    );
  }

  /** One event with its delivery state, or null when there is no such event (never written, or pruned). */
  getEvent(seq: number): ListedEvent | null {
    if (!this.ready) return null;
    const row = this.sql
      .exec<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq = ?`, seq)
      .toArray()[0];
    return row === undefined ? null : listed(row, this.projectedThrough);
  }

  /**
   * Queue a settled event again (redelivery): `pending`, due at `nowMs`, a fresh count of attempts and a
   * fresh retry horizon. It keeps its id and seq, so receivers de-duplicate.
   */
  requeueEvent(seq: number, nowMs: number): void {
    this.sql.exec(
      `UPDATE events SET status = 'pending', attempts = 0, first_attempt_at = NULL, delivered_at = NULL,
         next_attempt_at = ?, last_error = NULL, settled_at = NULL
       WHERE seq = ?`,
      nowMs,
      seq,
    );
  }

  /**
   * Retention (SPEC §7): delete settled events that settled at least 30 days ago and are not among the last
   * 1,000 of this log. A pending event is never deleted; with `keepUnprojected` (the read model is on), an
   * event not yet in the read model is never deleted either.
   */
  pruneEvents(nowMs: number, keepUnprojected = false): void {
    if (!this.ready) return;
    // By the settle-time index: the work is what goes (plus at most the last 1,000), not the whole log.
    const through = this.lastSeq - EVENTS_KEPT;
    this.sql.exec(
      "DELETE FROM events INDEXED BY events_settled WHERE status <> 'pending' AND settled_at <= ? AND seq <= ?",
      nowMs - EVENT_RETENTION_MS,
      keepUnprojected ? Math.min(through, this.projectedThrough) : through,
    );
  }

  /** The oldest events not yet in the read model, in seq order, at most `limit` (SPEC §13.1). */
  unprojectedEvents(limit: number): UnprojectedEvent[] {
    if (!this.ready) return [];
    return this.sql
      .exec<{ seq: number; body: string }>(
        "SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
        this.projectedThrough,
        limit,
      )
      .toArray();
  }

  /** The newest seq the read model has (`meta.projected_through`). */
  get projectedThroughSeq(): number {
    return this.projectedThrough;
  }

  /** Whether some event is not yet in the read model. */
  hasUnprojected(): boolean {
    return this.ready && this.lastSeq > this.projectedThrough;
  }

  /**
   * The read model has every event up to `throughSeq` (call inside `transaction`, after it committed the batch
   * `unprojectedEvents` read): events are projected in seq order, so this one watermark marks them all.
   */
  markProjected(throughSeq: number): void {
    this.sql.exec("UPDATE meta SET value = ? WHERE key = 'projected_through'", String(throughSeq));
    this.projectedThrough = throughSeq;
  }

  /** When the oldest settled event beyond the last 1,000 may be pruned, or null when none is beyond them. */
  nextPruneAtMs(): number | null {
    if (!this.ready) return null;
    // Oldest first along the settle-time index: the first row beyond the last 1,000 ends the walk.
    const row = this.sql
      .exec<{ t: number }>(
        "SELECT settled_at AS t FROM events INDEXED BY events_settled WHERE status <> 'pending' AND seq <= ? ORDER BY settled_at LIMIT 1",
        this.lastSeq - EVENTS_KEPT,
      )
      .toArray()[0];
    return row === undefined ? null : row.t + EVENT_RETENTION_MS;
  }

  /** Events after `after`, oldest first. */
  listEvents(after: number, limit: number): { events: ListedEvent[]; more: boolean } {
    if (!this.ready) return { events: [], more: false };
    const rows = this.sql
      .exec<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`,
        after,
        limit + 1,
      )
      .toArray();
    const projected = this.projectedThrough;
    return { events: rows.slice(0, limit).map((row) => listed(row, projected)), more: rows.length > limit };
  }

  /** Drop idempotency keys older than 24 h. */
  pruneIdempotency(nowMs: number): void {
    if (!this.ready) return;
    this.sql.exec("DELETE FROM idempotency WHERE created_at <= ?", nowMs - IDEMPOTENCY_TTL_MS);
    this.keyCount = null;
  }
}

function listed(row: EventRow, projectedThrough: number): ListedEvent {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const delivery: EventDelivery = {
    status: row.status,
    attempts: row.attempts,
    deliveredAt: iso(row.delivered_at),
    nextAttemptAt: iso(row.next_attempt_at),
    lastError: row.last_error,
  };
  return { ...(JSON.parse(row.body) as StoredEvent), delivery, projected: row.seq <= projectedThrough };
}

/** Two hex digits per byte value, built once per isolate. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
const idBytes = new Uint8Array(12);

/** `evt_` and 24 random hex digits (96 bits), without an array per id. */
function newEventId(): string {
  crypto.getRandomValues(idBytes);
  let id = "evt_";
  for (const b of idBytes) id += HEX[b];
  return id;
}
