/**
 * `npm run test:browser` (SPEC §13.2): the dashboard and /docs in a real headless Chromium (Debian's
 * `/usr/bin/chromium`, driven by `playwright-core`), against the real gate: `npm run dev` on a fresh
 * `--persist-to` directory and a free port, a webhook receiver and a mock OpenAI upstream on 127.0.0.1. Data is
 * seeded through the HTTP API; each step asserts what a person sees on the page, and that no page request
 * leaves the machine. Screenshots of each view are written to docs/screenshots/.
 *
 * The server serves its assets from a copy of what `npm run build` makes plus decoy files at the API's own
 * paths (`--assets DIR`): the API, the gateway, health, /openapi.json and /docs must still be the Worker's
 * answers (wrangler.toml `run_worker_first`), while a decoy elsewhere is served (so the decoys are live).
 *
 * Options: --verbose streams the server's output (it is printed on failure anyway);
 * CHROMIUM=/path overrides the browser binary.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { startMockUpstream, stopMockUpstream } from "../test/support/mock-upstream";
import { buildAssets } from "./build-assets";
import type { ApiClient, Json } from "./lib/client";
import { type DevServer, killDevServer, startDevServer, stopDevServer } from "./lib/dev-server";
import { CheckFailed, expectEqual, expectStatus, show } from "./lib/expect";
import { gatewayClient, mockHeaders, viaGateway } from "./lib/gateway-client";
import { freePort, pollUntil, sleep } from "./lib/net";
import { startWebhookReceiver, type WebhookReceiver } from "./lib/webhook-receiver";
import { ROOT } from "./lib/wrangler";

const VERBOSE = process.argv.includes("--verbose");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const START_TIMEOUT_MS = 120_000;
/** How long the page may take to show what the API already answers. */
const UI_TIMEOUT_MS = 15_000;
/** Webhook delivery and the read model's projection run on the objects' alarms, which wrangler dev fires. */
const ALARM_TIMEOUT_MS = 30_000;
const SCREENSHOTS = join(ROOT, "docs", "screenshots");
/** Customers beyond the four named ones, so the list has a second page (the dashboard shows 25 a page). */
const EXTRA_CUSTOMERS = 24;
/** Paths that must reach the Worker even with an asset of the same name (wrangler.toml `run_worker_first`). */
const WORKER_PATHS = ["/healthz", "/openapi.json", "/docs", "/v1/policy", "/gateway/openai/v1/models"];
const DECOY = "decoy: served from the assets directory";

interface Context {
  token: string;
  server: DevServer;
  receiver: WebhookReceiver;
  /** What the receiver answers: 400 (events fail at once) until a step switches it to 204. */
  receiverStatus: { value: number };
  browser: Browser;
  /** Every URL any page asked for, in every browser context. */
  requests: string[];
  /** CSP violations and uncaught errors reported by any page. */
  pageProblems: string[];
  page: Page;
}

interface Step {
  name: string;
  run: (ctx: Context) => Promise<string | undefined>;
}

const api = (ctx: Context): ApiClient => ctx.server.api;

// ---------------------------------------------------------------------------------------------------------
// Page helpers: wait for what a person would see, within a bound, and say what was there instead.

async function textOf(locator: Locator): Promise<string> {
  return (
    (await locator
      .first()
      .textContent({ timeout: 1000 })
      .catch(() => null)) ?? ""
  ).trim();
}

/** Wait until `locator`'s text equals (a string) or matches (a RegExp) `expected`. */
async function expectText(what: string, locator: Locator, expected: string | RegExp): Promise<string> {
  const deadline = Date.now() + UI_TIMEOUT_MS;
  let actual = "";
  for (;;) {
    actual = await textOf(locator);
    if (typeof expected === "string" ? actual === expected : expected.test(actual)) return actual;
    if (Date.now() > deadline)
      throw new CheckFailed(`${what}: expected ${String(expected)}, the page shows ${show(actual)}`);
    await sleep(100);
  }
}

/** Wait until a form field's value matches `expected`. */
async function expectValue(what: string, locator: Locator, expected: RegExp): Promise<string> {
  const deadline = Date.now() + UI_TIMEOUT_MS;
  for (;;) {
    const actual = await locator.inputValue({ timeout: 1000 }).catch(() => "");
    if (expected.test(actual)) return actual;
    if (Date.now() > deadline)
      throw new CheckFailed(
        `${what}: expected ${String(expected)}, the field holds ${show(actual.slice(0, 200))}`,
      );
    await sleep(100);
  }
}

async function expectVisible(what: string, locator: Locator): Promise<void> {
  try {
    await locator.first().waitFor({ state: "visible", timeout: UI_TIMEOUT_MS });
  } catch {
    throw new CheckFailed(`${what}: not shown within ${UI_TIMEOUT_MS / 1000} s`);
  }
}

async function texts(locator: Locator): Promise<string[]> {
  return (await locator.allTextContents()).map((text) => text.trim());
}

async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

function isLoopback(url: string): boolean {
  try {
    const { protocol, hostname } = new URL(url);
    if (protocol === "data:" || protocol === "blob:" || protocol === "about:") return true;
    return ["127.0.0.1", "localhost", "[::1]"].includes(hostname);
  } catch {
    return false;
  }
}

async function newContext(ctx: Context, options: { cutNetwork: boolean }): Promise<BrowserContext> {
  const context = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "UTC" });
  context.on("request", (request) => {
    ctx.requests.push(request.url());
  });
  if (options.cutNetwork) {
    await context.route("**/*", (route) =>
      isLoopback(route.request().url()) ? route.continue() : route.abort("internetdisconnected"),
    );
  }
  context.on("page", (page) => watchPage(ctx, page));
  return context;
}

function watchPage(ctx: Context, page: Page): void {
  page.on("console", (message) => {
    const text = message.text();
    if (/Content Security Policy|Refused to/i.test(text)) ctx.pageProblems.push(`${page.url()}: ${text}`);
    if (VERBOSE) console.log(`    [browser ${message.type()}] ${text}`);
  });
  page.on("pageerror", (error) => ctx.pageProblems.push(`${page.url()}: ${error.message}`));
}

const dashboardUrl = (ctx: Context, hash = ""): string => `${ctx.server.baseUrl}/dashboard${hash}`;

/** Open the dashboard signed in (the token put into sessionStorage as the sign-in form does). */
async function open(ctx: Context, hash: string): Promise<Page> {
  const url = dashboardUrl(ctx, hash);
  // A new hash on the page the tab already shows is a same-document navigation: the app would keep the view
  // it has (a list fetched before the read model caught up). Leave the page first, so every view loads afresh.
  await ctx.page.goto("about:blank");
  await ctx.page.goto(url);
  return ctx.page;
}

// ---------------------------------------------------------------------------------------------------------
// Seeding through the HTTP API.

const NAMED = {
  org: { id: "acme", body: { type: "org", label: "Acme Inc", plan: "pro" } },
  alice: { id: "alice", body: { label: "Alice Liddell", org: "acme", alternateIds: ["alice@example.com"] } },
  bob: { id: "bob", body: { label: "Bob Stone", org: "acme" } },
  carol: { id: "carol", body: { label: "Carol Danvers", plan: "free", alternateIds: ["sk-carol"] } },
};

/** What the seed consumes, per entitlement (the gateway call adds its tokens and 1 api request). */
const CONSUMES: { customer: string; entitlement: string; amount: number | string; times: number }[] = [
  { customer: "alice", entitlement: "api_requests", amount: 1, times: 3 },
  { customer: "alice", entitlement: "storage", amount: 120, times: 1 },
  { customer: "bob", entitlement: "api_requests", amount: 1, times: 2 },
  { customer: "carol", entitlement: "gpt4o_tokens", amount: 1500, times: 1 },
  { customer: "carol", entitlement: "storage", amount: "250MB", times: 1 },
];
const GATEWAY_MODEL = "gpt-4o-mini";
const GATEWAY_TOKENS = 700;
const RESERVED = 500;
const EXPECTED_USAGE: Record<string, number> = {
  api_requests: 6,
  storage: 370,
  gpt4o_tokens: 1500,
  gpt4o_mini_tokens: GATEWAY_TOKENS,
};

async function seed(ctx: Context): Promise<string> {
  for (const { id, body } of Object.values(NAMED)) {
    expectStatus(`PUT /v1/customers/${id}`, await api(ctx)("PUT", `/v1/customers/${id}`, body), 200);
  }
  for (let i = 1; i <= EXTRA_CUSTOMERS; i++) {
    const id = `user-${String(i).padStart(2, "0")}`;
    expectStatus(`PUT ${id}`, await api(ctx)("PUT", `/v1/customers/${id}`, { label: `User ${i}` }), 200);
  }
  for (const { customer, entitlement, amount, times } of CONSUMES) {
    for (let i = 0; i < times; i++) {
      const decision = expectStatus(
        `consume ${entitlement} for ${customer}`,
        await api(ctx)("POST", "/v1/consume", { customer, entitlement, amount }),
        200,
      );
      expectEqual(`consume ${entitlement} for ${customer} allowed`, decision.allowed, true);
    }
  }
  const reserve = expectStatus(
    "reserve gpt4o_tokens for carol",
    await api(ctx)("POST", "/v1/reserve", {
      customer: "carol",
      entitlement: "gpt4o_tokens",
      amount: RESERVED,
    }),
    200,
  );
  expectEqual("the reserve is allowed", reserve.allowed, true);
  expectStatus(
    "a token pack for carol",
    await api(ctx)("POST", "/v1/customers/carol/topups", {
      topup: "token_pack",
      idempotencyKey: "ui-pack-1",
    }),
    200,
  );
  const client = gatewayClient(ctx.server.baseUrl, "sk-carol");
  await viaGateway("a chat completion through the gateway", () =>
    client.chat.completions.create(
      { model: GATEWAY_MODEL, messages: [{ role: "user", content: "Hello" }], max_tokens: 1000 },
      { headers: mockHeaders("browser-test", GATEWAY_TOKENS) },
    ),
  );
  // The gateway settles after the answer (waitUntil): wait for the meter to show it.
  await pollUntil(
    async () => {
      const view = expectStatus("GET carol", await api(ctx)("GET", "/v1/customers/carol"), 200);
      const meters = view.meters as Record<string, { used: number; held: number }>;
      return meters.gpt4o_mini_tokens?.used === GATEWAY_TOKENS && meters.gpt4o_mini_tokens.held === 0
        ? true
        : undefined;
    },
    { timeoutMs: ALARM_TIMEOUT_MS, what: "the gateway call settled on carol's gpt4o_mini_tokens" },
  );
  return `${4 + EXTRA_CUSTOMERS} customers, ${CONSUMES.reduce((n, c) => n + c.times, 0)} consumes, a hold, a grant, a gateway call`;
}

// ---------------------------------------------------------------------------------------------------------
// The steps.

const STEPS: Step[] = [
  {
    name: "assets never shadow the Worker: API, gateway, health, /openapi.json and /docs are its answers",
    async run(ctx) {
      for (const path of WORKER_PATHS) {
        const res = await fetch(`${ctx.server.baseUrl}${path}`);
        const body = await res.text();
        if (body.includes(DECOY) || res.headers.get("x-request-id") === null)
          throw new CheckFailed(
            `${path} was served from the assets (status ${res.status}): ${body.slice(0, 120)}`,
          );
      }
      const decoy = await fetch(`${ctx.server.baseUrl}/decoy.txt`);
      expectEqual(
        "a decoy outside the Worker's paths is served from the assets",
        (await decoy.text()).trim(),
        DECOY,
      );
      return `${WORKER_PATHS.length} paths reach the Worker; /decoy.txt is an asset`;
    },
  },
  {
    name: "the dashboard asks for the admin token once, refuses a wrong one, and keeps it for the tab",
    async run(ctx) {
      const page = ctx.page;
      await page.goto(dashboardUrl(ctx));
      const form = page.getByTestId("signin");
      await expectVisible("the sign-in form", form);
      await screenshot(page, "sign-in");
      await form.locator("input[name=token]").fill("not-the-token");
      await form.getByRole("button").click();
      await expectText("a wrong token", form.getByRole("alert"), /unauthorized/);
      await form.locator("input[name=token]").fill(ctx.token);
      await form.getByRole("button").click();
      await expectVisible("the customer list after signing in", page.getByTestId("customers-view"));
      await page.reload();
      await expectVisible(
        "the customer list after a reload, without asking again",
        page.getByTestId("customers-view"),
      );
      const stored = await page.evaluate(() => sessionStorage.getItem("tollgate.adminToken"));
      expectEqual("the token is in sessionStorage", stored, ctx.token);
      const local = await page.evaluate(() => localStorage.length);
      expectEqual("nothing in localStorage", local, 0);
      return undefined;
    },
  },
  {
    name: "seed through the API: customers, consumes, a hold, a top-up, a gateway call",
    run: seed,
  },
  {
    name: "the customer list shows the seeded customers, searches by prefix, filters by org, and pages",
    async run(ctx) {
      // The list is the read model (SPEC §13.1): it lags the objects by seconds.
      await pollUntil(
        async () => {
          const res = await api(ctx)("GET", "/v1/customers?limit=1000");
          const customers = (res.body.customers ?? []) as Json[];
          return res.status === 200 && customers.length === 4 + EXTRA_CUSTOMERS ? true : undefined;
        },
        { timeoutMs: ALARM_TIMEOUT_MS, what: "every seeded customer in GET /v1/customers" },
      );
      const page = await open(ctx, "#/customers");
      const rows = page.locator("[data-testid=customer-table] tbody tr");
      await expectText("the first page's first row", rows.first().locator("td").first(), /.+/);
      await pollUntil(async () => ((await rows.count()) === 25 ? true : undefined), {
        timeoutMs: UI_TIMEOUT_MS,
        what: "a full first page of 25 customers",
      });
      const firstPage = await texts(page.locator("[data-testid=customer-table] tbody tr td:first-child"));
      await screenshot(page, "customers");
      await page.getByRole("button", { name: "Next" }).click();
      await expectText("the page number", page.getByTestId("page-number"), "page 2");
      await pollUntil(async () => ((await rows.count()) === 4 + EXTRA_CUSTOMERS - 25 ? true : undefined), {
        timeoutMs: UI_TIMEOUT_MS,
        what: "the rest on page 2",
      });
      const secondPage = await texts(page.locator("[data-testid=customer-table] tbody tr td:first-child"));
      const all = [...firstPage, ...secondPage].sort();
      const expected = [...Object.values(NAMED).map((c) => c.id)];
      for (let i = 1; i <= EXTRA_CUSTOMERS; i++) expected.push(`user-${String(i).padStart(2, "0")}`);
      expectEqual("the two pages hold every customer once", all, expected.sort());

      await page.locator("input[name=q]").fill("ali");
      await page.getByRole("button", { name: "Search" }).click();
      await expectText("the page number after a search", page.getByTestId("page-number"), "page 1");
      await pollUntil(
        async () => ((await texts(rows.locator("td:first-child"))).join() === "alice" ? true : undefined),
        {
          timeoutMs: UI_TIMEOUT_MS,
          what: "search `ali` lists alice alone",
        },
      );
      await page.locator("input[name=q]").fill("");
      await page.locator("input[name=org]").fill("acme");
      await page.getByRole("button", { name: "Search" }).click();
      await pollUntil(
        async () =>
          (await texts(rows.locator("td:first-child"))).sort().join() === "alice,bob" ? true : undefined,
        { timeoutMs: UI_TIMEOUT_MS, what: "org `acme` lists alice and bob" },
      );
      return `${all.length} customers over 2 pages`;
    },
  },
  {
    name: "a customer's meters show used / held / limit and the reset, its hold, balances and grants",
    async run(ctx) {
      const view = expectStatus("GET carol", await api(ctx)("GET", "/v1/customers/carol"), 200);
      const meter = (view.meters as Record<string, Json>).gpt4o_tokens as Json;
      const page = await open(ctx, "#/customers/carol");
      const bar = page.getByTestId("meter-gpt4o_tokens");
      await expectText("used", bar.locator("[data-field=used]"), "1500");
      await expectText("held", bar.locator("[data-field=held]"), String(RESERVED));
      await expectText("limit", bar.locator("[data-field=limit]"), "50000");
      await expectText(
        "remaining (as the API says)",
        bar.locator("[data-field=remaining]"),
        String(meter.remaining),
      );
      await expectText("resets", bar.locator("[data-field=resetsAt]"), /^\d{4}-\d{2}-01 00:00:00 UTC$/);
      await expectText(
        "storage in MB",
        page.getByTestId("meter-storage").locator("[data-field=used]"),
        "250",
      );
      await expectText(
        "the hold",
        page.getByTestId("holds").locator("[data-field=amount]"),
        String(RESERVED),
      );
      await expectText("the token balance", page.locator("[data-credit=token]"), "100000");
      await expectText("the grant", page.getByTestId("grants").locator("[data-field=balance]"), "100000");
      await screenshot(page, "customer");
      return `gpt4o_tokens: 1500 used, ${RESERVED} held of 50000, remaining ${meter.remaining}`;
    },
  },
  {
    name: "an event refused by the receiver shows `failed`; redeliver turns it `pending`, then `delivered`",
    async run(ctx) {
      const seq = 1; // carol's customer.created
      await pollUntil(
        async () => {
          const res = await api(ctx)("GET", "/v1/customers/carol/events?limit=5");
          const first = (res.body.events as Json[] | undefined)?.[0] as
            | { delivery?: { status: string } }
            | undefined;
          return first?.delivery?.status === "failed" ? true : undefined;
        },
        { timeoutMs: ALARM_TIMEOUT_MS, what: "carol's first event failed (the receiver answers 400)" },
      );
      const page = await open(ctx, "#/customers/carol");
      const row = page.locator(`[data-testid=events] tr[data-seq="${seq}"]`);
      await expectText("the event's delivery", row.locator("[data-field=delivery]"), "failed");
      await expectText("its last error", row.locator("td.wrap"), /400/);
      ctx.receiverStatus.value = 204;
      await row.getByRole("button", { name: "Redeliver" }).click();
      await expectText("after redeliver", row.locator("[data-field=delivery]"), "pending");
      const deadline = Date.now() + ALARM_TIMEOUT_MS;
      for (;;) {
        await page.getByTestId("events-refresh").click();
        const status = await textOf(row.locator("[data-field=delivery]"));
        if (status === "delivered") break;
        if (Date.now() > deadline)
          throw new CheckFailed(`the redelivered event shows ${show(status)}, not delivered`);
        await sleep(500);
      }
      await screenshot(page, "events");
      return `seq ${seq}: failed → pending → delivered`;
    },
  },
  {
    name: "events show whether the read model has projected them",
    async run(ctx) {
      const page = await open(ctx, "#/customers/alice");
      const cell = page.locator("[data-testid=events] tbody tr").first().locator("[data-field=projected]");
      const deadline = Date.now() + ALARM_TIMEOUT_MS;
      for (;;) {
        const shown = await textOf(cell);
        if (shown === "yes") break;
        if (Date.now() > deadline)
          throw new CheckFailed(`the newest event's projected column shows ${show(shown)}`);
        await page.getByTestId("events-refresh").click();
        await sleep(500);
      }
      return undefined;
    },
  },
  {
    name: "a plan change from the customer page takes effect and re-syncs the included grants",
    async run(ctx) {
      const page = await open(ctx, "#/customers/carol");
      const form = page.getByTestId("plan-form");
      await expectText("the plan", page.locator("[data-field=plan]"), "free");
      await form.locator("select[name=plan]").selectOption("pro");
      await form.getByRole("button", { name: "Change plan" }).click();
      await expectText("the confirmation", form.getByRole("status"), /Plan is now pro/);
      await expectText("the plan after the change", page.locator("[data-field=plan]"), "pro");
      await expectText(
        "the limit after the change",
        page.getByTestId("meter-gpt4o_tokens").locator("[data-field=limit]"),
        "2000000",
      );
      await expectText(
        "the included grant",
        page.locator("[data-grant]").filter({ hasText: "welcome_tokens" }),
        /50000/,
      );
      const view = expectStatus("GET carol", await api(ctx)("GET", "/v1/customers/carol"), 200);
      expectEqual("the API agrees", view.plan, "pro");
      return undefined;
    },
  },
  {
    name: "usage per day by entitlement and by model: the chart's table holds the exact totals",
    async run(ctx) {
      await pollUntil(
        async () => {
          const res = await api(ctx)("GET", "/v1/usage?groupBy=entitlement");
          const series = (res.body.series ?? []) as { group: { entitlement: string }; amount: number }[];
          const totals = Object.fromEntries(series.map((row) => [row.group.entitlement, row.amount]));
          return Object.entries(EXPECTED_USAGE).every(([name, value]) => totals[name] === value)
            ? true
            : undefined;
        },
        { timeoutMs: ALARM_TIMEOUT_MS, what: `GET /v1/usage totals ${show(EXPECTED_USAGE)}` },
      );
      const page = await open(ctx, "#/usage");
      const table = page.getByTestId("usage-table");
      for (const [entitlement, total] of Object.entries(EXPECTED_USAGE)) {
        await expectText(
          `${entitlement}'s total`,
          table.locator(`tr[data-group="${entitlement}"] [data-field=total]`),
          String(total),
        );
      }
      await expectVisible("the chart", page.getByTestId("usage-chart").locator("canvas"));
      await screenshot(page, "usage");
      await page.locator("select[name=by]").selectOption("model");
      await expectText(
        `${GATEWAY_MODEL}'s total`,
        page.getByTestId("usage-table").locator(`tr[data-group="${GATEWAY_MODEL}"] [data-field=total]`),
        String(GATEWAY_TOKENS),
      );
      return Object.entries(EXPECTED_USAGE)
        .map(([name, value]) => `${name} ${value}`)
        .join(", ");
    },
  },
  {
    name: "the policy: its version; validate shows each issue at its path; push makes a new one active",
    async run(ctx) {
      const active = expectStatus("GET /v1/policy", await api(ctx)("GET", "/v1/policy"), 200);
      const page = await open(ctx, "#/policy");
      await expectText("the active version", page.locator("[data-field=version]"), String(active.version));
      const editor = page.locator("textarea[name=policy]");
      await expectValue("the editor holds the policy", editor, /"plans"/);
      const document = JSON.parse(await editor.inputValue()) as {
        plans: Record<string, { entitlements: Record<string, { limit?: Record<string, unknown> }> }>;
      };
      const bad = structuredClone(document);
      const storage = bad.plans.free?.entitlements.storage?.limit;
      if (storage === undefined) throw new CheckFailed("the default policy has no free storage limit");
      storage.credit = "gigabyte";
      await editor.fill(JSON.stringify(bad, null, 2));
      await page.getByRole("button", { name: "Validate" }).click();
      const issue = page.locator(
        '[data-testid=policy-outcome] li[data-path="plans.free.entitlements.storage.limit.credit"]',
      );
      await expectText(
        "the issue at its path",
        issue.locator(".issue-path"),
        "plans.free.entitlements.storage.limit.credit",
      );
      await expectText("what is wrong", issue.locator(".issue-message"), /gigabyte|credit/i);
      await screenshot(page, "policy-issue");
      const unchanged = expectStatus("GET /v1/policy", await api(ctx)("GET", "/v1/policy"), 200);
      expectEqual("validate stored nothing", unchanged.version, active.version);

      const good = structuredClone(document);
      const requests = good.plans.free?.entitlements.api_requests?.limit;
      if (requests === undefined) throw new CheckFailed("the default policy has no free api_requests limit");
      requests.value = 2000;
      await editor.fill(JSON.stringify(good, null, 2));
      await page.getByRole("button", { name: "Validate" }).click();
      const valid = await expectText(
        "valid",
        page.getByTestId("policy-outcome").getByRole("status"),
        /^Valid: version \S+$/,
      );
      const version = valid.replace("Valid: version ", "");
      await page.getByRole("button", { name: "Push" }).click();
      await expectText("pushed", page.getByTestId("policy-pushed"), `Active now: version ${version}`);
      await expectText("the new active version", page.locator("[data-field=version]"), version);
      const after = expectStatus("GET /v1/policy", await api(ctx)("GET", "/v1/policy"), 200);
      expectEqual("the API's active version", after.version, version);
      return `${String(active.version).slice(0, 12)} → ${version.slice(0, 12)}`;
    },
  },
  {
    name: "/docs renders the API reference from /openapi.json",
    async run(ctx) {
      const page = ctx.page;
      await page.goto(`${ctx.server.baseUrl}/docs`);
      await expectText("the title", page.locator(".swagger-ui .info .title"), /Tollgate/);
      await expectVisible(
        "an operation",
        page.locator(".opblock-summary-path").filter({ hasText: "/v1/policy" }),
      );
      await screenshot(page, "docs");
      return undefined;
    },
  },
  {
    name: "with every non-loopback request aborted, /dashboard and /docs still render",
    async run(ctx) {
      const context = await newContext(ctx, { cutNetwork: true });
      try {
        const page = await context.newPage();
        await page.goto(dashboardUrl(ctx, "#/customers/carol"));
        const form = page.getByTestId("signin");
        await form.locator("input[name=token]").fill(ctx.token);
        await form.getByRole("button").click();
        await expectText(
          "a meter, offline",
          page.getByTestId("meter-gpt4o_tokens").locator("[data-field=used]"),
          "1500",
        );
        await page.goto(`${ctx.server.baseUrl}/docs`);
        await expectText("the docs' title, offline", page.locator(".swagger-ui .info .title"), /Tollgate/);
      } finally {
        await context.close();
      }
      return undefined;
    },
  },
  {
    name: "no page request left the machine, and no page hit its CSP or threw",
    async run(ctx) {
      const outside = ctx.requests.filter((url) => !isLoopback(url));
      if (outside.length > 0)
        throw new CheckFailed(`requests to other hosts: ${show([...new Set(outside)])}`);
      if (ctx.pageProblems.length > 0) throw new CheckFailed(`page problems: ${show(ctx.pageProblems)}`);
      return `${ctx.requests.length} requests, all to 127.0.0.1`;
    },
  },
];

// ---------------------------------------------------------------------------------------------------------

/** A copy of the build plus decoys at the Worker's paths, for `npm run dev -- --assets DIR`. */
async function assetsWithDecoys(dir: string): Promise<void> {
  await buildAssets(dir);
  await writeFile(join(dir, "decoy.txt"), `${DECOY}\n`);
  for (const path of WORKER_PATHS) {
    const file = join(dir, `${path.slice(1)}`);
    await mkdir(join(file, ".."), { recursive: true });
    await writeFile(path === "/docs" ? `${file}.html` : file, DECOY);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const tempDirs: string[] = [];
  const temp = async (label: string) => {
    const dir = await mkdtemp(join(tmpdir(), `tollgate-browser-${label}-`));
    tempDirs.push(dir);
    return dir;
  };
  let server: DevServer | undefined;
  let browser: Browser | undefined;
  let upstream: Server | undefined;
  let receiver: WebhookReceiver | undefined;
  const cleanUp = async () => {
    await browser?.close().catch(() => undefined);
    if (server !== undefined) await stopDevServer(server).catch(() => server && killDevServer(server));
    await receiver?.close();
    if (upstream !== undefined) await stopMockUpstream(upstream);
    for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
  };
  process.on("exit", () => server && killDevServer(server));
  let passed = 0;
  const failures: string[] = [];
  try {
    const token = `ui-${randomBytes(16).toString("hex")}`;
    const secret = `whsec_${randomBytes(32).toString("base64")}`;
    const receiverStatus = { value: 400 };
    receiver = await startWebhookReceiver(secret, "/hooks", () => receiverStatus.value);
    const mock = await startMockUpstream();
    upstream = mock.server;
    const assets = await temp("assets");
    await assetsWithDecoys(assets);
    console.log("starting npm run dev on a fresh state directory …");
    server = await startDevServer({
      port: await freePort(),
      persistTo: await temp("state"),
      token,
      timeoutMs: START_TIMEOUT_MS,
      vars: {
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: secret,
        OPENAI_BASE_URL: mock.url,
        OPENAI_API_KEY: "sk-browser-upstream",
      },
      args: ["--assets", assets],
      echo: VERBOSE,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
    const ctx: Context = {
      token,
      server,
      receiver,
      receiverStatus,
      browser,
      requests: [],
      pageProblems: [],
      page: undefined as unknown as Page,
    };
    ctx.page = await (await newContext(ctx, { cutNetwork: false })).newPage();
    for (const step of STEPS) {
      const stepStarted = Date.now();
      try {
        const detail = await step.run(ctx);
        passed++;
        const seconds = ((Date.now() - stepStarted) / 1000).toFixed(1);
        console.log(`  ✓ ${step.name} (${seconds} s)${detail === undefined ? "" : `: ${detail}`}`);
      } catch (error) {
        failures.push(step.name);
        console.log(`  ✗ ${step.name}\n      ${(error as Error).message.split("\n").join("\n      ")}`);
      }
    }
  } catch (error) {
    failures.push(`setup: ${(error as Error).message}`);
    console.log(`  ✗ setup: ${(error as Error).message}`);
  } finally {
    if (failures.length > 0 && server !== undefined && !VERBOSE) {
      console.log("\nserver output (last 60 lines):");
      for (const line of server.output.slice(-60)) console.log(`    | ${line}`);
    }
    await cleanUp();
  }
  console.log(`\nbrowser: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`${passed} passed, ${failures.length} failed`);
  process.exit(failures.length === 0 ? 0 : 1);
}

await main();
