/**
 * `npm run dev [-- --port P --persist-to DIR --var NAME:VALUE …]` (SPEC §1): `wrangler dev` with a local
 * admin token, an instant policy cache, `policies/default.yaml` put into the local KV before it serves
 * whenever that KV has no policy, and the read model's D1 migrations applied before it serves.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { join, resolve } from "node:path";
import type { ValidationResult } from "../src/policy/load";
import { createClient, errorCode } from "./lib/client";
import { parseDevArgs, UsageError } from "./lib/dev-args";
import { ensureDevVars } from "./lib/dev-vars";
import { applyLocalMigrations } from "./lib/local-d1";
import { hasLocalPolicy, seedLocalPolicy } from "./lib/local-kv";
import { firstFreePort, isPortFree, waitForHealth } from "./lib/net";
import { formatIssues, validatePolicyFile } from "./lib/policy-file";
import { ROOT, wranglerEntry, wranglerEnv } from "./lib/wrangler";

const USAGE = `Usage: npm run dev [-- options]

Starts the gate locally with wrangler dev and loads policies/default.yaml when the local KV has no policy.

  --port P             port to listen on (default: 8787, or the next free one)
  --persist-to DIR     local state directory (default: wrangler's .wrangler/state)
  --var NAME:VALUE     a variable for the Worker; overrides .dev.vars (repeatable)
  -h, --help           this help

Any other option is passed to wrangler dev unchanged (e.g. --ip, --log-level, --inspector-port).
`;

const DEFAULT_PORT = 8787;
const PORTS_TO_PROBE = 10;
const STARTUP_TIMEOUT_MS = 120_000;
const DEFAULT_POLICY = join(ROOT, "policies", "default.yaml");

const log = (line: string): void => console.log(`[tollgate] ${line}`);
const warn = (line: string): void => console.warn(`[tollgate] warning: ${line}`);

/** Host to probe and to call: wrangler listens on localhost (IPv4) unless --ip says otherwise. */
function localHost(ip: string | undefined): { probe: string; url: string } {
  if (ip === undefined || ip === "localhost" || ip === "0.0.0.0" || ip === "*") {
    return { probe: "127.0.0.1", url: "localhost" };
  }
  if (ip === "::") return { probe: "::1", url: "[::1]" };
  return { probe: ip, url: ip.includes(":") ? `[${ip}]` : ip };
}

/**
 * Put policies/default.yaml into the local KV when it holds no policy, BEFORE the server starts: a policy
 * anyone writes once the server answers can then never be replaced by this seeding (SPEC §1, §11).
 */
async function seedBeforeServing(
  persistTo: string | undefined,
  defaultPolicy: ValidationResult,
): Promise<{ seeded: boolean; problem?: string }> {
  try {
    if (await hasLocalPolicy(persistTo)) return { seeded: false };
    if (!defaultPolicy.ok) return { seeded: false, problem: "policies/default.yaml is invalid; see above" };
    await seedLocalPolicy(persistTo, {
      version: defaultPolicy.policy.version,
      document: defaultPolicy.document,
    });
    return { seeded: true };
  } catch (error) {
    return { seeded: false, problem: (error as Error).message };
  }
}

/** One line describing the policy in force once the server answers, and whether it is the default. */
async function describePolicy(
  baseUrl: string,
  token: string | undefined,
  defaultVersion: string | undefined,
  seeding: { seeded: boolean; problem?: string },
): Promise<{ summary: string; isDefault: boolean }> {
  if (token === undefined) {
    return { summary: "unknown: no ADMIN_TOKEN, so /v1 answers 503 not_configured", isDefault: false };
  }
  const current = await createClient(baseUrl, token)("GET", "/v1/policy");
  if (current.status !== 200) {
    const code = errorCode(current.body);
    const why = seeding.problem === undefined ? "" : ` (not seeded: ${seeding.problem})`;
    return {
      summary: `none: GET /v1/policy answered ${current.status} ${code ?? ""}${why}`,
      isDefault: false,
    };
  }
  const version = String(current.body.version);
  const isDefault = version === defaultVersion;
  if (seeding.seeded && isDefault)
    return { summary: `${version} (policies/default.yaml, just loaded)`, isDefault };
  const note = isDefault ? "policies/default.yaml" : "not policies/default.yaml";
  return { summary: `${version} (already in the local KV; ${note})`, isDefault };
}

/** The start banner: the only place the admin token is ever printed. */
function printBanner(options: {
  baseUrl: string;
  stateDir: string;
  token: string | undefined;
  tokenSource: string;
  policy: { summary: string; isDefault: boolean };
}): void {
  const { baseUrl, token, policy } = options;
  const auth = '-H "Authorization: Bearer $TOLLGATE_TOKEN"';
  const json = '-H "Content-Type: application/json"';
  const lines = [
    "",
    `Tollgate is running on ${baseUrl}   (state: ${options.stateDir})`,
    `  policy:       ${policy.summary}`,
    `  API docs:     ${baseUrl}/docs`,
  ];
  if (token === undefined) {
    lines.push("  admin token:  none; set ADMIN_TOKEN in .dev.vars or pass --var ADMIN_TOKEN:…");
  } else {
    lines.push(
      `  admin token (${options.tokenSource}):`,
      `    export TOLLGATE_TOKEN=${token}`,
      "  try:",
      `    curl ${auth} ${baseUrl}/v1/policy`,
    );
    if (policy.isDefault) {
      lines.push(
        `    curl -X PUT ${auth} ${json} -d '{"label":"Demo user"}' ${baseUrl}/v1/customers/demo`,
        `    curl -X POST ${auth} ${json} -d '{"customer":"demo","entitlement":"api_requests"}' ${baseUrl}/v1/consume`,
      );
    }
  }
  console.log(lines.map((line) => (line === "" ? "" : `[tollgate] ${line}`)).join("\n"));
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal === null ? 1 : 128 + (constants.signals[signal] ?? 0);
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parseDevArgs>;
  try {
    args = parseDevArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }

  const devVarsPath = join(ROOT, ".dev.vars");
  const hadDotEnv = existsSync(join(ROOT, ".env"));
  const devVars = await ensureDevVars(devVarsPath);
  if (devVars.change === "created") {
    log("created .dev.vars (git-ignored) with a random ADMIN_TOKEN");
    if (hadDotEnv)
      warn("wrangler reads .dev.vars instead of .env now that it exists; move your values there");
  } else if (devVars.change === "appended-token") {
    log("added a random ADMIN_TOKEN to .dev.vars (it had none)");
  }

  const vars = new Map(args.vars);
  // A policy written to KV by `npm run policy -- push` must apply at once locally (SPEC §5.1).
  if (!vars.has("POLICY_CACHE_SECONDS") && devVars.vars.POLICY_CACHE_SECONDS === undefined) {
    vars.set("POLICY_CACHE_SECONDS", "0");
  }
  const token = vars.get("ADMIN_TOKEN") ?? devVars.vars.ADMIN_TOKEN;
  const tokenSource = vars.has("ADMIN_TOKEN") ? "from --var ADMIN_TOKEN" : "from .dev.vars";

  const host = localHost(args.ip);
  let port = args.port;
  if (port === undefined) {
    port = (await firstFreePort(DEFAULT_PORT, PORTS_TO_PROBE, host.probe)) ?? undefined;
    if (port === undefined) {
      console.error(
        `error: ports ${DEFAULT_PORT}-${DEFAULT_PORT + PORTS_TO_PROBE - 1} are all in use; pass --port`,
      );
      process.exit(1);
    }
  } else if (!(await isPortFree(port, host.probe))) {
    // Checked here so the seeding below can never talk to some other server on that port.
    console.error(`error: port ${port} is already in use (another \`npm run dev\`?); pass another --port`);
    process.exit(1);
  }

  const defaultPolicy = await validatePolicyFile(DEFAULT_POLICY);
  if (!defaultPolicy.ok) {
    warn("policies/default.yaml is invalid and will not be loaded:");
    for (const line of formatIssues(defaultPolicy.issues)) console.warn(`  ${line}`);
  }

  const seeding = await seedBeforeServing(args.persistTo, defaultPolicy);
  if (seeding.problem !== undefined) warn(`policies/default.yaml was not loaded: ${seeding.problem}`);
  else if (seeding.seeded) log("loaded policies/default.yaml into the local KV (it held no policy)");

  try {
    await applyLocalMigrations(args.persistTo);
  } catch (error) {
    warn(
      `the read model's migrations were not applied (GET /v1/customers, /v1/usage will fail): ${(error as Error).message}`,
    );
  }

  const wranglerArgs = ["dev", ...args.passthrough, "--port", String(port)];
  if (args.persistTo !== undefined) wranglerArgs.push("--persist-to", args.persistTo);
  for (const [name, value] of vars) wranglerArgs.push("--var", `${name}:${value}`);

  const child: ChildProcess = spawn(process.execPath, [wranglerEntry(), ...wranglerArgs], {
    cwd: ROOT,
    env: wranglerEnv(),
    stdio: "inherit",
  });
  let exited = false;
  child.on("error", (error) => {
    console.error(`error: cannot start wrangler: ${error.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    exited = true;
    process.exit(exitCodeOf(code, signal));
  });
  // Ctrl+C in a terminal already reaches wrangler (same process group); forwarding covers `kill <pid>` of
  // this script. wrangler shuts down the same way on one signal or several.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (!exited) child.kill(signal);
    });
  }

  const baseUrl = `http://${host.url}:${port}`;
  try {
    await waitForHealth(baseUrl, {
      timeoutMs: STARTUP_TIMEOUT_MS,
      abortReason: () => (exited ? "wrangler exited" : undefined),
    });
    const policy = await describePolicy(
      baseUrl,
      token,
      defaultPolicy.ok ? defaultPolicy.policy.version : undefined,
      seeding,
    );
    const stateDir = args.persistTo === undefined ? ".wrangler/state" : resolve(args.persistTo);
    printBanner({ baseUrl, stateDir, token, tokenSource, policy });
  } catch (error) {
    if (!exited) warn(`${(error as Error).message}; the policy in force was not checked`);
  }
}

await main();
