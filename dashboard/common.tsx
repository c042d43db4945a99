/** Small pieces every view uses: an error in the API's words, a list of issues at their paths. */
import type { ComponentChildren } from "preact";
import type { ApiFailure } from "./api";

export function ErrorBox({ error }: { error: ApiFailure | undefined }) {
  if (error === undefined) return null;
  return (
    <div class="error" role="alert" data-testid="error">
      <strong>{error.code}</strong> {error.message}
      {error.issues.length > 0 && <Issues issues={error.issues} />}
    </div>
  );
}

export function Issues({ issues }: { issues: { path: string; message: string }[] }) {
  return (
    <ul class="issues" data-testid="issues">
      {issues.map((issue) => (
        <li key={`${issue.path}:${issue.message}`} data-path={issue.path}>
          <code class="issue-path">{issue.path === "" ? "(document)" : issue.path}</code>{" "}
          <span class="issue-message">{issue.message}</span>
        </li>
      ))}
    </ul>
  );
}

export function Section({
  title,
  children,
  testid,
}: {
  title: string;
  children: ComponentChildren;
  testid?: string;
}) {
  return (
    <section class="panel" data-testid={testid}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
