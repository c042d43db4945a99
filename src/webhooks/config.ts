/** Webhook configuration from the environment (SPEC §1, §7, §11 "Webhooks"). */
import { decodeWebhookSecret } from "./signature";

export type WebhookConfig =
  | { state: "off" }
  | { state: "misconfigured"; reason: string }
  | { state: "on"; url: string; key: Uint8Array };

/** Whether events are delivered, and if not why. Secrets never appear in the reason. */
export function webhookConfig(env: Pick<Env, "WEBHOOK_URL" | "WEBHOOK_SECRET">): WebhookConfig {
  const url = env.WEBHOOK_URL;
  if (url === undefined || url === "") return { state: "off" };
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new Error("scheme");
  } catch {
    return {
      state: "misconfigured",
      reason: "WEBHOOK_URL is not an http(s) URL; events are skipped, never delivered",
    };
  }
  const key = decodeWebhookSecret(env.WEBHOOK_SECRET);
  if (key === null) {
    return {
      state: "misconfigured",
      reason: "WEBHOOK_SECRET is missing or not a valid whsec_ secret; events are skipped, never delivered",
    };
  }
  return { state: "on", url, key };
}
