/**
 * Malformed and hostile input (SPEC §5, §8 "bad input gets a clear 4xx and changes nothing"): huge numbers,
 * NaN-like strings, deep JSON, 1 MiB bodies, control characters, header injection and oversized headers,
 * against a real server. A customer in an org with usage and a live hold is the target; its state, its org's,
 * their event logs and the policy are compared before and after. Valid Unicode identifiers must work.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { gate, type Json, LOAD_POLICY, putLoadPolicy, type RawReply, rawRequest } from "./support";

const client = gate();
const VICTIM = "hostile_victim";
const VICTIM_ORG = "hostile_org";
const VICTIM_KEY = "hostile-kéy-🔑";
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MiB = 1024 * 1024;

const nest = (depth: number, open: string, close: string, inner = "1") =>
  open.repeat(depth) + inner + close.repeat(depth);

/** Everything a bad request must leave as it was. */
async function snapshot() {
  const policy = await client.expect("GET", "/v1/policy");
  const events = async (id: string) =>
    (await client.allEvents(id)).events.map((e: Json) => `${e.seq}:${e.type}`);
  return {
    policy: { version: policy.version, updatedAt: policy.updatedAt },
    victim: await client.getState(VICTIM),
    org: await client.getState(VICTIM_ORG),
    victimEvents: await events(VICTIM),
    orgEvents: await events(VICTIM_ORG),
    byKey: (await client.getCustomer(VICTIM_KEY)).id,
  };
}

/** Expect an error envelope with `status` and `code`. */
function expectError(reply: { status: number | null; json: Json }, status: number, code: string) {
  expect({ status: reply.status, code: reply.json?.error?.code }).toEqual({ status, code });
}

/**
 * A body over a limit, sent over a raw socket: the gate answers 413 as soon as it sees the declared length and
 * may close the connection while a client is still writing the body (fetch then fails with EPIPE before
 * reading the answer).
 */
async function sendOversized(method: string, path: string, body: string, contentType: string) {
  const reply = await rawRequest(
    client.base.toString(),
    `${method} ${path} HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer ${client.token}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  let json: Json = null;
  try {
    json = JSON.parse(reply.body) as Json;
  } catch {
    json = null;
  }
  return { status: reply.status, json };
}

const consumeBody = (fields: Record<string, unknown>) => ({
  customer: VICTIM,
  entitlement: "tokens",
  ...fields,
});

describe("malformed and hostile input", () => {
  let before: Awaited<ReturnType<typeof snapshot>>;
  let holdId: string;

  beforeAll(async () => {
    await putLoadPolicy(client);
    await client.putCustomer(VICTIM_ORG, { type: "org" });
    await client.putCustomer(VICTIM, {
      org: VICTIM_ORG,
      alternateIds: [VICTIM_KEY],
      metadata: { tier: "gold" },
    });
    await client.expect("POST", "/v1/consume", consumeBody({ amount: 10 }));
    await client.expect("POST", "/v1/consume", { customer: VICTIM, entitlement: "seats" });
    const hold = await client.expect("POST", "/v1/reserve", consumeBody({ amount: 5, ttl: "1h" }));
    holdId = hold.holdId;
    before = await snapshot();
  });

  describe("numbers", () => {
    it.each([
      1e16,
      1e308,
      -1,
      -0.5,
      "NaN",
      "nan",
      "Infinity",
      "-Infinity",
      "1e999",
      "0x10",
      "0b1",
      "1_000",
      "12abc",
      "١٢",
      "１２",
      "",
      " ",
      "1e16",
      "5 GB",
    ])("consume amount %j is 400 invalid_amount", async (amount) => {
      expectError(await client.call("POST", "/v1/consume", consumeBody({ amount })), 400, "invalid_amount");
    });

    it("a JSON literal past double range (1e400) is 400", async () => {
      const reply = await client.call(
        "POST",
        "/v1/consume",
        `{"customer":"${VICTIM}","entitlement":"tokens","amount":1e400}`,
      );
      expect(reply.status).toBe(400);
      expect(["invalid_amount", "invalid_request"]).toContain(reply.json.error.code);
    });

    it.each([null, true, [1], { $gt: 0 }])("consume amount %j is 400 invalid_request", async (amount) => {
      expectError(await client.call("POST", "/v1/consume", consumeBody({ amount })), 400, "invalid_request");
    });

    it.each(["NaN", 1e20, -5, 0, "1 fortnight", "8d"])(
      "reserve ttl %j is 400 invalid_request",
      async (ttl) => {
        expectError(
          await client.call("POST", "/v1/reserve", consumeBody({ amount: 1, ttl })),
          400,
          "invalid_request",
        );
      },
    );

    it.each(["NaN", -1, 1e16])(
      "settling the live hold with amount %j is 400 invalid_amount",
      async (amount) => {
        expectError(
          await client.call("POST", "/v1/settle", { customer: VICTIM, holdId, amount }),
          400,
          "invalid_amount",
        );
      },
    );

    it.each(["limit=0", "limit=1001", "limit=NaN", "after=-1", "after=1e400", "limit=1.5", "bogus=1"])(
      "events query %s is 400 invalid_request",
      async (query) => {
        expectError(
          await client.call("GET", `/v1/customers/${VICTIM}/events?${query}`),
          400,
          "invalid_request",
        );
      },
    );

    it("a check with the largest allowed amount is a denial and records nothing", async () => {
      const reply = await client.expect("POST", "/v1/check", consumeBody({ amount: 1e15 }));
      expect(reply).toMatchObject({ allowed: false, reason: "limit_exceeded" });
    });
  });

  describe("structure", () => {
    it("10,000 nested arrays as the body are 400 invalid_request", async () => {
      expectError(
        await client.call("POST", "/v1/consume", nest(10_000, "[", "]", "")),
        400,
        "invalid_request",
      );
    });

    it("10,000 nested arrays as the amount are 400 invalid_request", async () => {
      const body = `{"customer":"${VICTIM}","entitlement":"tokens","amount":${nest(10_000, "[", "]")}}`;
      expectError(await client.call("POST", "/v1/consume", body), 400, "invalid_request");
    });

    it("deep metadata with an unknown field is 400 invalid_request", async () => {
      const body = `{"metadata":${nest(10_000, '{"a":', "}")},"bogus":1}`;
      expectError(await client.call("PUT", `/v1/customers/${VICTIM}`, body), 400, "invalid_request");
    });

    it("5,000 levels of nested metadata are refused with a 4xx, not a 500", async () => {
      const reply = await client.call(
        "PUT",
        `/v1/customers/${VICTIM}`,
        `{"metadata":${nest(5_000, '{"a":', "}")}}`,
      );
      expect(reply.status, reply.text.slice(0, 300)).toBeGreaterThanOrEqual(400);
      expect(reply.status, reply.text.slice(0, 300)).toBeLessThan(500);
    });

    it.each([
      ["arrays", nest(10_000, "[", "]", "")],
      ["objects", `{"credits":${nest(10_000, '{"a":', "}")}}`],
    ])("a policy of 10,000 nested JSON %s is 400 invalid_policy", async (_kind, body) => {
      expectError(await client.call("PUT", "/v1/policy", body), 400, "invalid_policy");
      expectError(await client.call("POST", "/v1/policy/validate", body), 400, "invalid_policy");
    });

    it("a policy of 100,000 nested YAML flow sequences is 400 invalid_policy", async () => {
      const body = `credits: ${nest(100_000, "[", "]", "")}`;
      const reply = await client.call("PUT", "/v1/policy", body, { "content-type": "application/yaml" });
      expectError(reply, 400, "invalid_policy");
    });

    it("a YAML alias bomb is 400 invalid_policy", async () => {
      const levels = ["a", "b", "c", "d", "e", "f", "g", "h"];
      const lines = [`a: &a [${Array(9).fill('"x"').join(",")}]`];
      for (let i = 1; i < levels.length; i++) {
        lines.push(
          `${levels[i]}: &${levels[i]} [${Array(9)
            .fill(`*${levels[i - 1]}`)
            .join(",")}]`,
        );
      }
      const reply = await client.call("PUT", "/v1/policy", lines.join("\n"), {
        "content-type": "application/yaml",
      });
      expectError(reply, 400, "invalid_policy");
    });

    it.each([
      ['{"customer":"x"', "invalid_json"],
      ["{'customer':'x'}", "invalid_json"],
      ["", "invalid_request"],
      ["null", "invalid_request"],
      ['"hostile"', "invalid_request"],
    ])("body %j is 400 %s", async (body, code) => {
      expectError(await client.call("POST", "/v1/consume", body), 400, code);
    });

    it("bytes that are not UTF-8 are 400 invalid_json", async () => {
      const res = await fetch(new URL("/v1/consume", client.base), {
        method: "POST",
        headers: { authorization: `Bearer ${client.token}`, "content-type": "application/json" },
        body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      });
      expectError({ status: res.status, json: await res.json() }, 400, "invalid_json");
    });

    it.each([
      ['{"__proto__":{"allowed":true}}', "invalid_request"],
      ['{"constructor":{"prototype":{"allowed":true}}}', "invalid_request"],
      ['{"unknownField":1}', "invalid_request"],
    ])("extra key in %s is 400 %s", async (extra, code) => {
      const body = `{"customer":"${VICTIM}","entitlement":"tokens",${extra.slice(1, -1)}}`;
      expectError(await client.call("POST", "/v1/consume", body), 400, code);
    });

    it.each(["__proto__", "constructor", "toString", "hasOwnProperty"])(
      "entitlement %s is 400 unknown_entitlement",
      async (entitlement) => {
        expectError(
          await client.call("POST", "/v1/consume", consumeBody({ entitlement })),
          400,
          "unknown_entitlement",
        );
      },
    );

    it.each([
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/xml",
    ])("Content-Type %s is 415", async (type) => {
      const reply = await client.call("POST", "/v1/consume", JSON.stringify(consumeBody({})), {
        "content-type": type,
      });
      expectError(reply, 415, "unsupported_media_type");
    });
  });

  describe("sizes", () => {
    it("a 1 MiB consume body is 413 payload_too_large", async () => {
      const body = JSON.stringify(consumeBody({ idempotencyKey: "x".repeat(MiB) }));
      const reply = await sendOversized("POST", "/v1/consume", body, "application/json");
      expectError(reply, 413, "payload_too_large");
    });

    it("a 1 MiB consume body sent chunked (no Content-Length) is 413", async () => {
      const chunk = "x".repeat(64 * 1024);
      const parts = [
        `{"customer":"${VICTIM}","entitlement":"tokens","idempotencyKey":"`,
        ...Array(16).fill(chunk),
        '"}',
      ];
      const body = parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join("");
      const reply = await rawRequest(
        client.base.toString(),
        `POST /v1/consume HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer ${client.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}0\r\n\r\n`,
      );
      expect(reply.status).toBe(413);
    });

    // Against `wrangler dev` (TOLLGATE_LOAD_URL) its proxy Worker waits for the declared body before passing the
    // request on, so the gate never sees it: that is the dev proxy's behaviour, not the gate's.
    it.skipIf(Boolean(process.env.TOLLGATE_LOAD_URL))(
      "a declared Content-Length over the limit is 413 before the body is read",
      async () => {
        const reply = await rawRequest(
          client.base.toString(),
          `POST /v1/consume HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer ${client.token}\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n{}`,
        );
        expect(reply.status).toBe(413);
      },
    );

    it("a policy of exactly 1 MiB is accepted and, being the same policy, changes nothing", async () => {
      const base = `${LOAD_POLICY}\n# `;
      const padded = base + "x".repeat(MiB - Buffer.byteLength(base));
      expect(Buffer.byteLength(padded)).toBe(MiB);
      const reply = await client.call("PUT", "/v1/policy", padded, { "content-type": "application/yaml" });
      expect(reply.status, reply.text.slice(0, 300)).toBe(200);
      expect(reply.json.version).toBe(before.policy.version);
    });

    it("a policy of 1 MiB + 1 byte is 413", async () => {
      const base = `${LOAD_POLICY}\n# `;
      const padded = base + "x".repeat(MiB + 1 - Buffer.byteLength(base));
      expectError(
        await sendOversized("PUT", "/v1/policy", padded, "application/yaml"),
        413,
        "payload_too_large",
      );
    });

    it("a state body over 1 MiB is 413", async () => {
      const state = { ...before.victim, customer: { ...before.victim.customer, label: "x".repeat(MiB) } };
      expectError(
        await sendOversized(
          "PUT",
          `/v1/customers/${VICTIM}/state`,
          JSON.stringify(state),
          "application/json",
        ),
        413,
        "payload_too_large",
      );
    });
  });

  describe("identifiers", () => {
    const controls = ["\u0000", "\u0007", "\n", "\r", "\t", "\u001b", "\u007f", "\u0085", "\u009f"];

    it.each(controls)(
      "a control character %j in customer, entitlement, key or alternate ID is 400",
      async (ch) => {
        for (const body of [
          consumeBody({ customer: `a${ch}b` }),
          consumeBody({ entitlement: `tok${ch}ens` }),
          consumeBody({ idempotencyKey: `k${ch}` }),
        ]) {
          expectError(await client.call("POST", "/v1/consume", body), 400, "invalid_request");
        }
        expectError(
          await client.call("PUT", `/v1/customers/${VICTIM}`, { alternateIds: [`alt${ch}`] }),
          400,
          "invalid_request",
        );
        expectError(
          await client.call("PUT", `/v1/customers/${encodeURIComponent(`new${ch}id`)}`, {}),
          400,
          "invalid_request",
        );
      },
    );

    it("identifiers over 256 characters are 400", async () => {
      expectError(
        await client.call("POST", "/v1/consume", consumeBody({ idempotencyKey: "k".repeat(257) })),
        400,
        "invalid_request",
      );
      expectError(await client.call("PUT", `/v1/customers/${"é".repeat(257)}`, {}), 400, "invalid_request");
    });

    it("a settle of a hold that does not exist is 404 hold_not_found", async () => {
      expectError(
        await client.call("POST", "/v1/settle", {
          customer: VICTIM,
          holdId: "hold_does_not_exist",
          amount: 1,
        }),
        404,
        "hold_not_found",
      );
    });

    it("a path that climbs (../) names no customer", async () => {
      expectError(
        await client.call("GET", `/v1/customers/${encodeURIComponent("../../v1/policy")}`),
        404,
        "customer_not_found",
      );
    });
  });

  describe("headers", () => {
    const url = () => client.base.toString();
    const body = JSON.stringify(consumeBody({ amount: 1 }));
    const check = JSON.stringify(consumeBody({ amount: 1 }));
    const request = (
      path: string,
      extra: string,
      payload: string,
      auth = `Authorization: Bearer ${client.token}\r\n`,
    ) =>
      `POST ${path} HTTP/1.1\r\nHost: gate\r\n${auth}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n${extra}\r\n${payload}`;

    /** Nothing the client put in a header comes back as a header of its own. */
    function expectNoInjection(reply: RawReply) {
      const names = reply.headers.map(([name]) => name);
      expect(names).not.toContain("set-cookie");
      expect(names).not.toContain("x-injected");
      for (const [name, value] of reply.headers) {
        if (name === "x-request-id") expect(value).toMatch(SANE_REQUEST_ID);
      }
    }

    it.each([
      ["a bare CR in a header value", "X-Request-Id: abc\rSet-Cookie: a=b\r\n"],
      ["a NUL in a header value", "X-Request-Id: abc\u0000def\r\n"],
      ["an obsolete line fold", "X-Request-Id: abc\r\n Set-Cookie: a=b\r\n"],
      ["a space in a header name", "X Injected: yes\r\n"],
    ])("%s on a consume is 400 and records nothing", async (_name, extra) => {
      const reply = await rawRequest(url(), request("/v1/consume", extra, body));
      expect(reply.status, reply.head).toBe(400);
      expectNoInjection(reply);
    });

    it("a CR inside the Authorization header is refused", async () => {
      const reply = await rawRequest(
        url(),
        request("/v1/consume", "", body, `Authorization: Bearer ${client.token}\rX-Injected: yes\r\n`),
      );
      expect([400, 401]).toContain(reply.status);
      expectNoInjection(reply);
    });

    it.each([
      ["a bare LF, read as a line end", "X-Request-Id: abc\nX-Injected: yes\r\n"],
      ["an encoded CRLF", "X-Request-Id: abc%0d%0aSet-Cookie:%20a=b\r\n"],
      ["a request id with markup", "X-Request-Id: <script>alert(1)</script>\r\n"],
      ["a 200-character request id", `X-Request-Id: ${"a".repeat(200)}\r\n`],
    ])("%s never reaches a response header", async (_name, extra) => {
      const reply = await rawRequest(url(), request("/v1/check", extra, check));
      expect(reply.status, reply.head).toBe(200);
      expectNoInjection(reply);
    });

    it("a 1 MiB header is 431 and records nothing", async () => {
      const reply = await rawRequest(url(), request("/v1/consume", `X-Pad: ${"a".repeat(MiB)}\r\n`, body));
      expect([400, 431]).toContain(reply.status);
    });

    it("conflicting Content-Length and Transfer-Encoding never run a body twice", async () => {
      const reply = await rawRequest(
        url(),
        `POST /v1/consume HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer ${client.token}\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n${body}`,
      );
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.status).toBeLessThan(500);
    });

    it.each(["-1", "abc", "1, 2"])("Content-Length %s is 400", async (length) => {
      const reply = await rawRequest(
        url(),
        `POST /v1/consume HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer ${client.token}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n${body}`,
      );
      expect(reply.status).toBe(400);
    });

    it("a wrong, empty or oversized bearer token is 401", async () => {
      for (const auth of [
        "Bearer wrong",
        "Bearer ",
        "Basic abc",
        `Bearer ${client.token}x`,
        `Bearer ${"t".repeat(8192)}`,
      ]) {
        const reply = await client.call("POST", "/v1/consume", consumeBody({}), { authorization: auth });
        expectError(reply, 401, "unauthorized");
      }
    });
  });

  it("changed nothing: state, holds, events, alternate IDs and the policy are as before", async () => {
    expect(await snapshot()).toEqual(before);
  });
});

describe("unicode identifiers", () => {
  const ids = [
    "用户-001",
    "émilie",
    "ユーザー",
    "مستخدم",
    "🦄-unicorn",
    "a b c",
    "z\u0301a\u0308l\u0327g\u030co",
    "é".repeat(256),
    "😀".repeat(128),
  ];

  beforeAll(async () => {
    await putLoadPolicy(client);
  });

  it.each(ids.map((id, i) => [i, id] as const))(
    "customer #%i works by id and by alternate ID",
    async (i, id) => {
      const alternate = `clé-${i}-🔑`;
      const view = await client.putCustomer(id, {
        alternateIds: [alternate],
        label: `label ${id.slice(0, 20)}`,
      });
      expect(view.id).toBe(id);
      const byId = await client.expect("POST", "/v1/consume", {
        customer: id,
        entitlement: "tokens",
        amount: 3,
      });
      const byAlternate = await client.expect("POST", "/v1/consume", {
        customer: alternate,
        entitlement: "tokens",
        amount: 4,
      });
      expect([byId.customer, byAlternate.customer]).toEqual([id, id]);
      expect(byAlternate.used).toBe(7);
      expect((await client.getCustomer(alternate)).meters.tokens.used).toBe(7);
      const state = await client.getState(id);
      expect(state.customer.id).toBe(id);
      const { events } = await client.allEvents(alternate);
      expect(events.filter((e: Json) => e.type === "meter.changed").map((e: Json) => e.customer)).toEqual([
        id,
        id,
      ]);
    },
  );

  it("keeps canonically equivalent but different strings apart (no silent normalisation)", async () => {
    const composed = "caf\u00e9-nfc";
    const decomposed = "cafe\u0301-nfc";
    await client.putCustomer(composed, {});
    await client.putCustomer(decomposed, {});
    await client.expect("POST", "/v1/consume", { customer: composed, entitlement: "tokens", amount: 2 });
    expect((await client.getCustomer(composed)).meters.tokens.used).toBe(2);
    expect((await client.getCustomer(decomposed)).meters.tokens?.used ?? 0).toBe(0);
  });
});
