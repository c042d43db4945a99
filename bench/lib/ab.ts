/**
 * Same-run A/B for the bench scripts (`bench/http-ab.ts`, `bench/gateway-ab.ts`): the product at a base git
 * ref (A) and the working tree (B), each bundled as `wrangler deploy` would and served in its own workerd,
 * beside the floors of bench/baseline. Both sides serve the working tree's static assets (`npm run build`):
 * the assets are not what is compared.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleWorker, type ServedWorker, serveWorker } from "./runtime";

const root = new URL("../..", import.meta.url).pathname;

/** The floors, A and B, served; the admin token both products take. */
export interface AbSides {
  floor: ServedWorker;
  a: ServedWorker;
  b: ServedWorker;
  token: string;
  /** Stop every workerd and remove the build. */
  dispose(): Promise<void>;
}

/**
 * Bundle and serve the floors, the product at `base` and the working tree. `vars` go to all three (the
 * products also get a fresh `ADMIN_TOKEN` and the production policy cache of 10 s).
 */
export async function serveAb(
  base: string,
  vars: Record<string, string>,
  log: (line: string) => void,
): Promise<AbSides> {
  const build = mkdtempSync(join(tmpdir(), "tollgate-ab-"));
  const served: ServedWorker[] = [];
  const dispose = async () => {
    for (const s of served) await s.dispose();
    rmSync(build, { recursive: true, force: true });
  };
  try {
    const baseTree = join(build, "base-src");
    execFileSync("mkdir", ["-p", baseTree]);
    execFileSync("sh", ["-c", `git -C ${root} archive ${base} | tar -x -C ${baseTree}`]);
    symlinkSync(join(root, "node_modules"), join(baseTree, "node_modules"));
    symlinkSync(join(root, "public"), join(baseTree, "public"));
    log(`bundling base (${base}), working tree and floor ...`);
    const [baseBundle, curBundle, floorBundle] = await Promise.all([
      bundleWorker(join(baseTree, "wrangler.toml"), join(build, "a")),
      bundleWorker(join(root, "wrangler.toml"), join(build, "b")),
      bundleWorker(join(root, "bench/baseline/wrangler.toml"), join(build, "floor")),
    ]);
    const token = randomBytes(16).toString("hex");
    const productVars = { ...vars, ADMIN_TOKEN: token, POLICY_CACHE_SECONDS: "10" };
    const serve = async (name: string, configPath: string, bundlePath: string, v: Record<string, string>) => {
      const worker = await serveWorker({ name, configPath, bundlePath, vars: v });
      served.push(worker);
      return worker;
    };
    const floor = await serve("floor", join(root, "bench/baseline/wrangler.toml"), floorBundle, vars);
    const a = await serve("tollgate", join(baseTree, "wrangler.toml"), baseBundle, productVars);
    const b = await serve("tollgate", join(root, "wrangler.toml"), curBundle, productVars);
    return { floor, a, b, token, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
