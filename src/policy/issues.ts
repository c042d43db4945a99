/** Policy validation issues: a dotted path relative to the policy root and a plain message. */
import type { z } from "zod";

/** One problem in a policy document. `path` is dotted (`plans.free.entitlements.storage.limit.credit`). */
export interface PolicyIssue {
  path: string;
  message: string;
}

export type Path = readonly (string | number)[];

export interface Parsed<T> {
  value: T;
  /** False when fields had to be cut out to parse it: checks may go on, but it must not be compiled. */
  clean: boolean;
}

/** Collects issues while a document is walked, so a caller sees all of them, not just the first. */
export class IssueList {
  readonly items: PolicyIssue[] = [];

  add(path: Path, message: string): void {
    this.items.push({ path: path.join("."), message });
  }

  get empty(): boolean {
    return this.items.length === 0;
  }

  /**
   * Parse one node, recording its issues under `path`. When it fails, the fields at fault are cut out and
   * the rest parsed again, so the compiler can still check what is left (an unknown key must not hide an
   * unknown credit beside it). `clean` is false for such a salvaged value; undefined when nothing is left.
   */
  parse<S extends z.ZodType>(schema: S, input: unknown, path: Path): Parsed<z.output<S>> | undefined {
    const result = schema.safeParse(input, { reportInput: true });
    if (result.success) return { value: result.data, clean: true };
    for (const issue of result.error.issues) this.addZodIssue(issue, path);
    const retry = schema.safeParse(withoutFaults(input, result.error.issues));
    return retry.success ? { value: retry.data, clean: false } : undefined;
  }

  private addZodIssue(issue: z.core.$ZodIssue, prefix: Path): void {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))];
    if (issue.code === "unrecognized_keys") {
      // One issue per key, at the key's own path: that is where the user has to look.
      for (const key of issue.keys) this.add([...path, key], `unknown key "${key}" (${issue.message})`);
      return;
    }
    this.add(path, describeZodIssue(issue));
  }
}

const NOUNS: Record<string, string> = {
  number: "a number",
  int: "a whole number",
  string: "a string",
  boolean: "true or false",
  object: "an object (a mapping of keys)",
  record: "an object (a mapping of names)",
  array: "a list",
};

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  return String(value);
}

function describeZodIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type": {
      const expected = NOUNS[issue.expected] ?? issue.expected;
      if (issue.input === undefined) return `required: expected ${expected}`;
      return `expected ${expected}, got ${describeValue(issue.input)}`;
    }
    case "too_small":
      if (issue.origin === "string") return "must not be empty";
      return `must be ${issue.inclusive ? "≥" : ">"} ${String(issue.minimum)}, got ${describeValue(issue.input)}`;
    case "too_big":
      return `must be ${issue.inclusive ? "≤" : "<"} ${String(issue.maximum)}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describeValue(issue.input)}`;
    default:
      // A custom message (amount and duration unions) says what is expected; say that it is missing too.
      return "input" in issue && issue.input === undefined ? `required: ${issue.message}` : issue.message;
  }
}

/**
 * A copy of `input` without the fields the issues point at: an unknown key itself; otherwise the field
 * named by the path, or the whole list when the path runs into one. A missing required field stays
 * missing, so the retry fails there and the node is given up.
 */
function withoutFaults(input: unknown, issues: readonly z.core.$ZodIssue[]): unknown {
  const copy = structuredClone(input);
  for (const issue of issues) {
    const path =
      issue.code === "unrecognized_keys" ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
    for (const fieldPath of path) cutOut(copy, fieldPath);
  }
  return copy;
}

function cutOut(root: unknown, path: readonly PropertyKey[]): void {
  let parent: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    if (typeof parent !== "object" || parent === null || Array.isArray(parent) || typeof key !== "string")
      return;
    const record = parent as Record<string, unknown>;
    const next = path[i + 1];
    // The last key, or the key of a list the path runs into: remove the whole field.
    if (next === undefined || typeof next === "number" || Array.isArray(record[key])) {
      delete record[key];
      return;
    }
    parent = record[key];
  }
}
