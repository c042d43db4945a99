/** The redaction helper (SPEC §11 "Secrets"): byte-exact replacement, the 1 MiB cap, a cut key's tail. */
import { describe, expect, it } from "vitest";
import {
  readAtMost,
  redactBytes,
  redactedUpstreamError,
  UPSTREAM_ERROR_LIMIT_BYTES,
} from "../../src/gateway/core/redaction";

const UPSTREAM_KEY = "sk-test-upstream";

describe("the redaction helper", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  const text = (data: Uint8Array) => new TextDecoder().decode(data);

  it("replaces every occurrence, byte for byte elsewhere", () => {
    const body = new Uint8Array([0xff, ...bytes("a sk-key b sk-keysk-key"), 0xfe]);
    const out = redactBytes(body, "sk-key");
    expect([...out.slice(0, 1), ...out.slice(-1)]).toEqual([0xff, 0xfe]);
    expect(text(out.slice(1, -1))).toBe("a [redacted] b [redacted][redacted]");
  });

  it("a truncated body loses a tail that could start the key", () => {
    expect(text(redactBytes(bytes("x sk-ke"), "sk-key", true))).toBe("x ");
    expect(text(redactBytes(bytes("x sk-ke"), "sk-key", false))).toBe("x sk-ke");
  });

  it("reads at most 1 MiB of an error and redacts what it keeps", async () => {
    const big = `${"x".repeat(UPSTREAM_ERROR_LIMIT_BYTES - 4)}${UPSTREAM_KEY}${"y".repeat(1000)}`;
    const capped = await readAtMost(new Response(big).body, UPSTREAM_ERROR_LIMIT_BYTES);
    expect(capped).toMatchObject({ truncated: true });
    expect(capped.bytes.byteLength).toBe(UPSTREAM_ERROR_LIMIT_BYTES);
    const reply = await redactedUpstreamError(
      new Response(big, { status: 500, headers: { "x-echo": UPSTREAM_KEY } }),
      UPSTREAM_KEY,
    );
    const body = await reply.text();
    expect(body).toBe("x".repeat(UPSTREAM_ERROR_LIMIT_BYTES - 4));
    expect(reply.headers.get("x-echo")).toBe("[redacted]");
  });
});
