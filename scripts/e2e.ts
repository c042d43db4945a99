/**
 * `npm run e2e`: the README's promise on a fresh checkout. Starts `npm run dev` on a free port with a
 * temporary state directory, drives the seed example (SPEC §3, issue 3) over real HTTP, restarts on the
 * same directory and checks nothing was lost, then checks a fresh directory starts empty with the default
 * policy. Each check is a step below; append new ones (a gateway call, a webhook) to STEPS.
 *
 * Options: --verbose streams the servers' output (it is printed on failure anyway).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApiClient, Json } from "./lib/client";
import { type DevServer, killDevServer, startDevServer, stopDevServer } from "./lib/dev-server";
import { randomToken } from "./lib/dev-vars";
import { CheckFailed, expectEqual, expectMatch, expectStatus } from "./lib/expect";
import { freePort } from "./lib/net";
import { runNpm } from "./lib/npm";
import { readPolicyFile, validatePolicyFile } from "./lib/policy-file";
import { ROOT } from "./lib/wrangler";

const VERBOSE = process.argv.includes("--verbose");
const FIRST_START_TIMEOUT_MS = 120_000; // a cold wrangler on two shared cores
const START_TIMEOUT_MS = 90_000;
const DEFAULT_POLICY = join(ROOT, "policies", "default.yaml");
const SEED_POLICY = join(ROOT, "policies", "examples", "seed-example.yaml");

/** What the steps share. */
interface Context {
  token: string;
  port: number;
  /** The persistence directory of the first server, reused across the restart. */
  stateDir: string;
  /** Every temporary directory made, removed at the end. */
  tempDirs: string[];
  /** Every server started, killed at the end if still running. */
  servers: DevServer[];
  server: DevServer | undefined;
  versions: { default: string; seed: string };
  /** Views and policy taken before the restart. */
  snapshot: Snapshot | undefined;
}

interface Snapshot {
  user: Json;
  userByAlternateId: Json;
  org: Json;
  policy: Json;
}

interface Step {
  name: string;
  /** Returns an optional detail for the step's line. */
  run: (ctx: Context) => Promise<string | undefined>;
}

function api(ctx: Context): ApiClient {
  if (ctx.server === undefined || ctx.server.exitCode !== null)
    throw new CheckFailed("no dev server is running");
  return ctx.server.api;
}

async function makeTempDir(ctx: Context, label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `tollgate-e2e-${label}-`));
  ctx.tempDirs.push(dir);
  return dir;
}

async function start(ctx: Context, persistTo: string, timeoutMs: number): Promise<string> {
  const startedMs = Date.now();
  ctx.server = await startDevServer({
    port: ctx.port,
    persistTo,
    token: ctx.token,
    timeoutMs,
    echo: VERBOSE,
    onSpawn: (server) => ctx.servers.push(server),
  });
  return `port ${ctx.port}, ready in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`;
}

async function stop(ctx: Context): Promise<string> {
  if (ctx.server === undefined) return "not running";
  const startedMs = Date.now();
  const code = await stopDevServer(ctx.server);
  return `stopped by SIGINT in ${((Date.now() - startedMs) / 1000).toFixed(1)} s (exit ${code})`;
}

const consume = (ctx: Context, body: Json) => api(ctx)("POST", "/v1/consume", body);

async function consumeOk(ctx: Context, what: string, body: Json, expected: Json): Promise<Json> {
  const decision = expectStatus(what, await consume(ctx, body), 200);
  expectMatch(what, decision, expected);
  return decision;
}

async function takeSnapshot(ctx: Context): Promise<Snapshot> {
  const get = async (path: string) => expectStatus(`GET ${path}`, await api(ctx)("GET", path), 200);
  return {
    user: await get("/v1/customers/free_user"),
    userByAlternateId: await get("/v1/customers/cus_stripe_123"),
    org: await get("/v1/customers/acme"),
    policy: await get("/v1/policy"),
  };
}

const STEPS: Step[] = [
  {
    name: "start npm run dev on a fresh state directory",
    run: async (ctx) => start(ctx, ctx.stateDir, FIRST_START_TIMEOUT_MS),
  },
  {
    name: "an empty KV gets policies/default.yaml",
    run: async (ctx) => {
      const policy = expectStatus("GET /v1/policy", await api(ctx)("GET", "/v1/policy"), 200);
      expectMatch("GET /v1/policy", policy, { version: ctx.versions.default });
      return `version ${ctx.versions.default}`;
    },
  },
  {
    name: "PUT the seed policy (YAML)",
    run: async (ctx) => {
      const policy = await readPolicyFile(SEED_POLICY);
      const put = await api(ctx)("PUT", "/v1/policy", { text: policy.text, contentType: "application/yaml" });
      expectMatch("PUT /v1/policy", expectStatus("PUT /v1/policy", put, 200), { version: ctx.versions.seed });
      return `version ${ctx.versions.seed}`;
    },
  },
  {
    name: "create org acme (free) and user free_user (org acme, alternate ID cus_stripe_123)",
    run: async (ctx) => {
      const org = await api(ctx)("PUT", "/v1/customers/acme", { type: "org", plan: "free" });
      expectMatch("PUT /v1/customers/acme", expectStatus("PUT /v1/customers/acme", org, 200), {
        id: "acme",
        type: "org",
        plan: "free",
        effectivePlan: "free",
      });
      const user = await api(ctx)("PUT", "/v1/customers/free_user", {
        org: "acme",
        alternateIds: ["cus_stripe_123"],
      });
      expectMatch("PUT /v1/customers/free_user", expectStatus("PUT /v1/customers/free_user", user, 200), {
        id: "free_user",
        org: "acme",
        plan: null,
        effectivePlan: "free",
        alternateIds: ["cus_stripe_123"],
      });
      return undefined;
    },
  },
  {
    name: "seats: 3 consumed through the user on the org, the 4th denied",
    run: async (ctx) => {
      for (let seat = 1; seat <= 3; seat++) {
        await consumeOk(
          ctx,
          `seat ${seat}`,
          { customer: "free_user", entitlement: "seats" },
          { allowed: true, customer: "free_user", meteredOn: "acme", used: seat, limit: 3 },
        );
      }
      await consumeOk(
        ctx,
        "seat 4",
        { customer: "free_user", entitlement: "seats" },
        { allowed: false, reason: "limit_exceeded", meteredOn: "acme", used: 3, limit: 3 },
      );
      return undefined;
    },
  },
  {
    name: "davinci_tokens via cus_stripe_123: 300 allowed, then 201 denied",
    run: async (ctx) => {
      await consumeOk(
        ctx,
        "300 tokens",
        { customer: "cus_stripe_123", entitlement: "davinci_tokens", amount: 300 },
        { allowed: true, customer: "free_user", meteredOn: "free_user", used: 300, limit: 500 },
      );
      await consumeOk(
        ctx,
        "201 more tokens",
        { customer: "cus_stripe_123", entitlement: "davinci_tokens", amount: 201 },
        {
          allowed: false,
          outcome: "denied",
          reason: "limit_exceeded",
          message: "davinci_tokens: 300 of 500 token used, 201 requested",
          customer: "free_user",
          meteredOn: "free_user",
          plan: "free",
          amount: 201,
          used: 300,
          limit: 500,
          remaining: 200,
          policyVersion: ctx.versions.seed,
        },
      );
      return undefined;
    },
  },
  {
    name: 'storage "20MB" is 20 MB',
    run: async (ctx) => {
      await consumeOk(
        ctx,
        "20MB",
        { customer: "free_user", entitlement: "storage", amount: "20MB" },
        { allowed: true, unit: "MB", amount: 20, used: 20, limit: 1000 },
      );
      return undefined;
    },
  },
  {
    name: "org upgraded to pro: 201 more tokens allowed, usage kept",
    run: async (ctx) => {
      const plan = await api(ctx)("PUT", "/v1/customers/acme/plan", { plan: "pro" });
      expectMatch("PUT /v1/customers/acme/plan", expectStatus("PUT /v1/customers/acme/plan", plan, 200), {
        plan: "pro",
        effectivePlan: "pro",
      });
      await consumeOk(
        ctx,
        "201 tokens on pro",
        { customer: "cus_stripe_123", entitlement: "davinci_tokens", amount: 201 },
        { allowed: true, customer: "free_user", plan: "pro", used: 501, limit: 100000 },
      );
      ctx.snapshot = await takeSnapshot(ctx);
      expectMatch("free_user view", ctx.snapshot.user, {
        effectivePlan: "pro",
        meters: { davinci_tokens: { used: 501, limit: 100000 }, storage: { used: 20, unit: "MB" } },
      });
      expectMatch("acme view", ctx.snapshot.org, { meters: { seats: { used: 3, limit: 25 } } });
      return undefined;
    },
  },
  {
    name: "restart on the same state directory and port",
    run: async (ctx) => `${await stop(ctx)}; ${await start(ctx, ctx.stateDir, START_TIMEOUT_MS)}`,
  },
  {
    name: "nothing lost: customer views, meters and the policy are identical",
    run: async (ctx) => {
      const before = ctx.snapshot;
      if (before === undefined) throw new CheckFailed("no snapshot was taken before the restart");
      const after = await takeSnapshot(ctx);
      expectEqual("free_user before and after the restart", after.user, before.user);
      expectEqual(
        "cus_stripe_123 before and after the restart",
        after.userByAlternateId,
        before.userByAlternateId,
      );
      expectEqual("acme before and after the restart", after.org, before.org);
      // Same version and same updatedAt: npm run dev did not put the default policy over the seed policy.
      expectMatch("GET /v1/policy after the restart", after.policy, {
        version: before.policy.version,
        updatedAt: before.policy.updatedAt,
      });
      // The meters are live, not just readable: the org's seat meter goes on from 3.
      await consumeOk(
        ctx,
        "a seat after the restart",
        { customer: "free_user", entitlement: "seats" },
        { allowed: true, meteredOn: "acme", plan: "pro", used: 4, limit: 25 },
      );
      return `policy ${String(after.policy.version)} kept`;
    },
  },
  {
    name: "a fresh state directory starts with no customers and the default policy",
    run: async (ctx) => {
      const stopped = await stop(ctx);
      await start(ctx, await makeTempDir(ctx, "fresh"), START_TIMEOUT_MS);
      expectStatus(
        "GET /v1/customers/free_user",
        await api(ctx)("GET", "/v1/customers/free_user"),
        404,
        "customer_not_found",
      );
      const policy = expectStatus("GET /v1/policy", await api(ctx)("GET", "/v1/policy"), 200);
      expectMatch("GET /v1/policy on a fresh directory", policy, { version: ctx.versions.default });
      return stopped;
    },
  },
  {
    name: "npm run policy -- push --local writes a policy the running server uses at once",
    run: async (ctx) => {
      const persistTo = ctx.server?.persistTo ?? "";
      // The CLI itself, through npm as an operator runs it, against the running server's directory.
      const push = await runNpm([
        "run",
        "-s",
        "policy",
        "--",
        "push",
        SEED_POLICY,
        "--local",
        "--persist-to",
        persistTo,
      ]);
      if (push.code !== 0) throw new CheckFailed(`policy push exited ${push.code}:\n${push.output}`);
      const policy = expectStatus("GET /v1/policy", await api(ctx)("GET", "/v1/policy"), 200);
      expectMatch("GET /v1/policy after the push", policy, { version: ctx.versions.seed });
      return push.output.trim().split("\n").at(-1);
    },
  },
  {
    name: "stop",
    run: async (ctx) => stop(ctx),
  },
];

async function versionOf(path: string): Promise<string> {
  const result = await validatePolicyFile(path);
  if (!result.ok) throw new CheckFailed(`${path} is invalid: ${JSON.stringify(result.issues)}`);
  return result.policy.version;
}

async function cleanUp(ctx: Context): Promise<void> {
  for (const server of ctx.servers) {
    if (server.exitCode === null) {
      await stopDevServer(server, 10_000).catch(() => killDevServer(server));
    }
  }
  await Promise.all(ctx.tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

async function main(): Promise<number> {
  const ctx: Context = {
    token: randomToken(),
    port: await freePort(),
    stateDir: "",
    tempDirs: [],
    servers: [],
    server: undefined,
    versions: { default: await versionOf(DEFAULT_POLICY), seed: await versionOf(SEED_POLICY) },
    snapshot: undefined,
  };
  // Ctrl+C on this script never reaches the servers (their own process groups): clean up, then exit.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`\n[e2e] ${signal}: stopping servers`);
      void cleanUp(ctx).finally(() => process.exit(130));
    });
  }
  process.once("exit", () => {
    for (const server of ctx.servers) if (server.exitCode === null) killDevServer(server);
  });

  const startedMs = Date.now();
  let failed: { step: Step; error: Error } | undefined;
  try {
    ctx.stateDir = await makeTempDir(ctx, "state");
    for (const [index, step] of STEPS.entries()) {
      const stepStartedMs = Date.now();
      const label = `[e2e] ${String(index + 1).padStart(2)}/${STEPS.length} ${step.name}`;
      try {
        const detail = await step.run(ctx);
        const seconds = ((Date.now() - stepStartedMs) / 1000).toFixed(1);
        console.log(`${label}: ok (${seconds} s)${detail ? ` - ${detail}` : ""}`);
      } catch (error) {
        console.log(`${label}: FAILED`);
        failed = { step, error: error as Error };
        break;
      }
    }
  } finally {
    if (failed !== undefined) {
      const { error } = failed;
      console.error(
        `\n[e2e] ${error instanceof CheckFailed ? error.message : (error.stack ?? error.message)}`,
      );
      // The last server started, even one that never became ready.
      const last = ctx.servers.at(-1);
      const output = last?.output ?? [];
      if (!VERBOSE && output.length > 0) {
        console.error(`\n[e2e] last lines of npm run dev (${last?.persistTo}):`);
        for (const line of output.slice(-60)) console.error(`    | ${line}`);
      }
    }
    await cleanUp(ctx);
  }
  const seconds = ((Date.now() - startedMs) / 1000).toFixed(1);
  console.log(
    failed === undefined
      ? `[e2e] all ${STEPS.length} steps passed in ${seconds} s`
      : `[e2e] FAILED at "${failed.step.name}" after ${seconds} s`,
  );
  return failed === undefined ? 0 : 1;
}

process.exitCode = await main();
