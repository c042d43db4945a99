/**
 * Hostile query parameters (SPEC §11 "Bounds": `after` and `limit` are ASCII decimal integers), against a real
 * server: each spelling is `400 invalid_request`, never a 5xx, and the event log reads the same afterwards.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { gate, putLoadPolicy, rawRequest } from "./support";

const client = gate();
const VICTIM = "hostile_queries_victim";
const events = `/v1/customers/${VICTIM}/events`;

const BAD_VALUES = [
  "0x10",
  "0X10",
  "0b1",
  "0o7",
  "%201",
  "1%20",
  "%091",
  "+1",
  "%2B1",
  "-1",
  "-0",
  "1e2",
  "1E2",
  "1.0",
  "1.",
  ".5",
  "",
  "%00",
  "1%00",
  "NaN",
  "Infinity",
  "%EF%BC%91", // fullwidth 1
  "%E0%A5%A7", // Devanagari 1
  "%D9%A1", // Arabic-Indic 1
  "1_000",
  "99999999999999999999",
  "9".repeat(400),
  "%FF",
  "%",
  "1,2",
  "[1]",
];

describe("hostile query parameters", () => {
  let before: string[];

  beforeAll(async () => {
    await putLoadPolicy(client);
    await client.putCustomer(VICTIM, {});
    for (let i = 0; i < 3; i++) {
      await client.expect("POST", "/v1/consume", { customer: VICTIM, entitlement: "tokens", amount: 1 });
    }
    before = (await client.expect("GET", events)).events.map((e: { seq: number }) => e.seq);
  });

  it.each(BAD_VALUES.flatMap((value) => [`after=${value}`, `limit=${value}`]))(
    "events?%s is 400 invalid_request",
    async (query) => {
      const reply = await client.call("GET", `${events}?${query}`);
      expect({ status: reply.status, code: reply.json?.error?.code }, reply.text.slice(0, 300)).toEqual({
        status: 400,
        code: "invalid_request",
      });
    },
  );

  it.each([
    "limit=1&limit=2",
    "after=1&after=0x10",
    "limit=1&bogus=1",
    "limit[]=1",
    "after[a]=1",
    `${"a".repeat(4096)}=1`,
    `after=${"1".repeat(8192)}`,
  ])("events?%s answers without a 5xx", async (query) => {
    const reply = await client.call("GET", `${events}?${query}`);
    expect(reply.status).toBeLessThan(500);
  });

  it.each([
    ["an unencoded space", "limit= 1"],
    ["an unencoded tab", "limit=\t1"],
    ["a raw non-ASCII digit", "limit=\u0661"],
    ["a raw NUL", "after=\u00001"],
  ])("%s in the request line answers without a 5xx", async (_name, query) => {
    const reply = await rawRequest(
      client.base.toString(),
      Buffer.from(
        `GET ${events}?${query} HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer ${client.token}\r\nConnection: close\r\n\r\n`,
        "utf8",
      ),
    );
    if (reply.status !== null) expect(reply.status).toBeLessThan(500);
  });

  it("plain decimal values still page, and the log is as it was", async () => {
    const page = await client.expect("GET", `${events}?after=0&limit=002`);
    expect(page.events.map((e: { seq: number }) => e.seq)).toEqual(before.slice(0, 2));
    expect((await client.expect("GET", events)).events.map((e: { seq: number }) => e.seq)).toEqual(before);
  });
});
