/** Vitest globalSetup for the webhooks project: a receiver on 127.0.0.1, bound as WEBHOOK_URL. */
import type { TestProject } from "vitest/node";
import { startWebhookReceiver } from "./webhook-receiver";

declare module "vitest" {
  export interface ProvidedContext {
    webhookReceiverUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { server, url } = await startWebhookReceiver();
  project.provide("webhookReceiverUrl", url);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
