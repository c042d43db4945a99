/** The customer list (SPEC §13.1 `GET /v1/customers`): prefix search, filters, pages by cursor. */
import { useState } from "preact/hooks";
import { call, query } from "../api";
import { ErrorBox } from "../common";
import { time } from "../format";
import { customerHref } from "../router";
import type { CustomerPage } from "../types";
import { useApi } from "../use-api";

const PAGE_SIZE = 25;

interface Filters {
  q: string;
  type: string;
  plan: string;
  org: string;
}

export function CustomersView({ plans }: { plans: string[] }) {
  const [draft, setDraft] = useState<Filters>({ q: "", type: "", plan: "", org: "" });
  const [filters, setFilters] = useState<Filters>(draft);
  // The cursors of the pages before this one, and this page's cursor (undefined: the first page).
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useApi(
    () => call<CustomerPage>("GET", `/v1/customers${query({ ...filters, cursor, limit: PAGE_SIZE })}`),
    [filters, cursor],
  );
  const apply = (event: Event) => {
    event.preventDefault();
    setFilters(draft);
    setCursors([undefined]);
  };
  const field = (name: keyof Filters) => (event: Event) =>
    setDraft({ ...draft, [name]: (event.currentTarget as HTMLInputElement).value });

  return (
    <div data-testid="customers-view">
      <h1>Customers</h1>
      <form class="filters" onSubmit={apply}>
        <label>
          Search{" "}
          <input
            name="q"
            type="search"
            placeholder="id, label or alternate ID prefix"
            value={draft.q}
            onInput={field("q")}
          />
        </label>
        <label>
          Type <input name="type" value={draft.type} onInput={field("type")} placeholder="any" />
        </label>
        <label>
          Plan{" "}
          <select name="plan" value={draft.plan} onChange={field("plan")}>
            <option value="">any</option>
            {plans.map((plan) => (
              <option key={plan} value={plan}>
                {plan}
              </option>
            ))}
          </select>
        </label>
        <label>
          Org <input name="org" value={draft.org} onInput={field("org")} placeholder="any" />
        </label>
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={page.error} />
      <table class="grid" data-testid="customer-table">
        <thead>
          <tr>
            <th>id</th>
            <th>label</th>
            <th>type</th>
            <th>plan</th>
            <th>org</th>
            <th>updated</th>
          </tr>
        </thead>
        <tbody>
          {(page.data?.customers ?? []).map((customer) => (
            <tr key={customer.id} data-customer={customer.id}>
              <td>
                <a href={customerHref(customer.id)}>{customer.id}</a>
              </td>
              <td>{customer.label ?? ""}</td>
              <td>{customer.type}</td>
              <td>{customer.plan ?? "—"}</td>
              <td>{customer.org === null ? "—" : <a href={customerHref(customer.org)}>{customer.org}</a>}</td>
              <td>{time(customer.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.data !== undefined && page.data.customers.length === 0 && (
        <p class="empty">No customer matches.</p>
      )}
      <nav class="pager">
        <button
          type="button"
          disabled={cursors.length === 1}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          Previous
        </button>
        <span data-testid="page-number">page {cursors.length}</span>
        <button
          type="button"
          disabled={!page.data?.next}
          onClick={() => page.data?.next && setCursors([...cursors, page.data.next])}
        >
          Next
        </button>
      </nav>
    </div>
  );
}
