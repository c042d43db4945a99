/** HTTP helpers for tests in the workers pool: every call goes through the Worker's own fetch. */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { expect } from "vitest";

export const BASE = "http://gate.test";
export const AUTH = { Authorization: `Bearer ${env.ADMIN_TOKEN}` };

// biome-ignore lint/suspicious/noExplicitAny: test responses are checked field by field
export type Json = any;

/** Call the gate with the admin token; JSON bodies are serialised, strings sent as they are. */
export async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...AUTH, ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    if (typeof body !== "string") (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  const res = await exports.default.fetch(`${BASE}${path}`, init);
  const text = await res.text();
  let json: Json = null;
  try {
    json = text === "" ? null : JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

/** Call and expect a status; answers the parsed body. */
export async function expectStatus(status: number, method: string, path: string, body?: unknown): Promise<Json> {
  const res = await call(method, path, body);
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.json)}`).toBe(status);
  return res.json;
}

export const ok = (method: string, path: string, body?: unknown) => expectStatus(200, method, path, body);

/** Store a policy (YAML text) and answer its version. */
export async function putPolicy(yaml: string): Promise<string> {
  const res = await call("PUT", "/v1/policy", yaml, { "Content-Type": "application/yaml" });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json.version;
}

export const consume = (body: Json) => ok("POST", "/v1/consume", body);
export const check = (body: Json) => ok("POST", "/v1/check", body);

/** A name unique to this test run, so tests sharing a file's storage do not collide. */
let counter = 0;
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
}
