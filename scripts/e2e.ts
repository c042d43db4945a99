/**
 * `npm run e2e`: the README's promise on a fresh checkout. Starts `npm run dev` on a free port with a
 * temporary state directory, drives the seed example (SPEC §3, issue 3) over real HTTP, restarts on the
 * same directory and checks nothing was lost, then checks a fresh directory starts empty with the default
 * policy, and on it drives the gateway with the official `openai` and `@anthropic-ai/sdk` clients (SPEC §6,
 * issues 4 and 11) and waits for one
 * signed webhook (SPEC §7, issue 5), then runs every example of README.md against that server, as a user
 * pasting them would (SPEC §11 "Documentation that runs", scripts/lib/readme-examples.ts). Every server of the
 * run points at the same mock OpenAI and Anthropic upstreams and the same in-process webhook receiver, so events are
 * delivered from the first step on. Each check is a step below; append new ones to STEPS.
 *
 * The servers' admin token is the one in `.dev.vars` (created if missing, as `npm run dev` does), so the
 * README's `export TOLLGATE_TOKEN=$(… .dev.vars)` line yields the token the server really has.
 *
 * Options: --verbose streams the servers' output (it is printed on failure anyway).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MOCK_INPUT_CLASSES } from "../test/support/mock-anthropic";
import { MOCK_TEXT } from "../test/support/mock-upstream";
import { anthropicClient, viaAnthropic } from "./lib/anthropic-client";
import type { ApiClient, Json } from "./lib/client";
import { type DevServer, killDevServer, startDevServer, stopDevServer } from "./lib/dev-server";
import { ensureDevVars, randomToken } from "./lib/dev-vars";
import { CheckFailed, expectEqual, expectMatch, expectStatus, show } from "./lib/expect";
import { gatewayClient, mockHeaders, viaGateway } from "./lib/gateway-client";
import { type MockUpstream, startMockAnthropic, startMockUpstream } from "./lib/mock-upstream-process";
import { freePort, pollUntil } from "./lib/net";
import { runNpm } from "./lib/npm";
import { readPolicyFile, validatePolicyFile } from "./lib/policy-file";
import { describeFailures, runMarkdownExamples, summarize, where } from "./lib/readme-examples";
import {
  type Delivery,
  describeDeliveries,
  startWebhookReceiver,
  type WebhookReceiver,
} from "./lib/webhook-receiver";
import { ROOT } from "./lib/wrangler";

const VERBOSE = process.argv.includes("--verbose");
const FIRST_START_TIMEOUT_MS = 120_000; // a cold wrangler on two shared cores
const START_TIMEOUT_MS = 90_000;
const DEFAULT_POLICY = join(ROOT, "policies", "default.yaml");
const SEED_POLICY = join(ROOT, "policies", "examples", "seed-example.yaml");
/** The gate's own key for the upstream; the mock accepts any bearer token. */
const UPSTREAM_KEY = "sk-e2e-upstream";
/** policies/default.yaml maps `gpt-4o*` to this entitlement and counts every call in `api_requests`. */
const GATEWAY_MODEL = "gpt-4o";
const GATEWAY_TOKENS = "gpt4o_tokens";
/** The gate's own key for the Anthropic upstream; the mock accepts any `x-api-key`. */
const ANTHROPIC_UPSTREAM_KEY = "sk-ant-e2e-upstream";
/** policies/default.yaml maps `claude-*` to this entitlement. */
const CLAUDE_MODEL = "claude-sonnet-4-5";
const CLAUDE_TOKENS = "claude_tokens";
/** Streams settle in the Worker's waitUntil, after the client's last byte. */
const SETTLE_TIMEOUT_MS = 15_000;
/** Delivery is driven by the customer object's alarm, which wrangler dev fires on its own within ~1 s. */
const DELIVERY_TIMEOUT_MS = 20_000;
const README = join(ROOT, "README.md");
/**
 * Where the README's TypeScript examples are written: inside the checkout, so `import "openai"` resolves, and
 * outside node_modules, so `import "tollgate/client"` resolves too (Node resolves a package's own name only
 * from files in its scope, and node_modules ends a scope). Git- and Biome-ignored.
 */
const EXAMPLES_DIR = join(ROOT, ".cache", "readme-examples");

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
  /** Up for the whole run: every server gets OPENAI_BASE_URL and WEBHOOK_URL pointing at these. */
  upstream: MockUpstream | undefined;
  /** The mock Anthropic upstream: every server gets ANTHROPIC_BASE_URL pointing at it. */
  anthropic: MockUpstream | undefined;
  receiver: WebhookReceiver | undefined;
  webhookSecret: string;
  /** The gateway customer's key: an alternate ID, what its OpenAI client sends as `apiKey`. */
  gatewayKey: string;
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

function running(ctx: Context): DevServer {
  if (ctx.server === undefined || ctx.server.exitCode !== null)
    throw new CheckFailed("no dev server is running");
  return ctx.server;
}

const api = (ctx: Context): ApiClient => running(ctx).api;

/** Why waiting on the server is pointless, if it is. */
const serverGone = (ctx: Context): string | undefined =>
  ctx.server?.exitCode === null ? undefined : `npm run dev exited with ${ctx.server?.exitCode}`;

async function makeTempDir(ctx: Context, label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `tollgate-e2e-${label}-`));
  ctx.tempDirs.push(dir);
  return dir;
}

/** The `--var`s of every server: the mock upstream and the webhook receiver. */
function serverVars(ctx: Context): Record<string, string> {
  if (ctx.upstream === undefined || ctx.anthropic === undefined || ctx.receiver === undefined)
    throw new CheckFailed("the mock upstreams and the webhook receiver must be started first");
  return {
    OPENAI_BASE_URL: ctx.upstream.url,
    OPENAI_API_KEY: UPSTREAM_KEY,
    ANTHROPIC_BASE_URL: ctx.anthropic.url,
    ANTHROPIC_API_KEY: ANTHROPIC_UPSTREAM_KEY,
    WEBHOOK_URL: ctx.receiver.url,
    WEBHOOK_SECRET: ctx.webhookSecret,
  };
}

async function start(ctx: Context, persistTo: string, timeoutMs: number): Promise<string> {
  const startedMs = Date.now();
  ctx.server = await startDevServer({
    port: ctx.port,
    persistTo,
    token: ctx.token,
    timeoutMs,
    vars: serverVars(ctx),
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

/** One meter of a customer's view (admin API). */
async function meterOf(ctx: Context, customer: string, entitlement: string): Promise<Json> {
  const path = `/v1/customers/${customer}`;
  const view = expectStatus(`GET ${path}`, await api(ctx)("GET", path), 200);
  const meter = (view.meters as Record<string, Json> | undefined)?.[entitlement];
  if (meter === undefined)
    throw new CheckFailed(`GET ${path}: no ${entitlement} meter in ${show(view.meters)}`);
  return meter;
}

/** The meter once nothing is held on it: a stream settles in the Worker's waitUntil, after its last byte. */
async function settledMeter(ctx: Context, customer: string, entitlement: string): Promise<Json> {
  let last: Json = {};
  try {
    return await pollUntil(
      async () => {
        last = await meterOf(ctx, customer, entitlement);
        return last.held === 0 ? last : undefined;
      },
      { timeoutMs: SETTLE_TIMEOUT_MS, what: "the hold to be settled", abortReason: () => serverGone(ctx) },
    );
  } catch (error) {
    throw new CheckFailed(
      `${entitlement} of ${customer}: ${(error as Error).message}; last seen ${show(last)}`,
    );
  }
}

function anthropic(ctx: Context): MockUpstream {
  if (ctx.anthropic === undefined) throw new CheckFailed("the mock Anthropic upstream is not running");
  return ctx.anthropic;
}

function upstream(ctx: Context): MockUpstream {
  if (ctx.upstream === undefined) throw new CheckFailed("the mock upstream is not running");
  return ctx.upstream;
}

async function eventsOf(ctx: Context, customer: string): Promise<Json[]> {
  const path = `/v1/customers/${customer}/events`;
  const page = expectStatus(`GET ${path}`, await api(ctx)("GET", path), 200);
  return page.events as Json[];
}

const STEPS: Step[] = [
  {
    name: "start the mock OpenAI and Anthropic upstreams and a local webhook receiver",
    run: async (ctx) => {
      ctx.upstream = await startMockUpstream(60_000);
      ctx.anthropic = await startMockAnthropic(60_000);
      ctx.receiver = await startWebhookReceiver(ctx.webhookSecret, "/hooks");
      return `OPENAI_BASE_URL ${ctx.upstream.url}, ANTHROPIC_BASE_URL ${ctx.anthropic.url}, WEBHOOK_URL ${ctx.receiver.url}`;
    },
  },
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
    name: "gateway: a chat completion through the openai client is metered by the upstream's usage",
    run: async (ctx) => {
      const put = await api(ctx)("PUT", "/v1/customers/gateway_user", { alternateIds: [ctx.gatewayKey] });
      expectMatch(
        "PUT /v1/customers/gateway_user",
        expectStatus("PUT /v1/customers/gateway_user", put, 200),
        {
          effectivePlan: "free",
          alternateIds: [ctx.gatewayKey],
        },
      );
      const before = await meterOf(ctx, "gateway_user", GATEWAY_TOKENS);
      const { data, response } = await viaGateway("chat.completions.create", () =>
        gatewayClient(running(ctx).baseUrl, ctx.gatewayKey)
          .chat.completions.create(
            { model: GATEWAY_MODEL, messages: [{ role: "user", content: "Say hello" }] },
            { headers: mockHeaders("e2e-chat", 321) },
          )
          .withResponse(),
      );
      expectEqual("the reply", data.choices[0]?.message.content, MOCK_TEXT);
      const reported = data.usage?.total_tokens;
      expectEqual("usage.total_tokens the upstream reported", reported, 321);
      // A non-streaming call is settled before the gateway answers: no waiting.
      expectMatch(`${GATEWAY_TOKENS} after the call`, await meterOf(ctx, "gateway_user", GATEWAY_TOKENS), {
        used: Number(before.used) + Number(reported),
        held: 0,
      });
      expectMatch("api_requests after the call", await meterOf(ctx, "gateway_user", "api_requests"), {
        used: 1,
        held: 0,
      });
      expectMatch("what the mock upstream saw", await upstream(ctx).requests("e2e-chat"), {
        count: 1,
        last: {
          method: "POST",
          path: "/v1/chat/completions",
          headers: { authorization: `Bearer ${UPSTREAM_KEY}` },
        },
      });
      const policy = response.headers.get("ratelimit-policy") ?? "(none)";
      if (!policy.includes(`"${GATEWAY_TOKENS}";q=50000`))
        throw new CheckFailed(`RateLimit-Policy: expected "${GATEWAY_TOKENS}";q=50000, got ${policy}`);
      return `${reported} tokens metered, RateLimit: ${response.headers.get("ratelimit")}`;
    },
  },
  {
    name: "gateway: a streaming chat completion is metered by its final usage chunk",
    run: async (ctx) => {
      const before = await meterOf(ctx, "gateway_user", GATEWAY_TOKENS);
      const stream = await viaGateway("chat.completions.create (stream)", () =>
        gatewayClient(running(ctx).baseUrl, ctx.gatewayKey).chat.completions.create(
          { model: GATEWAY_MODEL, messages: [{ role: "user", content: "Say hello, slowly" }], stream: true },
          { headers: mockHeaders("e2e-stream", 654) },
        ),
      );
      let text = "";
      const usages: number[] = [];
      await viaGateway("reading the stream", async () => {
        for await (const chunk of stream) {
          text += chunk.choices[0]?.delta.content ?? "";
          if (chunk.usage) usages.push(chunk.usage.total_tokens);
        }
      });
      expectEqual("the streamed reply", text, MOCK_TEXT);
      // The client did not ask for usage: the gateway did, and its usage chunk passes through (SPEC §11).
      expectEqual("usage.total_tokens in the stream's usage chunks", usages, [654]);
      const after = await settledMeter(ctx, "gateway_user", GATEWAY_TOKENS);
      expectMatch(`${GATEWAY_TOKENS} once settled`, after, { used: Number(before.used) + Number(usages[0]) });
      expectMatch("what the mock upstream saw", await upstream(ctx).requests("e2e-stream"), {
        count: 1,
        last: { body: { stream: true, stream_options: { include_usage: true } } },
      });
      return `${usages[0]} tokens metered, ${GATEWAY_TOKENS} used ${after.used}, held ${after.held}`;
    },
  },
  {
    name: "gateway: an Anthropic message through @anthropic-ai/sdk is metered by its usage classes",
    run: async (ctx) => {
      const before = await meterOf(ctx, "gateway_user", CLAUDE_TOKENS);
      const headers = { "x-mock-tag": "e2e-claude", "x-mock-output-tokens": "37" };
      const message = await viaAnthropic("messages.create", () =>
        anthropicClient(running(ctx).baseUrl, ctx.gatewayKey, headers).messages.create({
          model: CLAUDE_MODEL,
          max_tokens: 256,
          messages: [{ role: "user", content: "Say hello" }],
        }),
      );
      const block = message.content[0];
      expectEqual("the reply", block?.type === "text" ? block.text : block, MOCK_TEXT);
      const u = message.usage;
      const reported =
        u.input_tokens +
        (u.cache_creation_input_tokens ?? 0) +
        (u.cache_read_input_tokens ?? 0) +
        u.output_tokens;
      expectEqual("the usage classes the upstream reported, summed", reported, MOCK_INPUT_CLASSES + 37);
      expectMatch(`${CLAUDE_TOKENS} after the call`, await meterOf(ctx, "gateway_user", CLAUDE_TOKENS), {
        used: Number(before.used) + reported,
        held: 0,
      });
      const saw = await anthropic(ctx).requests("e2e-claude");
      expectMatch("what the mock Anthropic upstream saw", saw, {
        count: 1,
        last: { method: "POST", path: "/v1/messages", headers: { "x-api-key": ANTHROPIC_UPSTREAM_KEY } },
      });
      if (JSON.stringify(saw.last?.headers).includes(ctx.gatewayKey))
        throw new CheckFailed("the customer's key reached the Anthropic upstream");
      return `${reported} tokens metered (input, cache read, cache write, output)`;
    },
  },
  {
    name: "gateway: an Anthropic stream through @anthropic-ai/sdk is metered by message_start and message_delta",
    run: async (ctx) => {
      const before = await meterOf(ctx, "gateway_user", CLAUDE_TOKENS);
      const headers = { "x-mock-tag": "e2e-claude-stream", "x-mock-output-tokens": "53" };
      const final = await viaAnthropic("messages.stream", () =>
        anthropicClient(running(ctx).baseUrl, ctx.gatewayKey, headers)
          .messages.stream({
            model: CLAUDE_MODEL,
            max_tokens: 256,
            messages: [{ role: "user", content: "Say hello, slowly" }],
          })
          .finalMessage(),
      );
      const block = final.content[0];
      expectEqual("the streamed reply", block?.type === "text" ? block.text : block, MOCK_TEXT);
      const after = await settledMeter(ctx, "gateway_user", CLAUDE_TOKENS);
      expectMatch(`${CLAUDE_TOKENS} once settled`, after, {
        used: Number(before.used) + MOCK_INPUT_CLASSES + 53,
      });
      expectMatch(
        "what the mock Anthropic upstream saw",
        await anthropic(ctx).requests("e2e-claude-stream"),
        {
          count: 1,
          last: { body: { stream: true, max_tokens: 256 } },
        },
      );
      return `${MOCK_INPUT_CLASSES + 53} tokens metered, ${CLAUDE_TOKENS} used ${after.used}, held ${after.held}`;
    },
  },
  {
    name: "webhooks: a consume reaches the local receiver, signed, as the event the API lists",
    run: async (ctx) => {
      const receiver = ctx.receiver;
      if (receiver === undefined) throw new CheckFailed("the webhook receiver is not running");
      const put = await api(ctx)("PUT", "/v1/customers/hook_user", { label: "e2e webhooks" });
      expectStatus("PUT /v1/customers/hook_user", put, 200);
      const consumedMs = Date.now();
      await consumeOk(
        ctx,
        "1 api request",
        { customer: "hook_user", entitlement: "api_requests" },
        { allowed: true, used: 1 },
      );
      const events = await eventsOf(ctx, "hook_user");
      expectEqual(
        "the event types of hook_user",
        events.map((e) => e.type),
        ["customer.created", "meter.changed"],
      );
      const [created, changed] = events as [Json, Json];
      let listed: Json | undefined;
      try {
        listed = await pollUntil(
          async () => {
            if (!receiver.deliveries.some((d) => d.id === changed.id)) return undefined;
            const event = (await eventsOf(ctx, "hook_user")).find((e) => e.id === changed.id);
            listed = event;
            return (event?.delivery as Json | undefined)?.status === "delivered" ? event : undefined;
          },
          { timeoutMs: DELIVERY_TIMEOUT_MS, what: "the delivery", abortReason: () => serverGone(ctx) },
        );
      } catch (error) {
        throw new CheckFailed(
          `${changed.id} (meter.changed): ${(error as Error).message}\n  GET …/events shows: ${show(listed?.delivery ?? changed.delivery)}\n  the receiver got: ${describeDeliveries(receiver.deliveries)}`,
        );
      }
      const arrived = receiver.deliveries.findIndex((d) => d.id === changed.id);
      const delivery = receiver.deliveries[arrived] as Delivery;
      expectMatch("the delivery", delivery, { method: "POST", path: "/hooks", verdict: { ok: true } });
      // The body is the bare event: the log adds its delivery state and whether the read model has it.
      const { delivery: state, projected: _projected, ...event } = listed;
      expectEqual("the delivered body and the event GET …/events lists", JSON.parse(delivery.body), event);
      // One event in flight per customer, in seq order: customer.created arrived first.
      const createdArrived = receiver.deliveries.findIndex((d) => d.id === created.id);
      if (createdArrived === -1 || createdArrived > arrived)
        throw new CheckFailed(
          `customer.created (${created.id}) was not delivered before meter.changed: ${describeDeliveries(receiver.deliveries)}`,
        );
      const rejected = receiver.deliveries.filter((d) => !d.verdict.ok);
      if (rejected.length > 0)
        throw new CheckFailed(`deliveries with a bad signature: ${describeDeliveries(rejected)}`);
      const seconds = ((delivery.receivedAtMs - consumedMs) / 1000).toFixed(1);
      return `${changed.id} delivered ${seconds} s after the consume (attempts: ${String((state as Json).attempts)}); ${receiver.deliveries.length} deliveries in this run, all verified`;
    },
  },
  {
    name: "README.md: every example runs as written against this server",
    run: async (ctx) => {
      const server = running(ctx);
      const results = await runMarkdownExamples({
        markdown: await readFile(README, "utf8"),
        source: "README.md",
        baseUrl: server.baseUrl,
        token: ctx.token,
        cwd: ROOT,
        scratchDir: EXAMPLES_DIR,
        onResult: (result) => {
          if (!VERBOSE && result.status !== "failed") return;
          console.log(`    ${where("README.md", result.example)}: ${result.status} (${result.detail})`);
          if (VERBOSE && result.output.trim() !== "")
            for (const line of result.output.trimEnd().split("\n")) console.log(`      | ${line}`);
        },
      });
      const failures = describeFailures("README.md", results);
      if (failures !== null) throw new CheckFailed(`${failures}\n  (${summarize("README.md", results)})`);
      return summarize("README.md", results);
    },
  },
  {
    name: "npm run policy -- push --local makes a policy active on the running server at once",
    run: async (ctx) => {
      // The CLI itself, through npm as an operator runs it, against the running server's API.
      const push = await runNpm(
        ["run", "-s", "policy", "--", "push", SEED_POLICY, "--local", "--url", running(ctx).baseUrl],
        { TOLLGATE_TOKEN: ctx.token },
      );
      if (push.code !== 0) throw new CheckFailed(`policy push exited ${push.code}:\n${push.output}`);
      const policy = expectStatus("GET /v1/policy", await api(ctx)("GET", "/v1/policy"), 200);
      expectMatch("GET /v1/policy after the push", policy, { version: ctx.versions.seed });
      return push.output.trim().split("\n").at(-1);
    },
  },
  {
    name: "stop the server, the mock upstreams and the webhook receiver",
    run: async (ctx) => {
      const stopped = await stop(ctx);
      await ctx.upstream?.stop();
      await ctx.anthropic?.stop();
      await ctx.receiver?.close();
      return stopped;
    },
  },
];

async function versionOf(path: string): Promise<string> {
  const result = await validatePolicyFile(path);
  if (!result.ok) throw new CheckFailed(`${path} is invalid: ${JSON.stringify(result.issues)}`);
  return result.policy.version;
}

/** The ADMIN_TOKEN of `.dev.vars`, which is created with a random one when missing (as `npm run dev` does). */
async function devVarsToken(): Promise<string> {
  const token = (await ensureDevVars(join(ROOT, ".dev.vars"))).vars.ADMIN_TOKEN;
  if (token === undefined) throw new CheckFailed(".dev.vars has no ADMIN_TOKEN");
  return token;
}

async function cleanUp(ctx: Context): Promise<void> {
  for (const server of ctx.servers) {
    if (server.exitCode === null) {
      await stopDevServer(server, 10_000).catch(() => killDevServer(server));
    }
  }
  await ctx.upstream?.stop();
  await ctx.anthropic?.stop();
  await ctx.receiver?.close();
  await Promise.all([...ctx.tempDirs, EXAMPLES_DIR].map((dir) => rm(dir, { recursive: true, force: true })));
}

async function main(): Promise<number> {
  const ctx: Context = {
    token: await devVarsToken(),
    port: await freePort(),
    stateDir: "",
    tempDirs: [],
    servers: [],
    server: undefined,
    versions: { default: await versionOf(DEFAULT_POLICY), seed: await versionOf(SEED_POLICY) },
    snapshot: undefined,
    upstream: undefined,
    anthropic: undefined,
    receiver: undefined,
    webhookSecret: `whsec_${randomBytes(32).toString("base64")}`,
    gatewayKey: `sk-tg-e2e-${randomToken()}`,
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
    ctx.upstream?.child.kill("SIGKILL");
    ctx.anthropic?.child.kill("SIGKILL");
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
      // The mock prints only its banner unless something went wrong in it.
      const mockOutput = ctx.upstream?.output ?? [];
      if (mockOutput.length > 1) {
        console.error("\n[e2e] last lines of the mock upstream:");
        for (const line of mockOutput.slice(-30)) console.error(`    | ${line}`);
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
