declare module "*?raw" {
  const text: string;
  export default text;
}

declare namespace Cloudflare {
  interface Env {
    /** The read model's migrations (vitest.config.ts), applied by test/support/d1-setup.ts. Tests only. */
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}
