/**
 * The gateway's own error handler (SPEC §6, §11 "Secrets"): an exception nobody expected is answered in
 * OpenAI's shape, with the request id, and logged once without secrets.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/index";
import { GATEWAY_BASE, storeGatewayPolicy } from "./helpers";

beforeAll(async () => {
  await storeGatewayPolicy();
});

afterEach(() => vi.restoreAllMocks());

describe("an unexpected exception in the gateway", () => {
  it("is 500 internal in OpenAI's shape, with X-Request-Id, logged without secrets", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    // Broken bindings: the key lookup throws where it first needs one.
    const broken = { ...env, ALTERNATE_IDS: undefined, CUSTOMERS: undefined } as unknown as Env;
    const res = await createApp().fetch(
      new Request(`${GATEWAY_BASE}/chat/completions`, {
        method: "POST",
        headers: { Authorization: "Bearer sk-no-such-key", "X-Request-Id": "gw-boom-1" },
        body: "{}",
      }),
      broken,
      createExecutionContext(),
    );
    expect(res.status).toBe(500);
    expect(res.headers.get("x-request-id")).toBe("gw-boom-1");
    expect(await res.json()).toEqual({
      error: {
        message: "internal error; quote the request id when reporting it",
        type: "server_error",
        code: "internal",
        param: null,
      },
    });
    expect(error).toHaveBeenCalledTimes(1);
    const line = String(error.mock.calls[0]?.[0]);
    expect(JSON.parse(line)).toMatchObject({
      level: "error",
      msg: "unhandled exception",
      requestId: "gw-boom-1",
      method: "POST",
    });
    for (const secret of [env.OPENAI_API_KEY ?? "?", env.ADMIN_TOKEN ?? "?", "sk-no-such-key"]) {
      expect(line).not.toContain(secret);
    }
    // The access log still has its one line for the request.
    expect(log).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(log.mock.calls[0]?.[0]))).toMatchObject({ requestId: "gw-boom-1", status: 500 });
  });
});
