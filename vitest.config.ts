import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects: the pure core runs on Node (fast, no runtime needed); everything that
// touches Durable Objects, KV or HTTP runs inside workerd through the Workers plugin.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/domain/**/*.test.ts", "test/policy/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            // Test-only values: a secret never goes into wrangler.toml. A zero policy cache makes a stored
            // policy visible at once to every module instance, as in local dev (SPEC §5.1). The gateway
            // talks to the mock upstream the globalSetup started on 127.0.0.1.
            miniflare: {
              bindings: {
                ADMIN_TOKEN: "test-admin-token",
                POLICY_CACHE_SECONDS: "0",
                OPENAI_BASE_URL: inject("upstreamUrl"),
                OPENAI_API_KEY: "sk-test-upstream",
              },
            },
          })),
        ],
        test: {
          name: "workers",
          globalSetup: ["./test/support/mock-upstream-setup.ts"],
          include: ["test/objects/**/*.test.ts", "test/http/**/*.test.ts", "test/gateway/**/*.test.ts"],
        },
      },
    ],
  },
});
