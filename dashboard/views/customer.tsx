/**
 * One customer (SPEC §5.2, §12): its record, meters as bars, holds, balances and grants, recent events, and a
 * plan change.
 */
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { ApiFailure, call, enc } from "../api";
import { Empty, ErrorBox, Section } from "../common";
import { amount, time } from "../format";
import { customerHref } from "../router";
import type { CustomerState, CustomerView, Grant } from "../types";
import { useApi } from "../use-api";
import { EventsPanel } from "./events";
import { MeterBar } from "./meter-bar";

function PlanForm({
  customer,
  plans,
  onChanged,
}: {
  customer: CustomerView;
  plans: string[];
  onChanged: () => void;
}) {
  const [plan, setPlan] = useState(customer.plan ?? "");
  const [keepUsage, setKeepUsage] = useState(true);
  const [failure, setFailure] = useState<ApiFailure>();
  const [done, setDone] = useState<string>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setFailure(undefined);
    setDone(undefined);
    try {
      const view = await call<CustomerView>("PUT", `/v1/customers/${enc(customer.id)}/plan`, {
        body: { plan, keepUsage },
      });
      setDone(`Plan is now ${view.plan ?? "none"} (effective: ${view.effectivePlan ?? "none"}).`);
      onChanged();
    } catch (error) {
      if (error instanceof ApiFailure) setFailure(error);
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} data-testid="plan-form">
      <label>
        Plan{" "}
        <select name="plan" value={plan} onChange={(event) => setPlan(event.currentTarget.value)}>
          {plan === "" && <option value="">choose…</option>}
          {plans.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label>
        <input
          type="checkbox"
          checked={keepUsage}
          onChange={(event) => setKeepUsage(event.currentTarget.checked)}
        />{" "}
        keep usage
      </label>
      <button type="submit" disabled={plan === ""}>
        Change plan
      </button>
      {done !== undefined && (
        <span class="ok" role="status">
          {done}
        </span>
      )}
      <ErrorBox error={failure} />
    </form>
  );
}

function GrantsTable({ grants }: { grants: Grant[] }) {
  if (grants.length === 0) return <Empty>No grants.</Empty>;
  return (
    <table class="grid" data-testid="grants">
      <thead>
        <tr>
          <th>grant</th>
          <th>top-up</th>
          <th>credit</th>
          <th>balance</th>
          <th>of</th>
          <th>expires</th>
          <th>resets</th>
          <th>included</th>
        </tr>
      </thead>
      <tbody>
        {grants.map((grant) => (
          <tr key={grant.id} data-grant={grant.id}>
            <td>
              <code>{grant.id}</code>
            </td>
            <td>{grant.topup}</td>
            <td>{grant.credit}</td>
            <td data-field="balance">{amount(grant.balance)}</td>
            <td>{amount(grant.startingValue)}</td>
            <td>{time(grant.expiresAt)}</td>
            <td>{grant.resets ? `${grant.resetMode}, next ${time(grant.nextResetAt)}` : "no"}</td>
            <td>{grant.included ? "yes" : "no"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function CustomerDetail({ id, plans }: { id: string; plans: string[] }) {
  const view = useApi(() => call<CustomerView>("GET", `/v1/customers/${enc(id)}`), [id]);
  const state = useApi(() => call<CustomerState>("GET", `/v1/customers/${enc(id)}/state`), [id]);
  const grants = useApi(() => call<{ grants: Grant[] }>("GET", `/v1/customers/${enc(id)}/grants`), [id]);
  const reload = () => {
    view.reload();
    state.reload();
    grants.reload();
  };
  const customer = view.data;
  const meters = Object.entries(customer?.meters ?? {});
  const balances = Object.entries(customer?.balances ?? {});
  const holds = state.data?.holds ?? [];
  return (
    <div data-testid="customer-view">
      <p>
        <a href="#/customers">← Customers</a>
      </p>
      <h1>
        {customer?.label ?? id} <code class="muted">{customer?.id ?? id}</code>
      </h1>
      <ErrorBox error={view.error} />
      {customer !== undefined && (
        <>
          <dl class="facts">
            <dt>type</dt>
            <dd>{customer.type}</dd>
            <dt>plan</dt>
            <dd data-field="plan">{customer.plan ?? "—"}</dd>
            <dt>effective plan</dt>
            <dd data-field="effectivePlan">{customer.effectivePlan ?? "—"}</dd>
            <dt>org</dt>
            <dd>{customer.org === null ? "—" : <a href={customerHref(customer.org)}>{customer.org}</a>}</dd>
            <dt>alternate IDs</dt>
            <dd>{customer.alternateIds.length === 0 ? "—" : customer.alternateIds.join(", ")}</dd>
            <dt>created</dt>
            <dd>{time(customer.createdAt)}</dd>
            <dt>updated</dt>
            <dd>{time(customer.updatedAt)}</dd>
          </dl>
          <PlanForm
            key={`${customer.id}:${customer.plan}`}
            customer={customer}
            plans={plans}
            onChanged={reload}
          />
          <Section title="Meters" testid="meters">
            {meters.length === 0 ? (
              <Empty>No limited entitlement is metered on this customer.</Empty>
            ) : (
              meters.map(([name, meter]) => <MeterBar key={name} name={name} meter={meter} />)
            )}
          </Section>
          <Section title="Holds" testid="holds">
            <ErrorBox error={state.error} />
            {holds.length === 0 ? (
              <Empty>No open holds.</Empty>
            ) : (
              <table class="grid">
                <thead>
                  <tr>
                    <th>hold</th>
                    <th>entitlement</th>
                    <th>amount</th>
                    <th>created</th>
                    <th>expires</th>
                  </tr>
                </thead>
                <tbody>
                  {holds.map((hold) => (
                    <tr key={hold.id} data-hold={hold.id}>
                      <td>
                        <code>{hold.id}</code>
                      </td>
                      <td>{hold.entitlement}</td>
                      <td data-field="amount">{amount(hold.amount)}</td>
                      <td>{time(hold.createdAt)}</td>
                      <td>{hold.expired ? "expired" : time(hold.expiresAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
          <Section title="Balances and grants" testid="balances">
            {balances.length === 0 ? (
              <Empty>No balance.</Empty>
            ) : (
              <dl class="facts" data-testid="balance-list">
                {balances.map(([credit, value]) => (
                  <Fragment key={credit}>
                    <dt>{credit}</dt>
                    <dd data-credit={credit}>{amount(value)}</dd>
                  </Fragment>
                ))}
              </dl>
            )}
            <ErrorBox error={grants.error} />
            <GrantsTable grants={grants.data?.grants ?? []} />
          </Section>
        </>
      )}
      <EventsPanel id={id} />
    </div>
  );
}
