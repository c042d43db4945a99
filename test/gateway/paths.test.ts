/**
 * Canonical gateway paths and the endpoint allow-list, as pure functions (SPEC §11 "Gateway paths"): the
 * raw URL strings here are what a runtime could hand over, including spellings `new URL()` would resolve.
 */
import { describe, expect, it } from "vitest";
import { admitEndpoint, admitPath } from "../../src/gateway/core/door";
import { doorPath, rawTarget } from "../../src/gateway/core/paths";
import { OPENAI_DOOR } from "../../src/gateway/openai/door";
import { compilePolicy } from "../../src/policy/compile";
import { compilePassthrough } from "../../src/policy/compile-passthrough";
import { IssueList } from "../../src/policy/issues";

const PREFIX = "http://gate.test/gateway/openai/v1";

describe("rawTarget", () => {
  it("splits path and query without normalising either", () => {
    expect(rawTarget("http://h/a/../b/%2e?x=%20&y#frag")).toEqual({
      pathname: "/a/../b/%2e",
      search: "?x=%20&y",
    });
    expect(rawTarget("http://h")).toEqual({ pathname: "/", search: "" });
    expect(rawTarget("http://h/a#f?g")).toEqual({ pathname: "/a", search: "" });
  });
});

describe("doorPath", () => {
  it.each([
    ["chat/completions", "chat/completions"],
    ["models/ft:gpt-4o-mini:org:custom:abc123", "models/ft:gpt-4o-mini:org:custom:abc123"],
    ["models/gpt-4.1", "models/gpt-4.1"],
  ])("%s is canonical", (path, expected) => {
    expect(doorPath(`${PREFIX}/${path}?limit=2`, "/gateway/openai/v1")).toEqual({
      path: expected,
      search: "?limit=2",
    });
  });

  it.each([
    "%63hat/completions",
    "chat/completions/",
    "chat//completions",
    "/chat/completions",
    "..%2ffiles",
    "chat/%2e%2e/files",
    "chat/../files",
    "./chat/completions",
    "chat/.",
    "chat\\completions",
    "chat/completions\u0000",
    "mod\tels",
    "models\u007f",
    "models%00",
    "",
  ])("%j is not (404)", (path) => {
    expect(doorPath(`${PREFIX}/${path}`, "/gateway/openai/v1")).toBeNull();
  });

  it("a path outside the prefix, or the prefix alone, is not the door's", () => {
    expect(doorPath("http://gate.test/gateway/openai/v1", "/gateway/openai/v1")).toBeNull();
    expect(doorPath("http://gate.test/gateway/openai/v10/models", "/gateway/openai/v1")).toBeNull();
  });

  it("the door's 404 is OpenAI's unknown_url", () => {
    const refused = admitPath(OPENAI_DOOR, "POST", `${PREFIX}/%63hat/completions`);
    expect(refused).toMatchObject({
      ok: false,
      error: { status: 404, type: "invalid_request_error", code: "unknown_url", param: null },
    });
  });
});

describe("gateway.passthrough", () => {
  const compile = (rules: string[]) => {
    const issues = new IssueList();
    return { rules: compilePassthrough(rules, issues), issues: issues.items };
  };

  it("opens method + glob, never a metered endpoint, never another method", () => {
    const { rules, issues } = compile(["GET files", "POST audio/*"]);
    expect(issues).toEqual([]);
    const route = (method: string, path: string) => {
      const admitted = admitEndpoint(OPENAI_DOOR, rules, method, path);
      return admitted.ok ? admitted.value.kind : admitted.error.code;
    };
    expect(route("GET", "files")).toBe("passthrough");
    expect(route("POST", "audio/transcriptions")).toBe("passthrough");
    expect(route("POST", "files")).toBe("unknown_url");
    expect(route("GET", "files/file-1")).toBe("unknown_url");
    expect(route("POST", "chat/completions")).toBe("metered");
    expect(route("GET", "models/gpt-4o")).toBe("forwarded");
    // Even "everything" leaves the metered endpoints metered.
    expect(admitEndpoint(OPENAI_DOOR, compile(["POST *"]).rules, "POST", "responses")).toMatchObject({
      ok: true,
      value: { kind: "metered" },
    });
  });

  it("a malformed entry is an issue at its index", () => {
    const gateway = {
      passthrough: [
        "GET files",
        "files",
        "get files",
        "FETCH x",
        "GET /files",
        "GET a/../b",
        "GET a%2fb",
        "GET a//b",
        7,
      ],
    };
    const result = compilePolicy({ plans: { free: { default: true, entitlements: {} } }, gateway });
    expect(result.ok).toBe(false);
    const paths = !result.ok ? result.issues.map((issue) => issue.path) : [];
    expect(paths).toEqual([
      "gateway.passthrough.8",
      "gateway.passthrough.1",
      "gateway.passthrough.2",
      "gateway.passthrough.3",
      "gateway.passthrough.4",
      "gateway.passthrough.5",
      "gateway.passthrough.6",
      "gateway.passthrough.7",
    ]);
  });

  it("a valid list compiles and stays in the document", () => {
    const result = compilePolicy({
      plans: { free: { default: true, entitlements: {} } },
      gateway: { passthrough: ["GET files", "POST audio/*"] },
    });
    expect(result.ok && result.document.gateway).toEqual({ passthrough: ["GET files", "POST audio/*"] });
    expect(result.ok && result.policy.gateway.passthrough.map((rule) => rule.rule)).toEqual([
      "GET files",
      "POST audio/*",
    ]);
  });
});
