/**
 * `GET /v1/customers` from the read model (SPEC §13.1): live customers ordered by id, filtered by type, own
 * plan and org, `q` a prefix of the id, the label or an alternate ID, in pages with an opaque cursor (the
 * last id of the page). Every value is a bound parameter; the SQL text is fixed.
 */
import { fail, type Result } from "../errors/catalogue";
import type { CustomerListQuery, ListedCustomer } from "./types";

// GLOB is case-sensitive (a prefix is exact) and, unlike LIKE, leaves `%` and `_` alone; `q` is escaped below.
const LIST_CUSTOMERS = `SELECT id, type, plan, org, label, created_at, updated_at FROM customers
  WHERE deleted = 0
    AND (?1 IS NULL OR type = ?1)
    AND (?2 IS NULL OR plan = ?2)
    AND (?3 IS NULL OR org = ?3)
    AND (?4 IS NULL OR id > ?4)
    AND (?5 IS NULL OR id GLOB ?5 OR label GLOB ?5
      OR id IN (SELECT customer FROM customer_alternate_ids WHERE alternate_id GLOB ?5))
  ORDER BY id
  LIMIT ?6`;

type CustomerRow = {
  id: string;
  type: string;
  plan: string | null;
  org: string | null;
  label: string | null;
  created_at: number;
  updated_at: number;
};

/** A page of customers and the cursor of the next page (null on the last). */
export async function listCustomers(
  db: D1Database,
  query: CustomerListQuery,
): Promise<Result<{ customers: ListedCustomer[]; next: string | null }>> {
  let after: string | null = null;
  if (query.cursor !== undefined) {
    after = decodeCursor(query.cursor);
    if (after === null) {
      return fail("invalid_request", "cursor is not one this API returned", {
        issues: [{ path: "cursor", message: "not a cursor from a previous page" }],
      });
    }
  }
  const { results } = await db
    .prepare(LIST_CUSTOMERS)
    .bind(
      query.type ?? null,
      query.plan ?? null,
      query.org ?? null,
      after,
      query.q === undefined ? null : `${globEscape(query.q)}*`,
      query.limit + 1,
    )
    .all<CustomerRow>();
  const page = results.slice(0, query.limit);
  const last = page.at(-1);
  return {
    ok: true,
    value: {
      customers: page.map(listed),
      next: results.length > query.limit && last !== undefined ? encodeCursor(last.id) : null,
    },
  };
}

function listed(row: CustomerRow): ListedCustomer {
  return {
    id: row.id,
    type: row.type,
    plan: row.plan,
    org: row.org,
    label: row.label,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** `*`, `?` and `[` are GLOB's wildcards; each stands for itself inside brackets. */
function globEscape(text: string): string {
  return text.replace(/[*?[]/g, (c) => `[${c}]`);
}

const CURSOR_PREFIX = "c1.";

/** The cursor of a page ending at `id`: opaque to clients (base64url of the id, versioned). */
function encodeCursor(id: string): string {
  const bytes = new TextEncoder().encode(id);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return CURSOR_PREFIX + btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The id a cursor names, or null when it is not one `encodeCursor` made. */
function decodeCursor(cursor: string): string | null {
  if (!cursor.startsWith(CURSOR_PREFIX)) return null;
  const body = cursor.slice(CURSOR_PREFIX.length);
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(body)) return null;
  try {
    const binary = atob(body.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const id = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    return id.length >= 1 && id.length <= 256 && encodeCursor(id) === cursor ? id : null;
  } catch {
    return null;
  }
}
