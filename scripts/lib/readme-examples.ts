/**
 * Runs the examples of a Markdown document (the README) against a running gate, as a user pasting them would
 * (SPEC §11 "Documentation that runs"). Blocks run in document order, each in its own process, all against the
 * one server, so a later block sees what an earlier one created:
 *
 * - ```sh / ```bash: `bash -e -o pipefail` in the repository, with `TOLLGATE_TOKEN` set (the quick start's
 *   convention). `curl` is a shell function there that adds `--fail-with-body --show-error` unless the command
 *   already asks for `-f`/`--fail`, so a 4xx or 5xx answer fails the block; a block flagged `expect-error`
 *   shows an error on purpose and keeps plain curl.
 * - ```ts / ```js: written to a file in the scratch directory (inside the checkout, so `import "openai"`
 *   resolves to this checkout's packages) and run with tsx; a throw or a non-zero exit fails it.
 * - ```yaml: must be a valid policy, checked with `POST /v1/policy/validate`; flag a part of one `fragment`.
 * - Anything else (```json answers) is output and not run.
 *
 * The documented address `localhost:8787` is rewritten to the server's port in every block (npm run dev
 * itself moves to the next free port when 8787 is taken). A block flagged `no-run` (installing, starting a
 * server, deploying) is skipped and listed.
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Example, extractCodeBlocks, retargetPort, SKIP_FLAGS, toExample } from "./markdown-blocks";

export interface RunOptions {
  markdown: string;
  /** The document's name for messages (`README.md`). */
  source: string;
  /** The server the examples talk to, e.g. `http://127.0.0.1:41234`. */
  baseUrl: string;
  /** The admin token, given to every block as `TOLLGATE_TOKEN`. */
  token: string;
  /** Where blocks run (the repository root: examples name its files, and tsx resolves from here). */
  cwd: string;
  /** Where script blocks are written; must resolve the repository's node_modules. */
  scratchDir: string;
  /** More environment for every block. */
  env?: Record<string, string>;
  /** Per block; a block still running then is killed and fails. Default 90 s. */
  timeoutMs?: number;
  /** Called as each block finishes. */
  onResult?: (result: ExampleResult) => void;
}

export interface ExampleResult {
  example: Example;
  status: "passed" | "failed" | "skipped" | "output";
  /** One line: why it failed or was skipped, or what it did. */
  detail: string;
  /** What it printed, stdout and stderr interleaved. */
  output: string;
}

/** Where a block is, for messages: `README.md:42 (sh)`. */
export const where = (source: string, example: Example): string =>
  `${source}:${example.block.line} (${example.block.lang || "no language"}${
    example.block.flags.length > 0 ? ` ${example.block.flags.join(" ")}` : ""
  })`;

/** Makes curl fail on an HTTP error answer unless the command already chose how to (`-f`, `-sf`, `--fail…`). */
const STRICT_CURL = `curl() {
  local arg
  for arg in "$@"; do
    case "$arg" in --fail|--fail-with-body|-[!-]*f*) command curl "$@"; return;; esac
  done
  command curl --fail-with-body --show-error "$@"
}
`;

interface Exit {
  code: number;
  output: string;
  timedOut: boolean;
}

function run(command: string, args: string[], options: RunOptions): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: {
        ...process.env,
        NO_COLOR: "1",
        WRANGLER_SEND_METRICS: "false",
        TOLLGATE_TOKEN: options.token,
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    const collect = (chunk: string): void => {
      output += chunk;
    };
    child.stdout.setEncoding("utf8").on("data", collect);
    child.stderr.setEncoding("utf8").on("data", collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole group: a block may have started children (`npx`, a background job).
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    }, options.timeoutMs ?? 90_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === null ? 1 : 128), output, timedOut });
    });
  });
}

function exitDetail(exit: Exit, options: RunOptions): string {
  if (exit.timedOut) return `still running after ${(options.timeoutMs ?? 90_000) / 1000} s (killed)`;
  // curl's code for "the server answered >= 400" under --fail-with-body.
  if (exit.code === 22) return "exit 22: a curl was answered with an HTTP error (4xx/5xx)";
  return `exit ${exit.code}`;
}

async function runShell(example: Example, port: number, options: RunOptions): Promise<ExampleResult> {
  const code = retargetPort(example.block.code, port);
  const script = example.expectsError ? code : STRICT_CURL + code;
  const exit = await run("bash", ["-e", "-o", "pipefail", "-c", script], options);
  return exit.code === 0 && !exit.timedOut
    ? { example, status: "passed", detail: "exit 0", output: exit.output }
    : { example, status: "failed", detail: exitDetail(exit, options), output: exit.output };
}

async function runScript(example: Example, port: number, options: RunOptions): Promise<ExampleResult> {
  await mkdir(options.scratchDir, { recursive: true });
  // .mts/.mjs: ES modules (top-level await, `import`) wherever the scratch directory is.
  const extension = example.block.lang.startsWith("t") ? "mts" : "mjs";
  const file = join(options.scratchDir, `example-line-${example.block.line}.${extension}`);
  await writeFile(file, retargetPort(example.block.code, port));
  const exit = await run(process.execPath, ["--import", "tsx", file], options);
  return exit.code === 0 && !exit.timedOut
    ? { example, status: "passed", detail: "exit 0", output: exit.output }
    : { example, status: "failed", detail: exitDetail(exit, options), output: exit.output };
}

async function validatePolicy(example: Example, options: RunOptions): Promise<ExampleResult> {
  const response = await fetch(`${options.baseUrl}/v1/policy/validate`, {
    method: "POST",
    headers: { authorization: `Bearer ${options.token}`, "content-type": "application/yaml" },
    body: example.block.code,
    signal: AbortSignal.timeout(options.timeoutMs ?? 90_000),
  });
  const text = await response.text();
  let version: unknown;
  try {
    version = (JSON.parse(text) as { valid?: boolean; version?: string }).version;
  } catch {
    version = undefined;
  }
  return response.status === 200
    ? { example, status: "passed", detail: `a valid policy (version ${String(version)})`, output: text }
    : {
        example,
        status: "failed",
        detail: `POST /v1/policy/validate answered ${response.status}: not a valid policy (flag it \`fragment\` if it is a part of one)`,
        output: text,
      };
}

/** Run every example of the document in order; never throws for a failing example (see the results). */
export async function runMarkdownExamples(options: RunOptions): Promise<ExampleResult[]> {
  const port = Number(new URL(options.baseUrl).port);
  const results: ExampleResult[] = [];
  for (const block of extractCodeBlocks(options.markdown)) {
    const example = toExample(block);
    let result: ExampleResult;
    if (example.kind === "output") {
      result = { example, status: "output", detail: "shown output, not run", output: "" };
    } else if (example.skip !== undefined) {
      result = { example, status: "skipped", detail: SKIP_FLAGS[example.skip] ?? example.skip, output: "" };
    } else {
      try {
        if (example.kind === "shell") result = await runShell(example, port, options);
        else if (example.kind === "script") result = await runScript(example, port, options);
        else result = await validatePolicy(example, options);
      } catch (error) {
        result = { example, status: "failed", detail: (error as Error).message, output: "" };
      }
    }
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

/** The last `count` lines of a block's output, indented, for a failure report. */
export function tail(output: string, count = 25): string {
  const lines = output.trimEnd().split("\n");
  const shown = lines.slice(-count).map((line) => `      | ${line}`);
  return (lines.length > count ? [`      | … (${lines.length - count} lines above)`, ...shown] : shown).join(
    "\n",
  );
}

/**
 * One report of a run: null when every runnable block passed, else each failure with where it is, why, and
 * the end of what it printed.
 */
export function describeFailures(source: string, results: ExampleResult[]): string | null {
  const failed = results.filter((result) => result.status === "failed");
  if (failed.length === 0) return null;
  const lines = failed.map(
    (result) =>
      `  ${where(source, result.example)}: ${result.detail}\n${result.output.trim() === "" ? "      (no output)" : tail(result.output)}`,
  );
  return `${failed.length} example(s) of ${source} failed:\n${lines.join("\n")}`;
}

/** A one-line summary: how many ran, and which were skipped and why. */
export function summarize(source: string, results: ExampleResult[]): string {
  const count = (status: ExampleResult["status"]) => results.filter((r) => r.status === status).length;
  const skipped = results
    .filter((result) => result.status === "skipped")
    .map((result) => `${source}:${result.example.block.line} ${result.example.skip}`);
  return `${count("passed")} passed, ${count("failed")} failed, ${count("output")} output blocks not run; skipped ${skipped.length}${
    skipped.length > 0 ? `: ${skipped.join(", ")}` : ""
  }`;
}
