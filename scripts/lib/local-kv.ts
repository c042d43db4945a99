/**
 * The local POLICIES KV that `wrangler dev` reads, written before it serves (`npm run dev` seeding): the
 * layout of src/policy/store.ts, put with `wrangler kv … --local [--persist-to DIR]` (TOOLING.md).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ACTIVE_KEY,
  documentKey,
  LAST_GOOD_KEY,
  type PolicyPointer,
  type StoredPolicy,
} from "../../src/policy/store";
import { runWrangler } from "./wrangler";

/** `--binding POLICIES --local [--persist-to DIR]`: the storage `wrangler dev [--persist-to DIR]` uses. */
function storageArgs(persistTo: string | undefined): string[] {
  return [
    "--binding",
    "POLICIES",
    "--local",
    ...(persistTo === undefined ? [] : ["--persist-to", persistTo]),
  ];
}

/** Whether the local KV has an active pointer (wrangler prints "Value not found" when it has none). */
export async function hasLocalPolicy(persistTo: string | undefined): Promise<boolean> {
  const result = await runWrangler(["kv", "key", "get", ACTIVE_KEY, "--text", ...storageArgs(persistTo)]);
  if (result.code !== 0) throw new Error(`wrangler kv key get failed:\n${result.stderr || result.stdout}`);
  const lastLine = result.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return typeof (JSON.parse(lastLine) as PolicyPointer | null)?.version === "string";
  } catch {
    return false;
  }
}

/**
 * Store a validated policy in the local KV and make it active, in one `wrangler kv bulk put`: the document,
 * `policy:active` and `policy:last-good`. Only for a server that is not running yet: while one runs, its
 * PolicyObject is the one writer (SPEC §11 "Integrity"); it adopts what it finds here on its first write.
 */
export async function seedLocalPolicy(
  persistTo: string | undefined,
  policy: { version: string; document: Record<string, unknown> },
): Promise<void> {
  const updatedAt = new Date().toISOString();
  const stored: StoredPolicy = { version: policy.version, updatedAt, document: policy.document };
  const pointer = JSON.stringify({ version: policy.version, updatedAt } satisfies PolicyPointer);
  const entries = [
    { key: documentKey(policy.version), value: JSON.stringify(stored) },
    { key: ACTIVE_KEY, value: pointer },
    { key: LAST_GOOD_KEY, value: pointer },
  ];
  const dir = await mkdtemp(join(tmpdir(), "tollgate-seed-"));
  try {
    const path = join(dir, "policy.json");
    await writeFile(path, JSON.stringify(entries));
    const result = await runWrangler(["kv", "bulk", "put", path, ...storageArgs(persistTo)]);
    if (result.code !== 0) throw new Error(`wrangler kv bulk put failed:\n${result.stderr || result.stdout}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
