/**
 * The dashboard and /docs (SPEC §13.2): served from the Worker's own static assets, nothing from another
 * origin, under a Content-Security-Policy without inline scripts. The API keeps its paths: `run_worker_first`
 * is checked against a served decoy by `npm run test:browser`; here, that the Worker still answers them.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const BASE = "http://gate.test";
const gate = (path: string, init?: RequestInit) => exports.default.fetch(`${BASE}${path}`, init);
const assets = env.ASSETS;
const asset = (path: string) => assets.fetch(`${BASE}${path}`);

/** Every URL the HTML loads or links: `src`, `href` and `url(...)` values. */
function referencedUrls(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)["']?\s*\)/gi)].map(
    (match) => (match[1] ?? match[2]) as string,
  );
}

/** A CSP as a map of directive → sources. */
function directives(csp: string | null): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of (csp ?? "").split(";")) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) map.set(name, sources);
  }
  return map;
}

function expectStrictScripts(csp: string | null): void {
  const policy = directives(csp);
  expect(policy.get("default-src")).toEqual(["'none'"]);
  expect(policy.get("script-src")).toEqual(["'self'"]);
  expect(policy.get("connect-src")).toEqual(["'self'"]);
  expect(policy.get("frame-ancestors")).toEqual(["'none'"]);
}

/** Local to the page's origin: a path, never `//host`, `http(s):` or another scheme. */
function expectLocal(urls: string[]): void {
  expect(urls.length).toBeGreaterThan(0);
  for (const url of urls) expect(url, url).toMatch(/^\/(?!\/)/);
}

describe("/docs", () => {
  it("is HTML of this origin only: its scripts and styles are local assets, and it reads /openapi.json", async () => {
    const res = await gate("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    const urls = referencedUrls(html);
    expectLocal(urls);
    expect(urls).toEqual(expect.arrayContaining(["/docs/swagger-ui-bundle.js", "/docs/init.js"]));
    expectStrictScripts(res.headers.get("content-security-policy"));
    for (const url of urls) {
      const file = await asset(url);
      expect(file.status, url).toBe(200);
      await file.body?.cancel();
    }
    const init = await (await asset("/docs/init.js")).text();
    expect(init).toContain("/openapi.json");
    expect(init).not.toMatch(/https?:\/\//);
  });
});

describe("/dashboard", () => {
  it("is a static page under a strict CSP whose scripts and styles are bundled assets of this origin", async () => {
    const res = await asset("/dashboard");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expectStrictScripts(res.headers.get("content-security-policy"));
    expect(directives(res.headers.get("content-security-policy")).get("style-src")).toEqual(["'self'"]);
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    const urls = referencedUrls(html);
    expectLocal(urls);
    expect(urls).toEqual(expect.arrayContaining(["/dashboard/app.js", "/dashboard/app.css"]));
    for (const url of urls) {
      const file = await asset(url);
      expect(file.status, url).toBe(200);
      expectStrictScripts(file.headers.get("content-security-policy"));
      const text = await file.text();
      // The bundle carries no URL it could load: every call it makes is a path of this origin.
      expect(text).not.toMatch(/https?:\/\/(?!www\.w3\.org\/)[a-z0-9.-]+/i);
    }
  });
});

describe("the API is not shadowed by the assets", () => {
  it.each([
    ["/healthz", 200],
    ["/openapi.json", 200],
    ["/docs", 200],
    ["/v1/policy", 401],
    ["/gateway/openai/v1/models", 401],
  ])("%s is the Worker's answer, and no asset has that path", async (path, status) => {
    const file = await asset(path);
    expect(file.status).toBe(404);
    await file.body?.cancel();
    const res = await gate(path);
    expect(res.status).toBe(status);
    expect(res.headers.get("x-request-id")).toMatch(/[0-9a-f-]{36}/);
    await res.body?.cancel();
  });
});
