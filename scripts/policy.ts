/**
 * `npm run policy -- validate FILE` and `npm run policy -- push FILE [--local|--remote] [--persist-to DIR]`.
 * Validation is the Worker's own (src/policy/load.ts); push writes exactly what src/policy/store.ts reads:
 * the immutable document `policy:<version>` first, then the pointer `policy:active`.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ACTIVE_KEY,
  documentKey,
  LAST_GOOD_KEY,
  type PolicyPointer,
  type StoredPolicy,
} from "../src/policy/store";
import { formatIssues, validatePolicyFile } from "./lib/policy-file";
import { runWrangler } from "./lib/wrangler";

const USAGE = `Usage:
  npm run policy -- validate FILE
  npm run policy -- push FILE [--local | --remote] [--persist-to DIR]

validate  checks a policy file (YAML, or JSON for *.json) as PUT /v1/policy would; prints its version.
push      validates, then stores it in the POLICIES KV namespace and makes it active.
          --local (default) writes the local KV that \`npm run dev\` uses (.wrangler/state, or
          --persist-to DIR to match \`npm run dev -- --persist-to DIR\`); it applies at once.
          --remote writes the namespace whose id is in wrangler.toml (needs \`wrangler login\` or
          CLOUDFLARE_API_TOKEN); deployed gates pick it up within seconds (POLICY_CACHE_SECONDS) and
          KV propagation (up to 60 s).
`;

class UsageError extends Error {}

interface PushOptions {
  file: string;
  target: "--local" | "--remote";
  persistTo: string | undefined;
}

function parsePushArgs(args: string[]): PushOptions {
  let file: string | undefined;
  let target: PushOptions["target"] | undefined;
  let persistTo: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--local" || arg === "--remote") {
      if (target !== undefined && target !== arg) throw new UsageError("use either --local or --remote");
      target = arg;
    } else if (arg === "--persist-to" || arg.startsWith("--persist-to=")) {
      persistTo = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : args[++i];
      if (persistTo === undefined || persistTo === "") throw new UsageError("--persist-to needs a directory");
    } else if (arg.startsWith("-") || file !== undefined) {
      throw new UsageError(`unexpected argument "${arg}"`);
    } else {
      file = arg;
    }
  }
  if (file === undefined) throw new UsageError("push needs a FILE");
  if (target === "--remote" && persistTo !== undefined) {
    throw new UsageError("--persist-to applies to --local only");
  }
  return { file, target: target ?? "--local", persistTo };
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

/** Wrangler arguments that select the namespace and the storage, shared by get and put. */
function storageArgs({ target, persistTo }: PushOptions): string[] {
  return ["--binding", "POLICIES", target, ...(persistTo === undefined ? [] : ["--persist-to", persistTo])];
}

/** The active pointer in that KV, or null when there is none (wrangler prints "Value not found"). */
async function readPointer(options: PushOptions): Promise<PolicyPointer | null> {
  const result = await runWrangler(["kv", "key", "get", ACTIVE_KEY, "--text", ...storageArgs(options)]);
  if (result.code !== 0) throw new Error(`wrangler kv key get failed:\n${result.stderr || result.stdout}`);
  const lastLine = result.stdout.trim().split("\n").at(-1) ?? "";
  try {
    const pointer = JSON.parse(lastLine) as PolicyPointer;
    return typeof pointer?.version === "string" ? pointer : null;
  } catch {
    return null;
  }
}

/** Write one key; the value goes through a file (`--path`) so no size limit of a command line applies. */
async function putKey(key: string, value: string, options: PushOptions, dir: string): Promise<void> {
  const path = join(dir, "value.json");
  await writeFile(path, value);
  const result = await runWrangler(["kv", "key", "put", key, "--path", path, ...storageArgs(options)]);
  if (result.code !== 0)
    throw new Error(`wrangler kv key put ${key} failed:\n${result.stderr || result.stdout}`);
}

async function push(options: PushOptions): Promise<number> {
  const result = await validateOrReport(options.file);
  if (result === null) return 1;
  const { version } = result.policy;
  const where =
    options.target === "--remote" ? "remote KV" : `local KV (${options.persistTo ?? ".wrangler/state"})`;

  const current = await readPointer(options);
  if (current?.version === version) {
    // As PUT /v1/policy: putting the active policy again changes nothing, not even updatedAt.
    console.log(`${options.file}: version ${version} is already active in the ${where}; nothing written`);
    return 0;
  }
  const updatedAt = new Date().toISOString();
  const stored: StoredPolicy = { version, updatedAt, document: result.document };
  const pointer: PolicyPointer = { version, updatedAt };
  const dir = await mkdtemp(join(tmpdir(), "tollgate-policy-"));
  try {
    // Document first, pointer second: the pointer only ever names a stored, validated version.
    await putKey(documentKey(version), JSON.stringify(stored), options, dir);
    await putKey(ACTIVE_KEY, JSON.stringify(pointer), options, dir);
    // The fallback a fresh isolate uses if the active pointer ever names a broken document (as the route does).
    await putKey(LAST_GOOD_KEY, JSON.stringify(pointer), options, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    `${options.file}: version ${version} is now active in the ${where}` +
      (current === null ? "" : ` (was ${current.version})`),
  );
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
