/**
 * The policy (SPEC §5.1): the active version, and an editor that validates (`POST /v1/policy/validate`) and
 * pushes (`PUT /v1/policy` with `If-Match`, so a policy changed meanwhile is not overwritten) a new one, each
 * issue shown at its path.
 */
import { useState } from "preact/hooks";
import { ApiFailure, call } from "../api";
import { ErrorBox, Issues, Section } from "../common";
import { time } from "../format";
import type { PolicyView } from "../types";

/** JSON is sent as JSON; anything else as YAML (the API reads both). */
function policyText(content: string): { content: string; type: string } {
  try {
    JSON.parse(content);
    return { content, type: "application/json" };
  } catch {
    return { content, type: "application/yaml" };
  }
}

type Outcome =
  | { kind: "valid"; version: string }
  | { kind: "invalid"; issues: { path: string; message: string }[] }
  | { kind: "failed"; error: ApiFailure };

export function PolicyEditor({
  active,
  onPushed,
}: {
  active: PolicyView | undefined;
  onPushed: (version: string) => void;
}) {
  const [text, setText] = useState(() =>
    active === undefined ? "" : JSON.stringify(active.policy, null, 2),
  );
  const [outcome, setOutcome] = useState<Outcome>();
  const [busy, setBusy] = useState(false);
  const run = async (push: boolean) => {
    setBusy(true);
    setOutcome(undefined);
    try {
      if (push) {
        const headers: Record<string, string> =
          active === undefined ? { "If-None-Match": "*" } : { "If-Match": active.version };
        const { version } = await call<{ version: string }>("PUT", "/v1/policy", {
          text: policyText(text),
          headers,
        });
        // The page reloads the active policy and remounts this editor on it; it says what was pushed.
        onPushed(version);
      } else {
        const { version } = await call<{ version: string }>("POST", "/v1/policy/validate", {
          text: policyText(text),
        });
        setOutcome({ kind: "valid", version });
      }
    } catch (error) {
      if (!(error instanceof ApiFailure)) throw error;
      setOutcome(
        error.code === "invalid_policy"
          ? { kind: "invalid", issues: error.issues }
          : { kind: "failed", error },
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Edit" testid="policy-editor">
      <p class="muted">
        JSON or YAML. Validate checks it without storing it; Push makes it active if the active version is
        still the one shown.
      </p>
      <textarea
        name="policy"
        spellcheck={false}
        rows={24}
        value={text}
        onInput={(event) => setText(event.currentTarget.value)}
        aria-label="Policy document"
      />
      <div class="toolbar">
        <button type="button" disabled={busy} onClick={() => run(false)}>
          Validate
        </button>
        <button type="button" disabled={busy} onClick={() => run(true)}>
          Push
        </button>
      </div>
      <div data-testid="policy-outcome">
        {outcome?.kind === "valid" && (
          <p class="ok" role="status">
            Valid: version <code>{outcome.version}</code>
          </p>
        )}
        {outcome?.kind === "invalid" && (
          <div class="error" role="alert">
            <strong>invalid_policy</strong> {outcome.issues.length} issue
            {outcome.issues.length === 1 ? "" : "s"}
            <Issues issues={outcome.issues} />
          </div>
        )}
        {outcome?.kind === "failed" && <ErrorBox error={outcome.error} />}
      </div>
    </Section>
  );
}

export function PolicyPage({
  active,
  error,
  onPushed,
}: {
  active: PolicyView | undefined;
  error: ApiFailure | undefined;
  onPushed: () => void;
}) {
  const [pushed, setPushed] = useState<string>();
  return (
    <div data-testid="policy-view">
      <h1>Policy</h1>
      <ErrorBox error={error} />
      {pushed !== undefined && (
        <p class="ok" role="status" data-testid="policy-pushed">
          Active now: version <code>{pushed}</code>
        </p>
      )}
      {active !== undefined && (
        <dl class="facts">
          <dt>active version</dt>
          <dd data-field="version">
            <code>{active.version}</code>
          </dd>
          <dt>updated</dt>
          <dd>{time(active.updatedAt)}</dd>
          <dt>plans</dt>
          <dd>
            {Object.keys((active.policy.plans as Record<string, unknown> | undefined) ?? {}).join(", ")}
          </dd>
        </dl>
      )}
      <PolicyEditor
        key={active?.version ?? "none"}
        active={active}
        onPushed={(version) => {
          setPushed(version);
          onPushed();
        }}
      />
    </div>
  );
}
