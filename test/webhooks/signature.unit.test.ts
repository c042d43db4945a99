import { describe, expect, it } from "vitest";
import { webhookConfig } from "../../src/webhooks/config";
import { backoffMs, decodeWebhookSecret, signWebhook } from "../../src/webhooks/signature";

describe("Standard Webhooks signature", () => {
  it("matches the published test vector of the Standard Webhooks spec", async () => {
    const key = decodeWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    expect(key).not.toBeNull();
    const signature = await signWebhook(
      key as Uint8Array,
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
    );
    expect(signature).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it.each([
    undefined,
    "",
    "whsec_",
    "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "whsec_not base64!",
    "whsec_c2hvcnQ=",
  ])("rejects %j as a secret", (secret) => {
    expect(decodeWebhookSecret(secret)).toBeNull();
  });
});

describe("webhook configuration", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  it.each([
    [{}, "off"],
    [{ WEBHOOK_URL: "https://hooks.example/in", WEBHOOK_SECRET: secret }, "on"],
    [{ WEBHOOK_URL: "https://hooks.example/in" }, "misconfigured"],
    [{ WEBHOOK_URL: "https://hooks.example/in", WEBHOOK_SECRET: "sekrit" }, "misconfigured"],
    [{ WEBHOOK_URL: "ftp://hooks.example/in", WEBHOOK_SECRET: secret }, "misconfigured"],
  ])("%j is %s", (env, state) => {
    const config = webhookConfig(env);
    expect(config.state).toBe(state);
    if (config.state === "misconfigured") expect(config.reason).not.toContain("sekrit");
  });
});

describe("backoff", () => {
  it.each([
    [1, 0, 500],
    [1, 1, 1000],
    [2, 1, 2000],
    [5, 1, 16_000],
    [9, 1, 256_000],
    [10, 1, 300_000],
    [40, 0, 150_000],
  ])("attempt %d with jitter %d waits %d ms", (attempts, random, expected) => {
    expect(backoffMs(attempts, random)).toBe(expected);
  });
});
