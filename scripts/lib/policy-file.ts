/** Reading and validating a policy file with the Worker's own validator (so a CLI and the gate agree). */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { type ValidationResult, validatePolicyText } from "../../src/policy/load";

export interface PolicyFile {
  text: string;
  /** `application/json` for `.json` files, else `application/yaml` (YAML also reads JSON). */
  contentType: string;
}

/** Read a policy file; throws a readable error when it cannot be read. */
export async function readPolicyFile(path: string): Promise<PolicyFile> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${path}: ${error.code ?? error.message}`);
  });
  const contentType = extname(path).toLowerCase() === ".json" ? "application/json" : "application/yaml";
  return { text, contentType };
}

/** Validate a policy file exactly as `PUT /v1/policy` does. */
export async function validatePolicyFile(path: string): Promise<ValidationResult> {
  const { text, contentType } = await readPolicyFile(path);
  return validatePolicyText(text, contentType);
}

/** One line per issue, `path: message` (`(root)` for the document itself). */
export function formatIssues(issues: { path: string; message: string }[]): string[] {
  return issues.map((issue) => `${issue.path === "" ? "(root)" : issue.path}: ${issue.message}`);
}
