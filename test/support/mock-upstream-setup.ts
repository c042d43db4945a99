/**
 * Vitest globalSetup for the workers project: start the mock OpenAI upstream on 127.0.0.1 once per run and
 * provide its base URL (`upstreamUrl`) to the pool, which binds it as `OPENAI_BASE_URL` (vitest.config.ts).
 */
import type { TestProject } from "vitest/node";
import { startMockUpstream, stopMockUpstream } from "./mock-upstream";

declare module "vitest" {
  export interface ProvidedContext {
    upstreamUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { server, url } = await startMockUpstream();
  project.provide("upstreamUrl", url);
  return () => stopMockUpstream(server);
}
