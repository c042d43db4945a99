/** Request shaping (pure): metered endpoints, prompt characters, the reservation and the usage option. */
import { describe, expect, it } from "vitest";
import { countChars, tokensFromChars } from "../../src/gateway/core/chars";
import { routeEndpoint } from "../../src/gateway/core/endpoints";
import { routeModel } from "../../src/gateway/core/model-routes";
import { OPENAI_ENDPOINTS } from "../../src/gateway/openai/endpoints";
import { promptChars } from "../../src/gateway/openai/prompt-chars";
import { outputBudget, shapeRequest } from "../../src/gateway/openai/request-shaping";
import { globToRegExp } from "../../src/policy/glob";

describe("metered endpoints", () => {
  // Changed with issue 9: a path outside the table is no longer a pass-through but refused (null).
  it.each([
    ["POST", "chat/completions", { kind: "metered", endpoint: "chat/completions" }],
    ["POST", "completions", { kind: "metered", endpoint: "completions" }],
    ["POST", "responses", { kind: "metered", endpoint: "responses" }],
    ["POST", "embeddings", { kind: "metered", endpoint: "embeddings" }],
    ["GET", "models", { kind: "forwarded" }],
    ["GET", "models/gpt-4o", { kind: "forwarded" }],
    ["GET", "chat/completions", null],
    ["POST", "chat/completions/abc", null],
    ["GET", "responses/resp_1", null],
    ["POST", "models", null],
    ["GET", "models/a/b", null],
    ["POST", "files", null],
  ])("%s %s → %j", (method, path, expected) => {
    expect(routeEndpoint(OPENAI_ENDPOINTS, [], method, path)).toEqual(expected);
  });
});

describe("model routes", () => {
  const gateway = {
    defaultMaxTokens: 1024,
    requests: null,
    passthrough: [],
    models: [
      { pattern: "gpt-4o-mini", regex: globToRegExp("gpt-4o-mini"), entitlement: "mini" },
      { pattern: "gpt-4o*", regex: globToRegExp("gpt-4o*"), entitlement: "gpt4o" },
    ],
  };
  it("first match wins; unmatched is null", () => {
    expect(routeModel(gateway, "gpt-4o-mini")).toBe("mini");
    expect(routeModel(gateway, "gpt-4o-2024-08-06")).toBe("gpt4o");
    expect(routeModel(gateway, "gpt-3.5-turbo")).toBeNull();
  });
});

describe("prompt characters", () => {
  it("counts code points, not UTF-16 units", () => {
    expect(countChars("héllo")).toBe(5);
    expect(countChars("😀😀")).toBe(2);
    expect(tokensFromChars(9)).toBe(3);
    expect(tokensFromChars(0)).toBe(0);
  });

  it("chat: text of messages, content parts and tool-call arguments; not image data", () => {
    const body = {
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${"A".repeat(5000)}` } },
          ],
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
        },
        { role: "tool", tool_call_id: "c1", content: "42" },
      ],
      max_tokens: 5,
    };
    expect(promptChars("chat/completions", body)).toBe(9 + 13 + 7 + 2);
  });

  it("responses: instructions + input (string or items)", () => {
    expect(promptChars("responses", { instructions: "Be brief.", input: "Say hello" })).toBe(18);
    const items = [
      {
        role: "user",
        content: [
          { type: "input_text", text: "abcd" },
          { type: "input_image", image_url: "https://x/y.png" },
        ],
      },
      { type: "function_call_output", call_id: "c", output: "xyz" },
    ];
    expect(promptChars("responses", { input: items })).toBe(7);
  });

  it("completions and embeddings: strings, arrays, and token ids at 4 characters each", () => {
    expect(promptChars("completions", { prompt: "Say hello", suffix: "!" })).toBe(10);
    expect(promptChars("embeddings", { input: ["ab", "cde"] })).toBe(5);
    expect(promptChars("embeddings", { input: [1, 2, 3] })).toBe(12);
    expect(promptChars("embeddings", { input: [[1, 2], [3]] })).toBe(12);
  });
});

describe("the reservation", () => {
  it("chat: max_completion_tokens ?? max_tokens ?? default, per choice", () => {
    expect(outputBudget("chat/completions", { max_completion_tokens: 10, max_tokens: 99 }, 1024)).toBe(10);
    expect(outputBudget("chat/completions", { max_tokens: 99 }, 1024)).toBe(99);
    expect(outputBudget("chat/completions", { max_tokens: null }, 1024)).toBe(1024);
    expect(outputBudget("chat/completions", { max_tokens: "lots" }, 1024)).toBe(1024);
    expect(outputBudget("chat/completions", { max_tokens: 10, n: 3 }, 1024)).toBe(30);
  });

  it("responses: max_output_tokens ?? default; embeddings: 0; completions: per best_of", () => {
    expect(outputBudget("responses", { max_output_tokens: 64, max_tokens: 5 }, 1024)).toBe(64);
    expect(outputBudget("responses", {}, 1024)).toBe(1024);
    expect(outputBudget("embeddings", { max_tokens: 5 }, 1024)).toBe(0);
    expect(outputBudget("completions", { max_tokens: 10, n: 2, best_of: 4 }, 1024)).toBe(40);
  });

  it("reserves ceil(prompt / 4) + budget", () => {
    const text = JSON.stringify({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Say hello" }],
      max_tokens: 7,
    });
    const shaped = shapeRequest("chat/completions", text, 1024);
    expect(shaped).toMatchObject({
      ok: true,
      request: { promptTokens: 3, outputBudget: 7, reserveAmount: 10 },
    });
  });
});

describe("streams report usage", () => {
  const chat = (extra: Record<string, unknown>) =>
    JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], ...extra });

  it("adds stream_options.include_usage to a chat or completions stream, keeping other options", () => {
    const shaped = shapeRequest(
      "chat/completions",
      chat({ stream: true, stream_options: { include_obfuscation: false } }),
      1,
    );
    if (!shaped.ok) throw new Error("expected ok");
    expect(shaped.request).toMatchObject({ stream: true, addedUsage: true });
    expect(JSON.parse(shaped.request.body).stream_options).toEqual({
      include_obfuscation: false,
      include_usage: true,
    });
    const legacy = shapeRequest("completions", JSON.stringify({ model: "m", prompt: "p", stream: true }), 1);
    expect(legacy.ok && JSON.parse(legacy.request.body).stream_options).toEqual({ include_usage: true });
  });

  it("forwards the client's own bytes when nothing needs changing", () => {
    // A client cap is part of "nothing needs changing" since issue 9: without one, the gateway adds its own.
    for (const text of [
      chat({ max_tokens: 5 }),
      chat({ stream: true, stream_options: { include_usage: true }, max_completion_tokens: 5 }),
    ]) {
      const shaped = shapeRequest("chat/completions", text, 1);
      expect(shaped.ok && shaped.request.body).toBe(text);
    }
    // The Responses API always reports usage in response.completed.
    const responses = JSON.stringify({ model: "m", input: "x", stream: true, max_output_tokens: 9 });
    const shaped = shapeRequest("responses", responses, 1);
    expect(shaped.ok && shaped.request).toMatchObject({ stream: true, addedUsage: false, body: responses });
  });

  it("refuses bodies that are not JSON objects or lack a model", () => {
    expect(shapeRequest("chat/completions", "{", 1)).toMatchObject({
      ok: false,
      error: { code: "invalid_json" },
    });
    expect(shapeRequest("chat/completions", "[]", 1)).toMatchObject({
      ok: false,
      error: { code: "invalid_request" },
    });
    expect(shapeRequest("chat/completions", "{}", 1)).toMatchObject({
      ok: false,
      error: { code: "invalid_request", param: "model" },
    });
  });
});
