/**
 * `gateway.passthrough` (SPEC §6): paths outside a door's endpoints that the policy opens, each
 * `"METHOD glob"` (`"GET files"`, `"POST audio/*"`). The glob is matched against the canonical path after
 * the door's prefix, whole, case-sensitive; `*` is any run of characters (`/` included), `?` one.
 */
import type { CompiledPassthrough } from "../domain/types";
import { globToRegExp } from "./glob";
import type { IssueList } from "./issues";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const MAX_RULES = 100;
const RULE = /^([A-Z]+) (\S{1,256})$/;

/** Why `glob` can never match a canonical path (SPEC §11 "Gateway paths"), or null when it is fine. */
function globProblem(glob: string): string | null {
  if (glob.startsWith("/")) return "write the path without a leading /: relative to the door (e.g. files)";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a canonical path has none, so a glob must not
  if (/[%\\\u0000-\u001f\u007f]/.test(glob)) return "a path may not contain %, \\ or control characters";
  const bad = glob.split("/").some((segment) => segment === "" || segment === "." || segment === "..");
  return bad ? "a path may not have empty, . or .. segments" : null;
}

/**
 * Check and compile the entries; each problem is reported at `gateway.passthrough.<index>`. An entry that is
 * not a string is skipped here (the schema reports it), so its neighbours are still checked.
 */
export function compilePassthrough(rules: readonly unknown[], issues: IssueList): CompiledPassthrough[] {
  if (rules.length > MAX_RULES) issues.add(["gateway", "passthrough"], `at most ${MAX_RULES} entries`);
  const compiled: CompiledPassthrough[] = [];
  rules.forEach((rule, index) => {
    if (typeof rule !== "string") return;
    const path = ["gateway", "passthrough", index];
    const match = RULE.exec(rule);
    const method = match?.[1];
    const glob = match?.[2];
    if (method === undefined || glob === undefined) {
      issues.add(path, `expected "METHOD path" (e.g. "GET files" or "POST audio/*"), got "${rule}"`);
      return;
    }
    if (!METHODS.includes(method)) {
      issues.add(path, `unknown method "${method}" (one of ${METHODS.join(", ")})`);
      return;
    }
    const problem = globProblem(glob);
    if (problem !== null) issues.add(path, problem);
    else compiled.push({ rule, method, regex: globToRegExp(glob) });
  });
  return compiled;
}
