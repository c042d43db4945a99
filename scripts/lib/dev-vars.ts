/**
 * `.dev.vars`, wrangler's git-ignored file of local secrets (dotenv syntax). `npm run dev` creates it with a
 * random ADMIN_TOKEN on a fresh clone and never rewrites a line the user wrote.
 */
import { randomBytes } from "node:crypto";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { parseEnv } from "node:util";

export interface DevVars {
  vars: Record<string, string>;
  /** What was done to the file: nothing, created it, or appended a missing ADMIN_TOKEN. */
  change: "none" | "created" | "appended-token";
}

/** A random local admin token (256 bits, base64url: no characters that need quoting anywhere). */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

const HEADER = "# Local secrets for `wrangler dev` (git-ignored). Created by `npm run dev`; edit freely.\n";

/**
 * Read `.dev.vars`, creating it with a random ADMIN_TOKEN when it is missing. A file without ADMIN_TOKEN gets
 * one appended (nothing else in it is touched), so `/v1` never starts as `503 not_configured` locally.
 */
export async function ensureDevVars(path: string): Promise<DevVars> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const token = randomToken();
    // `wx`: never overwrite a file that appeared meanwhile; 0600: it holds a secret.
    await writeFile(path, `${HEADER}ADMIN_TOKEN=${token}\n`, { flag: "wx", mode: 0o600 });
    return { vars: { ADMIN_TOKEN: token }, change: "created" };
  }
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(parseEnv(text))) if (value !== undefined) vars[name] = value;
  if (vars.ADMIN_TOKEN !== undefined && vars.ADMIN_TOKEN !== "") return { vars, change: "none" };
  const token = randomToken();
  const separator = text === "" || text.endsWith("\n") ? "" : "\n";
  await appendFile(
    path,
    `${separator}# Added by \`npm run dev\`: the local admin token.\nADMIN_TOKEN=${token}\n`,
  );
  return { vars: { ...vars, ADMIN_TOKEN: token }, change: "appended-token" };
}
