/**
 * The mock upstreams of test/support as child processes (`tsx test/support/mock-upstream.ts --port P`, and
 * `mock-anthropic.ts`), for scripts that point `npm run dev` at them with `--var OPENAI_BASE_URL:…` and
 * `--var ANTHROPIC_BASE_URL:…`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { freePort } from "./net";
import { ROOT } from "./wrangler";

const MOCK_SCRIPT = join(ROOT, "test", "support", "mock-upstream.ts");
const MOCK_ANTHROPIC_SCRIPT = join(ROOT, "test", "support", "mock-anthropic.ts");

export interface MockUpstream {
  /** The base URL to give the gate as OPENAI_BASE_URL or ANTHROPIC_BASE_URL (ends with `/v1`). */
  url: string;
  /** Everything it printed. */
  output: string[];
  child: ChildProcess;
  /** What it saw under an `x-mock-tag`: how many requests, and the last one. */
  requests: (tag: string) => Promise<{ count: number; last: MockRequest | null }>;
  stop: () => Promise<void>;
}

export interface MockRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** Start the mock Anthropic upstream on a free port and wait for its "listening on <url>" line. */
export function startMockAnthropic(timeoutMs: number): Promise<MockUpstream> {
  return startMockUpstream(timeoutMs, MOCK_ANTHROPIC_SCRIPT);
}

/** Start the mock (OpenAI unless another script is named) on a free port and wait for its "listening on <url>" line. */
export async function startMockUpstream(timeoutMs: number, script = MOCK_SCRIPT): Promise<MockUpstream> {
  const port = await freePort();
  // `node --import tsx`: one process (the tsx CLI would add a second), so a signal reaches the mock itself.
  const child = spawn(process.execPath, ["--import", "tsx", script, "--port", String(port)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`the mock upstream did not start within ${timeoutMs / 1000} s:\n${output.join("\n")}`),
      );
    }, timeoutMs);
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding("utf8").on("data", (chunk: string) => {
        output.push(...chunk.split("\n").filter((line) => line !== ""));
        const match = /listening on (http:\/\/\S+)/.exec(chunk);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the mock upstream exited with ${code}:\n${output.join("\n")}`));
    });
  });
  const origin = new URL(url).origin;
  return {
    url,
    output,
    child,
    requests: async (tag) => {
      const response = await fetch(`${origin}/__mock/requests?tag=${encodeURIComponent(tag)}`, {
        signal: AbortSignal.timeout(10_000),
      });
      return (await response.json()) as { count: number; last: MockRequest | null };
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
}
