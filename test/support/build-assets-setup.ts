/**
 * Global setup of the workers project: the static assets (SPEC §13.2) built into public/ as `npm run build`
 * does, so `env.ASSETS` serves what a deploy would. wrangler builds them itself before dev and deploy; the
 * test pool does not run wrangler's `[build]` command.
 */
import { buildAssets } from "../../scripts/build-assets";

export default async function setup(): Promise<void> {
  await buildAssets();
}
