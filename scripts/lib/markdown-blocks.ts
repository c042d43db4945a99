/**
 * Fenced code blocks of a Markdown document (CommonMark fences: three or more backticks or tildes, indented
 * at most three spaces, closed by a fence of the same character at least as long), and how the README
 * example runner treats each one. Pure: no I/O.
 */

export interface CodeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word, lower-cased (`sh`, `ts`, `yaml`…); "" when there is none. */
  lang: string;
  /** The info string's other words (`no-run`, `fragment`, `expect-error`). */
  flags: string[];
  /** The block's content, without the fences, ending with a newline unless empty. */
  code: string;
}

const OPENING = /^( {0,3})(`{3,}|~{3,})\s*([^`]*)$/;

/** Every fenced code block of `markdown`, in document order. An unclosed fence runs to the end. */
export function extractCodeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const opening = OPENING.exec(lines[index] ?? "");
    if (opening === null) continue;
    const [, indent = "", fence = "", info = ""] = opening;
    // A tilde fence may carry backticks in its info string; a backtick fence may not (the regex forbids it).
    const [lang = "", ...flags] = info.trim().split(/\s+/).filter(Boolean);
    const closing = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`);
    const body: string[] = [];
    let end = index + 1;
    for (; end < lines.length && !closing.test(lines[end] ?? ""); end++) {
      // Content lines lose up to the opening fence's indentation (CommonMark §4.5).
      body.push((lines[end] ?? "").replace(new RegExp(`^ {0,${indent.length}}`), ""));
    }
    blocks.push({
      line: index + 1,
      lang: lang.toLowerCase(),
      flags,
      code: body.length === 0 ? "" : `${body.join("\n")}\n`,
    });
    index = end;
  }
  return blocks;
}

/** What the runner does with a block. */
export type ExampleKind =
  /** `sh`, `bash`, `shell`: run with `bash -e -o pipefail`. */
  | "shell"
  /** `ts`, `typescript`, `js`, `javascript`: written to a file and run with tsx. */
  | "script"
  /** `yaml`, `yml`: a policy, checked by `POST /v1/policy/validate`. */
  | "policy"
  /** Anything else (`json` answers, plain text): shown output, not an example. */
  | "output";

export interface Example {
  block: CodeBlock;
  kind: ExampleKind;
  /** Why it is not run, when it is not: the flag that says so. */
  skip: string | undefined;
  /** `expect-error`: the example shows an HTTP error on purpose, so a 4xx/5xx answer is not a failure. */
  expectsError: boolean;
}

const KINDS: Record<string, ExampleKind> = {
  sh: "shell",
  bash: "shell",
  shell: "shell",
  ts: "script",
  typescript: "script",
  js: "script",
  javascript: "script",
  yaml: "policy",
  yml: "policy",
};

/** The flags that mark a block as not runnable here, with what they mean. */
export const SKIP_FLAGS: Record<string, string> = {
  "no-run": "cannot run against a local `npm run dev` (it installs, starts a server, or deploys)",
  fragment: "a part of a policy, not a whole one",
};

/** Classify one block by its language and flags. */
export function toExample(block: CodeBlock): Example {
  const kind = KINDS[block.lang] ?? "output";
  const skipFlag = block.flags.find((flag) => flag in SKIP_FLAGS);
  return {
    block,
    kind,
    skip: kind === "output" ? undefined : skipFlag,
    expectsError: block.flags.includes("expect-error"),
  };
}

/** The address the README's examples use for the dev server (`npm run dev`'s default port). */
export const DOCUMENTED_PORT = 8787;

/**
 * Point the documented `localhost:8787` / `127.0.0.1:8787` at the port a server actually listens on. The
 * host is kept as written, so the examples' own name resolution is what gets tested.
 */
export function retargetPort(code: string, port: number): string {
  return code.replace(new RegExp(`\\b(localhost|127\\.0\\.0\\.1):${DOCUMENTED_PORT}\\b`, "g"), `$1:${port}`);
}

/**
 * Curl commands in a shell block that send a body with `-d`/`--data…` (curl then says
 * `application/x-www-form-urlencoded`) and no `Content-Type` header: every such line answers 415 (issue 9,
 * finding 11). `--json` and `-F` set their own type. Returns each offending command, continuation lines joined.
 */
export function curlsWithoutContentType(code: string): string[] {
  // Join continuation lines, then split into commands at newlines, `;`, `&&`, `||` and pipes.
  const joined = code.replace(/\\\r?\n/g, " ");
  const commands = joined.split(/\n|;|&&|\|\|?/).map((command) => command.trim());
  return commands.filter(
    (command) =>
      /(^|\s)curl\s/.test(command) &&
      /(^|\s)(-d|--data(-raw|-binary|-urlencode)?)(\s|=|$)/.test(command) &&
      !/-H\s+["']?content-type:/i.test(command),
  );
}
