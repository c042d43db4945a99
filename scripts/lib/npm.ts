/** Running npm from scripts: the same npm and Node that ran the caller when it was started by `npm run`. */
import { spawn } from "node:child_process";
import { ROOT } from "./wrangler";

/** `npm <args>` as [command, args]: npm_execpath under `npm run`, else the npm on PATH. */
export function npmCommand(args: string[]): [string, string[]] {
  const npmCli = process.env.npm_execpath;
  return npmCli?.endsWith(".js") ? [process.execPath, [npmCli, ...args]] : ["npm", args];
}

/** Run `npm <args>` in the repo to completion, stdout and stderr captured together; `env` adds variables. */
export function runNpm(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const [command, fullArgs] = npmCommand(args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, fullArgs, {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    let output = "";
    const collect = (chunk: string): void => {
      output += chunk;
    };
    child.stdout.setEncoding("utf8").on("data", collect);
    child.stderr.setEncoding("utf8").on("data", collect);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}
