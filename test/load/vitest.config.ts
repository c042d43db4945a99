import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `npm run test:load`: the load and fault suite, on Node, against a real `wrangler dev` that the global setup
// starts (not part of `npm test`: it takes minutes). Files run one after another: they share one server and
// a load test must not compete with another for the two cores.
export default defineConfig({
  test: {
    name: "load",
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: ["test/load/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/load/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 150_000,
    hookTimeout: 120_000,
  },
});
