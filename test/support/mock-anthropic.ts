/**
 * A mock Anthropic upstream for the gateway tests, the e2e script and the bench: plain Node `http`, speaking
 * the Messages API (`POST /v1/messages`, streaming and not; `POST /v1/messages/count_tokens`; `GET /v1/models`,
 * `GET /v1/models/{id}`). A stream is the real event sequence: `message_start` (input classes),
 * `content_block_start`, `ping`, one `content_block_delta` per chunk, `content_block_stop`, `message_delta`
 * (cumulative usage, repeating the input fields as the API now does) and `message_stop`.
 *
 * Usage: `input_tokens` 11, `cache_creation_input_tokens` 7, `cache_read_input_tokens` 5, `output_tokens` one
 * per chunk, never more than the request's `max_tokens` (a shorter `max_tokens` also cuts the text, with
 * `stop_reason: "max_tokens"`).
 *
 * Per-request switches (request headers):
 * - `x-mock-mode`: `cutoff` (the connection dies after two deltas, or half the JSON body), `hold` (a stream
 *   stops after its first delta until `POST /__mock/release?tag=T`), `error-event` (an `error` event after two
 *   deltas, then the stream ends), `error` (an Anthropic-shaped error, status `x-mock-status`, default 500,
 *   that quotes the `x-api-key` it was sent in its body and in `x-mock-echo`), `slow` (a pause between
 *   events, `x-mock-delay-ms`, default 50).
 * - `x-mock-output-tokens`: the `output_tokens` to report (still within `max_tokens` unless `x-mock-cap:
 *   ignore`).
 * - `x-mock-delta-usage: output`: `message_delta` carries `output_tokens` only, as older API versions did.
 * - `x-mock-tag`: counted and recorded under it (`GET /__mock/requests?tag=T`, shared with the OpenAI mock).
 *
 * Standalone: `tsx test/support/mock-anthropic.ts --port P` prints `mock anthropic listening on
 * http://127.0.0.1:P/v1`.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import {
  CUTOFF_CHUNKS,
  control,
  header,
  listenMock,
  MOCK_CHUNKS,
  MOCK_TEXT,
  serveIfMain,
  stopMockUpstream,
  tagState,
} from "./mock-upstream";

export { CUTOFF_CHUNKS, MOCK_CHUNKS, MOCK_TEXT };
/** The usage classes the mock reports for every message (its own counts, not the gateway's estimate). */
export const MOCK_INPUT_TOKENS = 11;
export const MOCK_CACHE_WRITE_TOKENS = 7;
export const MOCK_CACHE_READ_TOKENS = 5;
/** Input classes together: what a call settles besides its output. */
export const MOCK_INPUT_CLASSES = MOCK_INPUT_TOKENS + MOCK_CACHE_WRITE_TOKENS + MOCK_CACHE_READ_TOKENS;
/** `output_tokens` in `message_start` (the API reports a first token there). */
export const MOCK_START_OUTPUT_TOKENS = 1;
/** The default total of a message: the input classes and one output token per chunk. */
export const MOCK_MESSAGE_TOTAL = MOCK_INPUT_CLASSES + MOCK_CHUNKS.length;
/** `input_tokens` that `count_tokens` answers. */
export const MOCK_COUNTED_TOKENS = 42;

const MODEL_IDS = ["claude-sonnet-4-5", "claude-haiku-4-5"];

// biome-ignore lint/suspicious/noExplicitAny: request bodies are read field by field
type Body = any;

interface Options {
  mode: string;
  delayMs: number;
  tag: string;
  outputTokens: number | null;
  capped: boolean;
  deltaUsage: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...extra,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "request-id": `req_mock_${Math.random().toString(36).slice(2, 10)}`,
    // What the real API says about the gateway's own account: the gateway must not pass these on.
    "anthropic-ratelimit-tokens-remaining": "999999",
    "anthropic-organization-id": "org-upstream-secret",
  });
  res.end(text);
}

const apiError = (type: string, message: string) => ({ type: "error", error: { type, message } });

/** The chunks a message generates within `max_tokens`, and the usage it reports. */
function generation(body: Body, opts: Options) {
  const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : MOCK_CHUNKS.length;
  const chunks = MOCK_CHUNKS.slice(0, Math.max(1, Math.min(MOCK_CHUNKS.length, maxTokens)));
  const wanted = opts.outputTokens ?? chunks.length;
  const output = opts.capped ? Math.min(wanted, maxTokens) : wanted;
  const usage = {
    input_tokens: MOCK_INPUT_TOKENS,
    cache_creation_input_tokens: MOCK_CACHE_WRITE_TOKENS,
    cache_read_input_tokens: MOCK_CACHE_READ_TOKENS,
    output_tokens: output,
  };
  const stopReason = chunks.length < MOCK_CHUNKS.length ? "max_tokens" : "end_turn";
  return { chunks, usage, stopReason };
}

function message(body: Body, content: unknown[], stopReason: string | null, usage: unknown) {
  return {
    id: `msg_mock${Math.random().toString(36).slice(2, 10)}`,
    type: "message",
    role: "assistant",
    model: body.model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage,
  };
}

function messages(res: ServerResponse, body: Body, opts: Options): Promise<void> | void {
  const { chunks, usage, stopReason } = generation(body, opts);
  if (body.stream !== true) {
    const reply = message(body, [{ type: "text", text: chunks.join("") }], stopReason, usage);
    if (opts.mode !== "cutoff") return sendJson(res, 200, reply);
    const text = JSON.stringify(reply);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.write(text.slice(0, Math.floor(text.length / 2)), () => res.socket?.destroy());
    return;
  }
  const startUsage = { ...usage, output_tokens: MOCK_START_OUTPUT_TOKENS };
  const deltaUsage = opts.deltaUsage === "output" ? { output_tokens: usage.output_tokens } : usage;
  const events: { event: string; data: unknown; content?: boolean }[] = [
    { event: "message_start", data: { type: "message_start", message: message(body, [], null, startUsage) } },
    {
      event: "content_block_start",
      data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    },
    { event: "ping", data: { type: "ping" } },
    ...chunks.map((text) => ({
      event: "content_block_delta",
      data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } },
      content: true,
    })),
    { event: "content_block_stop", data: { type: "content_block_stop", index: 0 } },
    {
      event: "message_delta",
      data: {
        type: "message_delta",
        delta: { stop_reason: stopReason, stop_sequence: null },
        usage: deltaUsage,
      },
    },
    { event: "message_stop", data: { type: "message_stop" } },
  ];
  return streamEvents(res, opts, events);
}

/** Write SSE events one by one; `cutoff` kills the socket, `hold` waits, `error-event` fails the stream. */
async function streamEvents(
  res: ServerResponse,
  opts: Options,
  events: { event: string; data: unknown; content?: boolean }[],
): Promise<void> {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "request-id": `req_mock_${Math.random().toString(36).slice(2, 10)}`,
    "anthropic-ratelimit-tokens-remaining": "999999",
  });
  res.flushHeaders();
  let contentSent = 0;
  const write = (event: string, data: unknown) =>
    new Promise<void>((resolve) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, () => resolve()),
    );
  for (const event of events) {
    if (event.content === true && contentSent === CUTOFF_CHUNKS) {
      if (opts.mode === "cutoff") {
        // Let what was written reach the client first, then die without the stream's end.
        await sleep(20);
        res.socket?.destroy();
        return;
      }
      if (opts.mode === "error-event") {
        await write("error", apiError("overloaded_error", "Overloaded"));
        res.end();
        return;
      }
    }
    if (event.content === true && opts.mode === "hold" && contentSent === 1) {
      const state = tagState(opts.tag);
      if (!state.released) await new Promise<void>((resolve) => state.waiting.push(resolve));
      if (res.destroyed || res.socket === null || res.socket.destroyed) return;
    }
    await write(event.event, event.data);
    if (event.content === true) contentSent += 1;
    if (opts.mode === "slow") await sleep(opts.delayMs);
  }
  res.end();
}

const model = (id: string) => ({
  type: "model",
  id,
  display_name: id,
  created_at: "2025-09-29T00:00:00Z",
});

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://mock");
  if (url.pathname.startsWith("/__mock/")) return control(req, res, url);
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  const tag = header(req, "x-mock-tag") ?? "";
  const state = tagState(tag);
  state.count += 1;
  state.last = {
    method: req.method ?? "",
    path: url.pathname + url.search,
    headers: req.headers,
    body: null,
  };
  let body: Body = {};
  if (text !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      return sendJson(res, 400, apiError("invalid_request_error", "bad JSON"));
    }
    state.last.body = body;
  }
  const apiKey = header(req, "x-api-key");
  if (apiKey === undefined || apiKey === "")
    return sendJson(res, 401, apiError("authentication_error", "x-api-key header is required"));
  const outputHeader = header(req, "x-mock-output-tokens");
  const opts: Options = {
    mode: header(req, "x-mock-mode") ?? "",
    delayMs: Number(header(req, "x-mock-delay-ms") ?? 50),
    tag,
    outputTokens: outputHeader === undefined ? null : Number(outputHeader),
    capped: header(req, "x-mock-cap") !== "ignore",
    deltaUsage: header(req, "x-mock-delta-usage") ?? "",
  };
  if (opts.mode === "error") {
    const status = Number(header(req, "x-mock-status") ?? 500);
    // Like some real upstreams, the message quotes the key it was sent: the gateway must not pass that on.
    return sendJson(
      res,
      status,
      apiError(
        status === 529 ? "overloaded_error" : "api_error",
        `mock upstream error ${status} for ${apiKey}`,
      ),
      { "x-mock-echo": `x-api-key=${apiKey}` },
    );
  }
  const route = `${req.method} ${url.pathname}`;
  if (route === "POST /v1/messages") return messages(res, body, opts);
  if (route === "POST /v1/messages/count_tokens")
    return sendJson(res, 200, { input_tokens: MOCK_COUNTED_TOKENS });
  if (route === "GET /v1/models")
    return sendJson(res, 200, {
      data: MODEL_IDS.map(model),
      has_more: false,
      first_id: MODEL_IDS[0],
      last_id: MODEL_IDS[MODEL_IDS.length - 1],
    });
  if (req.method === "GET" && url.pathname.startsWith("/v1/models/")) {
    const id = decodeURIComponent(url.pathname.slice("/v1/models/".length));
    if (MODEL_IDS.includes(id)) return sendJson(res, 200, model(id));
    return sendJson(res, 404, apiError("not_found_error", `model: ${id}`));
  }
  sendJson(res, 404, apiError("not_found_error", `no mock route ${route}`));
}

/** Start the mock on 127.0.0.1 (port 0: any free port). Answers the server and its base URL (`…/v1`). */
export function startMockAnthropic(port = 0): Promise<{ server: Server; url: string }> {
  return listenMock(handle, (message) => apiError("api_error", message), port);
}

/** Stop the server, ending held streams and open connections. */
export const stopMockAnthropic = stopMockUpstream;

void serveIfMain(import.meta.url, "mock anthropic", startMockAnthropic);
