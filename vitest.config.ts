import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { WEBHOOK_TEST_SECRET } from "./test/support/webhook-secret.ts";

// The read model's schema (SPEC §13.1), the same files `wrangler d1 migrations apply` reads; a setup file
// applies them to each test file's own D1 (test/support/d1-setup.ts).
const migrations = await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url)));

// The pure core runs on Node (fast, no runtime needed); everything that touches Durable Objects, KV or HTTP
// runs inside workerd through the Workers plugin. Webhook delivery has a project of its own, so that only its
// tests run with WEBHOOK_URL set (a delivery alarm on every other test's events would only add noise).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "test/domain/**/*.test.ts",
            "test/policy/**/*.test.ts",
            "test/webhooks/**/*.unit.test.ts",
            "test/scripts/**/*.unit.test.ts",
          ],
          environment: "node",
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            // Test-only values: a secret never goes into wrangler.toml. A zero policy cache makes a stored
            // policy visible at once to every module instance, as in local dev (SPEC §5.1). The gateway
            // talks to the mock upstreams (OpenAI, Anthropic) the globalSetup started on 127.0.0.1.
            miniflare: {
              bindings: {
                ADMIN_TOKEN: "test-admin-token",
                POLICY_CACHE_SECONDS: "0",
                OPENAI_BASE_URL: inject("upstreamUrl"),
                OPENAI_API_KEY: "sk-test-upstream",
                ANTHROPIC_BASE_URL: inject("anthropicUrl"),
                ANTHROPIC_API_KEY: "sk-ant-test-upstream",
                TEST_MIGRATIONS: migrations,
              },
              // Workers RPC (SPEC §13.3): a second Worker calling `TollgateRpc` through a service binding.
              serviceBindings: { RPC_CALLER: "rpc-caller" },
              workers: [
                {
                  name: "rpc-caller",
                  modules: true,
                  scriptPath: "./test/rpc/caller-worker.js",
                  compatibilityDate: "2026-11-01",
                  // The Worker under test runs as the project's runner Worker, named by the plugin after the
                  // project ("vitest-plugin-runner-<project>"); its named entrypoints are the product's.
                  serviceBindings: {
                    TOLLGATE: { name: "vitest-plugin-runner-workers", entrypoint: "TollgateRpc" },
                  },
                },
              ],
            },
          })),
        ],
        test: {
          name: "workers",
          // Generous: concurrency tests take about 1 s alone and several times that on a loaded 2-core machine.
          testTimeout: 20_000,
          globalSetup: ["./test/support/build-assets-setup.ts", "./test/support/mock-upstream-setup.ts"],
          setupFiles: ["./test/support/d1-setup.ts"],
          include: [
            "test/objects/**/*.test.ts",
            "test/http/**/*.test.ts",
            "test/gateway/**/*.test.ts",
            "test/rpc/**/*.test.ts",
            "test/client/**/*.test.ts",
          ],
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ADMIN_TOKEN: "test-admin-token",
                POLICY_CACHE_SECONDS: "0",
                WEBHOOK_URL: `${inject("webhookReceiverUrl")}/hooks`,
                WEBHOOK_SECRET: WEBHOOK_TEST_SECRET,
                TEST_MIGRATIONS: migrations,
              },
            },
          })),
        ],
        test: {
          name: "webhooks",
          testTimeout: 20_000,
          globalSetup: ["./test/support/webhook-receiver-setup.ts"],
          setupFiles: ["./test/support/d1-setup.ts"],
          include: ["test/webhooks/**/*.test.ts"],
          exclude: ["test/webhooks/**/*.unit.test.ts"],
        },
      },
    ],
  },
});
