/**
 * The README example runner of `npm run e2e` (SPEC §11 "Documentation that runs"), proven on small fixture
 * documents against a stand-in server that answers like the gate where it matters: a body without
 * `Content-Type: application/json` is a 415 (issue 9, finding 11). The real README runs in `npm run e2e`.
 */
import { readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  curlsWithoutContentType,
  extractCodeBlocks,
  retargetPort,
  toExample,
} from "../../scripts/lib/markdown-blocks";
import {
  describeFailures,
  type ExampleResult,
  runMarkdownExamples,
  summarize,
} from "../../scripts/lib/readme-examples";
import { ROOT } from "../../scripts/lib/wrangler";

const TOKEN = "fixture-token";
const SCRATCH_DIR = join(ROOT, "node_modules", ".cache", "readme-examples-test");
const fence = "```";

describe("extractCodeBlocks", () => {
  it("finds each fenced block with its line, language, flags and content", () => {
    const markdown = [
      "# Title", // 1
      "", // 2
      `${fence}sh no-run`, // 3
      "npm install", // 4
      fence, // 5
      "text", // 6
      "~~~~TS", // 7
      "const a = 1;", // 8
      `${fence} not a closing fence for tildes`, // 9
      "~~~~", // 10
      "  ```yaml fragment", // 11
      "  plans: {}", // 12
      "  ```", // 13
      `${fence}`, // 14
      "unclosed", // 15
    ].join("\n");
    expect(extractCodeBlocks(markdown)).toEqual([
      { line: 3, lang: "sh", flags: ["no-run"], code: "npm install\n" },
      {
        line: 7,
        lang: "ts",
        flags: [],
        code: `const a = 1;\n${fence} not a closing fence for tildes\n`,
      },
      { line: 11, lang: "yaml", flags: ["fragment"], code: "plans: {}\n" },
      { line: 14, lang: "", flags: [], code: "unclosed\n" },
    ]);
  });

  it("classifies blocks: shell, script, policy, output; no-run and fragment skip; expect-error", () => {
    const kinds = extractCodeBlocks(
      [
        `${fence}bash expect-error\nx\n${fence}`,
        `${fence}javascript\nx\n${fence}`,
        `${fence}yml fragment\nx\n${fence}`,
        `${fence}json\n{}\n${fence}`,
        `${fence}sh no-run\nx\n${fence}`,
      ].join("\n"),
    ).map(toExample);
    expect(kinds.map(({ kind, skip, expectsError }) => ({ kind, skip, expectsError }))).toEqual([
      { kind: "shell", skip: undefined, expectsError: true },
      { kind: "script", skip: undefined, expectsError: false },
      { kind: "policy", skip: "fragment", expectsError: false },
      { kind: "output", skip: undefined, expectsError: false },
      { kind: "shell", skip: "no-run", expectsError: false },
    ]);
  });

  it("points the documented localhost:8787 at the server's port, and nothing else", () => {
    expect(
      retargetPort("curl localhost:8787/a http://127.0.0.1:8787/b localhost:87870 example.com:8787", 4321),
    ).toBe("curl localhost:4321/a http://127.0.0.1:4321/b localhost:87870 example.com:8787");
  });
});

describe("curlsWithoutContentType", () => {
  it("flags finding 11's quick-start line (curl -d with no Content-Type), across continuation lines", () => {
    const old = `curl -s -X POST localhost:8787/v1/consume -H "Authorization: Bearer $TOKEN" \\\n  -d '{"customer":"a"}'\n`;
    expect(curlsWithoutContentType(old)).toHaveLength(1);
    const fixed = `curl -s -X POST localhost:8787/v1/consume -H "Authorization: Bearer $TOKEN" \\\n  -H "Content-Type: application/json" -d '{"customer":"a"}'\n`;
    expect(curlsWithoutContentType(fixed)).toEqual([]);
    expect(curlsWithoutContentType("curl -s localhost:8787/healthz\ncurl --json '{}' x\n")).toEqual([]);
  });

  it("README.md: every curl that sends a body in a shell example says its Content-Type", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const offenders = extractCodeBlocks(readme)
      .map(toExample)
      .filter((example) => example.kind === "shell")
      .flatMap((example) =>
        curlsWithoutContentType(example.block.code).map(
          (command) => `README.md:${example.block.line}: ${command}`,
        ),
      );
    expect(offenders).toEqual([]);
  });
});

/** A stand-in for the gate: JSON bodies only (else 415), a policy validator, a token check. */
function standIn(): Server {
  return createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (req.headers.authorization !== `Bearer ${TOKEN}`)
        return send(401, { error: { code: "unauthorized" } });
      if (req.url === "/v1/policy/validate") {
        return body.includes("plans:")
          ? send(200, { valid: true, version: "0123456789abcdef" })
          : send(400, { error: { code: "invalid_policy" } });
      }
      if (body !== "" && req.headers["content-type"] !== "application/json") {
        return send(415, { error: { code: "unsupported_media_type", message: "send application/json" } });
      }
      return send(200, { ok: true, echoed: body });
    });
  });
}

describe("runMarkdownExamples", () => {
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    server = standIn();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(SCRATCH_DIR, { recursive: true, force: true });
  });

  const runDoc = (markdown: string): Promise<ExampleResult[]> =>
    runMarkdownExamples({
      markdown,
      source: "FIXTURE.md",
      baseUrl,
      token: TOKEN,
      cwd: ROOT,
      scratchDir: SCRATCH_DIR,
      timeoutMs: 30_000,
    });

  const auth = '-H "Authorization: Bearer $TOLLGATE_TOKEN"';

  it("fails a curl that answers 4xx (finding 11's line), passes the fixed one, and says where", async () => {
    const markdown = [
      "# Fixture",
      `${fence}sh`,
      `curl -s -X PUT localhost:8787/v1/customers/acme ${auth} -H "Content-Type: application/json" -d '{"type":"org"}'`,
      fence,
      "",
      `${fence}sh`,
      `curl -s -X PUT localhost:8787/v1/customers/acme ${auth} -d '{"type":"org"}'`,
      "echo never reached",
      fence,
    ].join("\n");
    const results = await runDoc(markdown);
    expect(results.map((r) => r.status)).toEqual(["passed", "failed"]);
    expect(results[0]?.output).toContain('"echoed":"{\\"type\\":\\"org\\"}"');
    expect(results[1]?.detail).toMatch(/exit 22.*HTTP error/);
    // --fail-with-body: the error answer itself is in the report; bash -e stopped at the failing line.
    expect(results[1]?.output).toContain("unsupported_media_type");
    expect(results[1]?.output).not.toContain("never reached");
    const report = describeFailures("FIXTURE.md", results);
    expect(report).toContain("FIXTURE.md:6 (sh): exit 22");
    expect(report).toContain("unsupported_media_type");
  });

  it("passes when every example runs; lists what it skipped; expect-error allows an error answer", async () => {
    const markdown = [
      `${fence}sh no-run`,
      "npm run dev # would start a second server",
      "exit 1",
      fence,
      `${fence}sh expect-error`,
      `curl -s -X POST localhost:8787/v1/consume ${auth} -d 'form=data'   # shows the 415 on purpose`,
      fence,
      `${fence}sh`,
      `curl -sf localhost:8787/v1/policy ${auth} | grep -q '"ok":true'`,
      fence,
      `${fence}json`,
      '{ "not": "run" }',
      fence,
      `${fence}yaml`,
      "plans: { free: { default: true } }",
      fence,
      `${fence}yaml fragment`,
      "gateway: { default_max_tokens: 1024 }",
      fence,
      `${fence}ts`,
      'const response = await fetch("http://localhost:8787/v1/policy", {',
      "  headers: { authorization: 'Bearer ' + process.env.TOLLGATE_TOKEN },",
      "});",
      "if (!response.ok) throw new Error('status ' + response.status);",
      "const n: number = 42;",
      "console.log('ok ' + n);",
      fence,
    ].join("\n");
    const results = await runDoc(markdown);
    expect(results.map((r) => r.status)).toEqual([
      "skipped",
      "passed",
      "passed",
      "output",
      "passed",
      "skipped",
      "passed",
    ]);
    expect(results[1]?.output).toContain("unsupported_media_type");
    expect(results[6]?.output).toContain("ok 42");
    expect(describeFailures("FIXTURE.md", results)).toBeNull();
    expect(summarize("FIXTURE.md", results)).toBe(
      "4 passed, 0 failed, 1 output blocks not run; skipped 2: FIXTURE.md:1 no-run, FIXTURE.md:17 fragment",
    );
  });

  it("fails a script that throws, an invalid policy, and a shell command that fails", async () => {
    const markdown = [
      `${fence}ts`,
      'const response = await fetch("http://localhost:8787/v1/consume", { method: "POST", body: "{}" });',
      "if (!response.ok) throw new Error('the gate answered ' + response.status);",
      fence,
      `${fence}yaml`,
      "credits: {}",
      fence,
      `${fence}bash`,
      "false",
      fence,
    ].join("\n");
    const results = await runDoc(markdown);
    expect(results.map((r) => r.status)).toEqual(["failed", "failed", "failed"]);
    expect(results[0]?.output).toContain("the gate answered 401");
    expect(results[1]?.detail).toContain("answered 400: not a valid policy");
    expect(results[2]?.detail).toBe("exit 1");
  });
});
