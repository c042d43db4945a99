/**
 * `npm run policy -- validate FILE` and `npm run policy -- push FILE [--local|--remote] [--url URL] [--if-match V]`.
 * Validation is the Worker's own (src/policy/load.ts). A push is `PUT /v1/policy` on a running gate, so it
 * goes through the gate's one policy writer (SPEC §11 "Integrity") like every other write: pushes and API
 * writes are serialised, and `--if-match` / `--if-none-match` are a compare-and-set.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { createClient, errorCode } from "./lib/client";
import { formatIssues, readPolicyFile, validatePolicyFile } from "./lib/policy-file";
import { ROOT } from "./lib/wrangler";

const LOCAL_URL = "http://localhost:8787";

const USAGE = `Usage:
  npm run policy -- validate FILE
  npm run policy -- push FILE [--local | --remote] [--url URL] [--if-match VERSION | --if-none-match]

validate  checks a policy file (YAML, or JSON for *.json) as PUT /v1/policy would; prints its version.
push      validates, then PUTs it to a running gate's /v1/policy, which makes it active (the gate's policy
          writer serialises every write, so a push never races an API write).
          --local (default): the gate \`npm run dev\` runs, at --url (default ${LOCAL_URL}); the token is
            TOLLGATE_TOKEN, else ADMIN_TOKEN from .dev.vars. It applies at once.
          --remote: a deployed gate, at --url https://<your-worker> (or TOLLGATE_URL), with TOLLGATE_TOKEN
            (its ADMIN_TOKEN secret). Every isolate picks it up within POLICY_CACHE_SECONDS plus KV
            propagation (up to 60 s).
          --if-match VERSION: only if VERSION is the active policy (412 otherwise);
          --if-none-match: only if no policy is active yet.
`;

class UsageError extends Error {}

interface PushOptions {
  file: string;
  target: "--local" | "--remote";
  url: string | undefined;
  headers: Record<string, string>;
}

function parsePushArgs(args: string[]): PushOptions {
  let file: string | undefined;
  let target: PushOptions["target"] | undefined;
  let url: string | undefined;
  const headers: Record<string, string> = {};
  const optionValue = (arg: string, i: number): [string, number] => {
    if (arg.includes("=")) return [arg.slice(arg.indexOf("=") + 1), i];
    const value = args[i + 1];
    if (value === undefined || value === "") throw new UsageError(`${arg} needs a value`);
    return [value, i + 1];
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--local" || arg === "--remote") {
      if (target !== undefined && target !== arg) throw new UsageError("use either --local or --remote");
      target = arg;
    } else if (arg === "--url" || arg.startsWith("--url=")) {
      [url, i] = optionValue(arg, i);
    } else if (arg === "--if-match" || arg.startsWith("--if-match=")) {
      let version: string;
      [version, i] = optionValue(arg, i);
      headers["If-Match"] = version === "*" ? "*" : `"${version}"`;
    } else if (arg === "--if-none-match") {
      headers["If-None-Match"] = "*";
    } else if (arg === "--persist-to" || arg.startsWith("--persist-to=")) {
      throw new UsageError(
        "push goes through the running server now: start it with `npm run dev -- --persist-to DIR` and pass its --url",
      );
    } else if (arg.startsWith("-") || file !== undefined) {
      throw new UsageError(`unexpected argument "${arg}"`);
    } else {
      file = arg;
    }
  }
  if (file === undefined) throw new UsageError("push needs a FILE");
  if (headers["If-Match"] !== undefined && headers["If-None-Match"] !== undefined) {
    throw new UsageError("use either --if-match or --if-none-match");
  }
  return { file, target: target ?? "--local", url, headers };
}

/** Validate a file; print its issues and return null when it is invalid. */
async function validateOrReport(file: string) {
  const result = await validatePolicyFile(file);
  if (result.ok) return result;
  console.error(
    `${file}: invalid policy (${result.issues.length} issue${result.issues.length === 1 ? "" : "s"})`,
  );
  for (const line of formatIssues(result.issues)) console.error(`  ${line}`);
  return null;
}

/** ADMIN_TOKEN from .dev.vars (what `npm run dev` uses), if the file has one. */
async function devVarsToken(): Promise<string | undefined> {
  const text = await readFile(join(ROOT, ".dev.vars"), "utf8").catch(() => "");
  const token = parseEnv(text).ADMIN_TOKEN;
  return token === undefined || token === "" ? undefined : token;
}

/** Where to push and with which token. */
async function gateOf(options: PushOptions): Promise<{ url: string; token: string }> {
  const envToken = process.env.TOLLGATE_TOKEN;
  if (options.target === "--remote") {
    const url = options.url ?? process.env.TOLLGATE_URL;
    if (url === undefined || url === "") throw new UsageError("--remote needs --url URL (or TOLLGATE_URL)");
    if (envToken === undefined || envToken === "") {
      throw new UsageError("--remote needs TOLLGATE_TOKEN (the deployed gate's ADMIN_TOKEN)");
    }
    return { url: url.replace(/\/$/, ""), token: envToken };
  }
  const token = envToken || (await devVarsToken());
  if (token === undefined) throw new UsageError("no token: set TOLLGATE_TOKEN or run `npm run dev` once");
  return { url: (options.url ?? LOCAL_URL).replace(/\/$/, ""), token };
}

async function push(options: PushOptions): Promise<number> {
  const result = await validateOrReport(options.file);
  if (result === null) return 1;
  const { url, token } = await gateOf(options);
  const api = createClient(url, token);
  const { text, contentType } = await readPolicyFile(options.file);
  let before: unknown;
  try {
    before = (await api("GET", "/v1/policy")).body.version;
  } catch (error) {
    console.error(`error: cannot reach ${url}: ${(error as Error).message}`);
    if (options.target === "--local") console.error("  is `npm run dev` running? (--url for another port)");
    return 1;
  }
  const put = await api("PUT", "/v1/policy", { text, contentType }, options.headers);
  if (put.status !== 200) {
    const code = errorCode(put.body);
    const error = put.body.error as { message?: string; details?: unknown } | undefined;
    console.error(
      `${options.file}: PUT ${url}/v1/policy answered ${put.status} ${code ?? ""}: ${error?.message ?? ""}` +
        (error?.details === undefined ? "" : ` ${JSON.stringify(error.details)}`),
    );
    return 1;
  }
  const version = String(put.body.version);
  if (before === version) {
    // As PUT /v1/policy: putting the active policy again changes nothing, not even updatedAt.
    console.log(`${options.file}: version ${version} is already active at ${url}; nothing changed`);
  } else {
    const was = typeof before === "string" ? ` (was ${before})` : "";
    console.log(`${options.file}: version ${version} is now active at ${url}${was}`);
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === "validate") {
    const [file, ...extra] = rest;
    if (file === undefined || extra.length > 0) throw new UsageError("validate takes exactly one FILE");
    const result = await validateOrReport(file);
    if (result === null) return 1;
    console.log(`OK ${file}: version ${result.policy.version}`);
    return 0;
  }
  if (command === "push") return push(parsePushArgs(rest));
  throw new UsageError(`unknown command "${command}"`);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`error: ${error.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else {
    console.error(`error: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
