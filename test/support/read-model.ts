/**
 * Helpers for read-model tests (SPEC §13.1): the two routes, every page of the listing, and a customer
 * object's analytics port swapped inside the object (D1 failing, a run that throws mid-way) and put back.
 */
import { runInDurableObject } from "cloudflare:test";
import type { AnalyticsPort } from "../../src/objects/ports";
import { customerStub, type Json, ok } from "./api";

/** `GET /v1/usage?<query>` (200 expected). */
export const usage = (query: string): Promise<Json> => ok("GET", `/v1/usage?${query}`);

/** Every customer `GET /v1/customers?<query>` lists, following `next` with pages of `limit`. */
export async function listAll(query: string, limit = 100): Promise<Json[]> {
  const customers: Json[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const q = new URLSearchParams(query);
    q.set("limit", String(limit));
    if (cursor !== null) q.set("cursor", cursor);
    const body = await ok("GET", `/v1/customers?${q}`);
    customers.push(...body.customers);
    cursor = body.next;
    if (cursor === null) return customers;
  }
  throw new Error("more than 1000 pages");
}

/** The object's private port fields (reaching them is the point of these helpers). */
type PortHolder = { analytics: AnalyticsPort; realAnalytics?: AnalyticsPort };

/** Replace `id`'s analytics port (given the real one) until `restoreAnalytics`. */
export async function swapAnalytics(id: string, make: (real: AnalyticsPort) => AnalyticsPort): Promise<void> {
  await runInDurableObject(customerStub(id), (instance: unknown) => {
    const holder = instance as PortHolder;
    holder.realAnalytics ??= holder.analytics;
    holder.analytics = make(holder.realAnalytics);
  });
}

/** Put the real analytics port back. */
export async function restoreAnalytics(id: string): Promise<void> {
  await runInDurableObject(customerStub(id), (instance: unknown) => {
    const holder = instance as PortHolder;
    if (holder.realAnalytics !== undefined) holder.analytics = holder.realAnalytics;
  });
}

/** Sum of `amount` per value of `key` in a series. */
export function sumBy(series: Json[], key: (point: Json) => string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const point of series) sums.set(key(point), (sums.get(key(point)) ?? 0) + point.amount);
  return sums;
}
