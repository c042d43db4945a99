/** Each test file's D1 gets the read model's schema (migrations/), as `wrangler d1 migrations apply` gives it. */
import { applyD1Migrations, env } from "cloudflare:test";

await applyD1Migrations(env.ANALYTICS, env.TEST_MIGRATIONS);
