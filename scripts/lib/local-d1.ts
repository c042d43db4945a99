/**
 * The local D1 read model that `wrangler dev` reads (SPEC §13.1): its migrations (migrations/) applied with
 * `wrangler d1 migrations apply ANALYTICS --local [--persist-to DIR]` before serving, like the KV seeding.
 */
import { runWrangler } from "./wrangler";

/**
 * Apply the read model's pending migrations to the local D1 (of the repo's wrangler.toml, or of `config`);
 * throws with wrangler's output on failure.
 */
export async function applyLocalMigrations(persistTo: string | undefined, config?: string): Promise<void> {
  const result = await runWrangler([
    "d1",
    "migrations",
    "apply",
    "ANALYTICS",
    "--local",
    ...(persistTo === undefined ? [] : ["--persist-to", persistTo]),
    ...(config === undefined ? [] : ["--config", config]),
  ]);
  if (result.code !== 0) {
    throw new Error(`wrangler d1 migrations apply failed:\n${result.stderr || result.stdout}`);
  }
}
