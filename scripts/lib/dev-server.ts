/**
 * `npm run dev` as a child process for scripts: started in its own process group so that stopping it is a
 * terminal's Ctrl+C (SIGINT to the group), with its output kept for a failure report.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import { type ApiClient, createClient } from "./client";
import { isPortFree, pollUntil, sleep, waitForHealth } from "./net";
import { npmCommand } from "./npm";
import { ROOT } from "./wrangler";

export interface DevServer {
  port: number;
  persistTo: string;
  baseUrl: string;
  api: ApiClient;
  /** Everything the server printed, stdout and stderr interleaved by line. */
  output: string[];
  /** Exit code (or 128+signal) once it has exited; null while it runs. */
  exitCode: number | null;
  child: ChildProcess;
  exited: Promise<number>;
}

export interface StartOptions {
  port: number;
  persistTo: string;
  token: string;
  timeoutMs: number;
  /** More `--var NAME:VALUE` for the Worker (the upstream, the webhook receiver…). */
  vars?: Record<string, string>;
  /** More arguments for `npm run dev` (passed on to wrangler dev, e.g. `--assets DIR`). */
  args?: string[];
  /** Echo the server's output as it comes. */
  echo?: boolean;
  /** Called as soon as the process exists, before it is ready: register it for clean-up here. */
  onSpawn?: (server: DevServer) => void;
}

/**
 * Start `npm run dev -- --port P --persist-to DIR --var ADMIN_TOKEN:T [--var NAME:VALUE …]` and wait until it serves and a policy
 * is active (`npm run dev` puts policies/default.yaml into an empty KV before it serves, so a policy is
 * active from its first answer; the wait also covers a default policy that could not be loaded).
 */
export async function startDevServer(options: StartOptions): Promise<DevServer> {
  const [command, args] = npmCommand([
    "run",
    "dev",
    "--",
    "--port",
    String(options.port),
    "--persist-to",
    options.persistTo,
    "--var",
    `ADMIN_TOKEN:${options.token}`,
    ...Object.entries(options.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
    ...(options.args ?? []),
  ]);
  const child = spawn(command, args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
  });
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const server: DevServer = {
    port: options.port,
    persistTo: options.persistTo,
    baseUrl,
    api: createClient(baseUrl, options.token),
    output: [],
    exitCode: null,
    child,
    exited: new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        server.exitCode = code ?? (signal === null ? 1 : 128 + (constants.signals[signal] ?? 0));
        resolve(server.exitCode);
      });
    }),
  };
  options.onSpawn?.(server);
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      server.output.push(...lines);
      if (options.echo) for (const line of lines) console.log(`    | ${line}`);
    });
  }
  const abortReason = () =>
    server.exitCode === null ? undefined : `npm run dev exited with ${server.exitCode}`;
  await waitForHealth(baseUrl, { timeoutMs: options.timeoutMs, abortReason });
  await pollUntil(async () => ((await server.api("GET", "/v1/policy")).status === 200 ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 500,
    what: "an active policy (npm run dev loads policies/default.yaml into an empty KV)",
    abortReason,
  });
  return server;
}

/** Signal the server's whole process group; false if it is already gone. */
function signalGroup(server: DevServer, signal: NodeJS.Signals): boolean {
  if (server.child.pid === undefined) return false;
  try {
    process.kill(-server.child.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stop the server as Ctrl+C would and wait until it has exited and released its port. Throws (after
 * SIGKILLing the group) when it does not stop within `timeoutMs`.
 */
export async function stopDevServer(server: DevServer, timeoutMs = 30_000): Promise<number> {
  if (server.exitCode === null) signalGroup(server, "SIGINT");
  const deadline = Date.now() + timeoutMs;
  const timedOut = Symbol("timeout");
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof timedOut>((resolve) => {
    timer = setTimeout(() => resolve(timedOut), timeoutMs);
  });
  const result = await Promise.race([server.exited, timeout]);
  clearTimeout(timer);
  // workerd is a grandchild: the port is the sign it is really gone.
  while (result !== timedOut && !(await isPortFree(server.port)) && Date.now() < deadline) await sleep(100);
  if (result === timedOut || !(await isPortFree(server.port))) {
    killDevServer(server);
    throw new Error(`npm run dev did not stop within ${timeoutMs / 1000} s of SIGINT (killed it)`);
  }
  return result;
}

/** Last resort (cleanup, `process.on("exit")`): SIGKILL the whole group, synchronously. */
export function killDevServer(server: DevServer): void {
  signalGroup(server, "SIGKILL");
}
