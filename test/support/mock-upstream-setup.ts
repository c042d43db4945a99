/**
 * Vitest globalSetup for the workers project: start the mock OpenAI and Anthropic upstreams on 127.0.0.1 once
 * per run and provide their base URLs (`upstreamUrl`, `anthropicUrl`) to the pool, which binds them as
 * `OPENAI_BASE_URL` and `ANTHROPIC_BASE_URL` (vitest.config.ts).
 */
import type { TestProject } from "vitest/node";
import { startMockAnthropic, stopMockAnthropic } from "./mock-anthropic";
import { startMockUpstream, stopMockUpstream } from "./mock-upstream";

declare module "vitest" {
  export interface ProvidedContext {
    upstreamUrl: string;
    anthropicUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const openai = await startMockUpstream();
  const anthropic = await startMockAnthropic();
  project.provide("upstreamUrl", openai.url);
  project.provide("anthropicUrl", anthropic.url);
  return async () => {
    await stopMockAnthropic(anthropic.server);
    await stopMockUpstream(openai.server);
  };
}
