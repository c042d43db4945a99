/**
 * The operator's dashboard (SPEC §13.2), served at /dashboard as a static asset. It asks for the admin token once
 * per tab (sessionStorage) and talks only to this origin's /v1 API.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiFailure, call, token, whenUnauthorized } from "./api";
import { useRoute } from "./router";
import type { PolicyView } from "./types";
import { useApi } from "./use-api";
import { CustomerDetail } from "./views/customer";
import { CustomersView } from "./views/customers";
import { PolicyPage } from "./views/policy";
import { UsageView } from "./views/usage";

/** The plan names of a policy document (which may sit under a top-level `policy:` key, SPEC §2). */
function planNames(policy: PolicyView | undefined): string[] {
  if (policy === undefined) return [];
  const document = (policy.policy.policy as Record<string, unknown> | undefined) ?? policy.policy;
  return Object.keys((document.plans as Record<string, unknown> | undefined) ?? {}).sort();
}

function SignIn({ notice, onSignedIn }: { notice: string | undefined; onSignedIn: () => void }) {
  const [value, setValue] = useState("");
  const [failure, setFailure] = useState<string>();
  const submit = async (event: Event) => {
    event.preventDefault();
    token.set(value.trim());
    try {
      await call("GET", "/healthz");
      await call("GET", "/v1/policy").catch((error: unknown) => {
        // Only a wrong token stops the sign-in; anything else (no policy yet, …) shows in the views.
        if (error instanceof ApiFailure && error.status === 401) throw error;
      });
      onSignedIn();
    } catch (error) {
      token.clear();
      setFailure(error instanceof ApiFailure ? `${error.code}: ${error.message}` : String(error));
    }
  };
  return (
    <main class="signin">
      <h1>Tollgate</h1>
      <form onSubmit={submit} data-testid="signin">
        <label>
          Admin token
          <input
            name="token"
            type="password"
            autocomplete="off"
            value={value}
            onInput={(event) => setValue(event.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={value.trim() === ""}>
          Open the dashboard
        </button>
        <p class="muted">Kept in this tab only (sessionStorage), sent only to this origin.</p>
        {(failure ?? notice) !== undefined && (
          <p class="error" role="alert">
            {failure ?? notice}
          </p>
        )}
      </form>
    </main>
  );
}

function Dashboard({ onSignOut }: { onSignOut: () => void }) {
  const route = useRoute();
  const policy = useApi(() => call<PolicyView>("GET", "/v1/policy"), []);
  const plans = planNames(policy.data);
  const tab = (view: string, label: string, href: string) => (
    <a
      href={href}
      class={route.view === view || (view === "customers" && route.view === "customer") ? "active" : ""}
    >
      {label}
    </a>
  );
  return (
    <>
      <header class="top">
        <strong class="brand">Tollgate</strong>
        <nav>
          {tab("customers", "Customers", "#/customers")}
          {tab("usage", "Usage", "#/usage")}
          {tab("policy", "Policy", "#/policy")}
          <a href="/docs">API docs</a>
        </nav>
        <span class="muted policy-version">
          policy {policy.data === undefined ? "—" : <code>{policy.data.version.slice(0, 12)}</code>}
        </span>
        <button type="button" class="link" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main>
        {route.view === "customers" && <CustomersView plans={plans} />}
        {route.view === "customer" && <CustomerDetail key={route.id} id={route.id} plans={plans} />}
        {route.view === "policy" && (
          <PolicyPage active={policy.data} error={policy.error} onPushed={policy.reload} />
        )}
        {route.view === "usage" && <UsageView />}
      </main>
    </>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(() => token.get() !== null);
  const [notice, setNotice] = useState<string>();
  useEffect(() => {
    whenUnauthorized(() => {
      token.clear();
      setNotice("The admin token was refused (401); enter it again.");
      setSignedIn(false);
    });
  }, []);
  if (!signedIn)
    return (
      <SignIn
        notice={notice}
        onSignedIn={() => {
          setNotice(undefined);
          setSignedIn(true);
        }}
      />
    );
  return (
    <Dashboard
      onSignOut={() => {
        token.clear();
        setSignedIn(false);
      }}
    />
  );
}

const root = document.getElementById("app");
if (root !== null) {
  root.textContent = "";
  render(<App />, root);
}
