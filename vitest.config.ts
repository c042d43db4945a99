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
        plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
        test: {
          name: "workers",
          include: ["test/objects/**/*.test.ts", "test/http/**/*.test.ts", "test/gateway/**/*.test.ts"],
        },
      },
    ],
  },
});
