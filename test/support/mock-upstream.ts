/**
 * A mock OpenAI upstream for the gateway tests and the e2e script: plain Node `http`, speaking the wire format
 * of chat/completions, completions, responses (each streaming and not), embeddings and GET models.
 *
 * Per-request switches (request headers; the gateway forwards `x-…` headers it does not own):
 * - `x-mock-mode`: `slow` (a pause between stream chunks, `x-mock-delay-ms`, default 50), `error` (an
 *   OpenAI-shaped error, status `x-mock-status`, default 500), `cutoff` (the connection dies after two content
 *   chunks, or half the JSON body), `hold` (a stream stops after its first content chunk until
 *   `POST /__mock/release?tag=T`), `nousage` (no `usage` anywhere).
 * - `x-mock-tag`: the key requests are counted and recorded under, so parallel test files do not mix.
 * - `x-mock-total-tokens`: the `usage.total_tokens` to report (default: 11 prompt tokens + one per chunk).
 * - `x-mock-cached-tokens`, `x-mock-reasoning-tokens`: the cache reads among the prompt tokens and the
 *   reasoning among the output tokens the usage details report (default 0; at most the count they are part
 *   of): chat and completions `prompt_tokens_details.cached_tokens` and
 *   `completion_tokens_details.reasoning_tokens`, responses `input_tokens_details` / `output_tokens_details`.
 * - `x-mock-cap`: the mock honours the output cap it is sent, as a real upstream does (`max_completion_tokens`
 *   ?? `max_tokens` on chat, `max_tokens` on completions, `max_output_tokens` on responses): the output it
 *   reports never exceeds it. `ignore` reports `x-mock-total-tokens` whatever the cap (a misbehaving upstream).
 * - In `error` mode the answer echoes the request's `Authorization` in its body and in `x-mock-echo`.
 *
 * Besides the metered endpoints it serves `GET /v1/models/{id}`, `GET /v1/files` (the account's files: what
 * no customer may see unless the policy opens it) and `POST /v1/audio/*`.
 * Control: `GET /__mock/requests?tag=T` → `{ count, last }`; `POST /__mock/release?tag=T`; `POST /__mock/reset`.
 *
 * Standalone: `tsx test/support/mock-upstream.ts --port P` prints `mock upstream listening on http://127.0.0.1:P/v1`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";

/** The reply every generation endpoint streams, chunk by chunk. */
export const MOCK_CHUNKS = ["Hello", " from", " the", " mock", " upstream", "."];
export const MOCK_TEXT = MOCK_CHUNKS.join("");
/** `usage.prompt_tokens` the mock reports (its own count, deliberately not the gateway's estimate). */
export const MOCK_PROMPT_TOKENS = 11;
/** The default `usage.total_tokens` of a generation. */
export const MOCK_TOTAL_TOKENS = MOCK_PROMPT_TOKENS + MOCK_CHUNKS.length;
/** How many content chunks a `cutoff` stream sends before the connection dies. */
export const CUTOFF_CHUNKS = 2;
export const EMBEDDING_DIMENSIONS = 8;

export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

interface TagState {
  count: number;
  last: Recorded | null;
  waiting: (() => void)[];
  released: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: request bodies are read field by field
type Body = any;

const tags = new Map<string, TagState>();

/** The counters and held streams of one `x-mock-tag` (shared with the mock Anthropic upstream). */
export function tagState(tag: string): TagState {
  let state = tags.get(tag);
  if (state === undefined) {
    state = { count: 0, last: null, waiting: [], released: false };
    tags.set(tag, state);
  }
  return state;
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extraHeaders: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...extraHeaders,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-request-id": `req_mock_${Math.random().toString(36).slice(2, 10)}`,
    // What a real upstream says about the gateway's own key: the gateway must not pass these on.
    "x-ratelimit-remaining-tokens": "999999",
    "openai-organization": "org-upstream-secret",
  });
  res.end(text);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Options {
  mode: string;
  delayMs: number;
  tag: string;
  totalTokens: number | null;
  /** Cache reads among the prompt tokens and reasoning among the output tokens, for the usage details. */
  cachedTokens: number;
  reasoningTokens: number;
  /** The output cap the request carried, when the mock honours it; null: none sent, or `x-mock-cap: ignore`. */
  cap: number | null;
}

/** The output tokens to report: what `x-mock-total-tokens` asks for (or the default), within the cap. */
function outputTokens(opts: Options, completionTokens: number): number {
  const wanted = (opts.totalTokens ?? MOCK_PROMPT_TOKENS + completionTokens) - MOCK_PROMPT_TOKENS;
  return opts.cap === null ? wanted : Math.min(wanted, opts.cap);
}

/** The usage details: cache reads within the prompt tokens, reasoning within the output tokens. */
function detailsFor(opts: Options, output: number) {
  return {
    cached: Math.min(opts.cachedTokens, MOCK_PROMPT_TOKENS),
    reasoning: Math.min(opts.reasoningTokens, output),
  };
}

function usageFor(opts: Options, completionTokens: number) {
  const output = outputTokens(opts, completionTokens);
  const { cached, reasoning } = detailsFor(opts, output);
  return {
    prompt_tokens: MOCK_PROMPT_TOKENS,
    completion_tokens: output,
    total_tokens: MOCK_PROMPT_TOKENS + output,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: reasoning,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** The output cap a request to `route` carries (a number), or null. */
function capOf(route: string, body: Body): number | null {
  const value =
    route === "POST /v1/chat/completions"
      ? (body?.max_completion_tokens ?? body?.max_tokens)
      : route === "POST /v1/completions"
        ? body?.max_tokens
        : route === "POST /v1/responses"
          ? body?.max_output_tokens
          : null;
  return typeof value === "number" ? value : null;
}

/** Write SSE events one by one; `cutoff` kills the socket, `hold` waits for a release. */
async function streamEvents(
  res: ServerResponse,
  opts: Options,
  events: { event?: string; data: unknown; content?: boolean }[],
): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  res.flushHeaders();
  let contentSent = 0;
  for (const event of events) {
    if (event.content === true && opts.mode === "cutoff" && contentSent === CUTOFF_CHUNKS) {
      // Let what was written reach the client first, then die without the stream's end.
      await sleep(20);
      res.socket?.destroy();
      return;
    }
    if (event.content === true && opts.mode === "hold" && contentSent === 1) {
      const state = tagState(opts.tag);
      if (!state.released) await new Promise<void>((resolve) => state.waiting.push(resolve));
      if (res.destroyed || res.socket === null || res.socket.destroyed) return;
    }
    const data = typeof event.data === "string" ? event.data : JSON.stringify(event.data);
    const frame = `${event.event === undefined ? "" : `event: ${event.event}\n`}data: ${data}\n\n`;
    await new Promise<void>((resolve) => res.write(frame, () => resolve()));
    if (event.content === true) contentSent += 1;
    if (opts.mode === "slow") await sleep(opts.delayMs);
  }
  res.end();
}

function chatCompletions(res: ServerResponse, body: Body, opts: Options): Promise<void> | void {
  const id = `chatcmpl-mock${Math.random().toString(36).slice(2, 8)}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model;
  const withUsage = opts.mode !== "nousage";
  if (body.stream !== true) {
    const reply: Record<string, unknown> = {
      id,
      object: "chat.completion",
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: MOCK_TEXT, refusal: null },
          logprobs: null,
          finish_reason: "stop",
        },
      ],
    };
    if (withUsage) reply.usage = usageFor(opts, MOCK_CHUNKS.length);
    return sendBody(res, reply, opts);
  }
  const includeUsage = withUsage && body.stream_options?.include_usage === true;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices,
    ...(includeUsage ? { usage: null } : {}),
    ...extra,
  });
  const events: { data: unknown; content?: boolean }[] = [
    { data: chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]) },
    ...MOCK_CHUNKS.map((text) => ({
      data: chunk([{ index: 0, delta: { content: text }, finish_reason: null }]),
      content: true,
    })),
    { data: chunk([{ index: 0, delta: {}, finish_reason: "stop" }]) },
  ];
  if (includeUsage) events.push({ data: chunk([], { usage: usageFor(opts, MOCK_CHUNKS.length) }) });
  events.push({ data: "[DONE]" });
  return streamEvents(res, opts, events);
}

function completions(res: ServerResponse, body: Body, opts: Options): Promise<void> | void {
  const id = `cmpl-mock${Math.random().toString(36).slice(2, 8)}`;
  const created = Math.floor(Date.now() / 1000);
  const withUsage = opts.mode !== "nousage";
  const base = { id, object: "text_completion", created, model: body.model };
  if (body.stream !== true) {
    return sendBody(
      res,
      {
        ...base,
        choices: [{ index: 0, text: MOCK_TEXT, logprobs: null, finish_reason: "stop" }],
        ...(withUsage ? { usage: usageFor(opts, MOCK_CHUNKS.length) } : {}),
      },
      opts,
    );
  }
  const includeUsage = withUsage && body.stream_options?.include_usage === true;
  const events: { data: unknown; content?: boolean }[] = MOCK_CHUNKS.map((text, i) => ({
    data: {
      ...base,
      choices: [
        { index: 0, text, logprobs: null, finish_reason: i === MOCK_CHUNKS.length - 1 ? "stop" : null },
      ],
      ...(includeUsage ? { usage: null } : {}),
    },
    content: true,
  }));
  if (includeUsage)
    events.push({ data: { ...base, choices: [], usage: usageFor(opts, MOCK_CHUNKS.length) } });
  events.push({ data: "[DONE]" });
  return streamEvents(res, opts, events);
}

function responses(res: ServerResponse, body: Body, opts: Options): Promise<void> | void {
  const id = `resp_mock${Math.random().toString(36).slice(2, 8)}`;
  const itemId = `msg_mock${Math.random().toString(36).slice(2, 8)}`;
  const createdAt = Math.floor(Date.now() / 1000);
  const withUsage = opts.mode !== "nousage";
  const output = outputTokens(opts, MOCK_CHUNKS.length);
  const { cached, reasoning } = detailsFor(opts, output);
  const usage = {
    input_tokens: MOCK_PROMPT_TOKENS,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: MOCK_PROMPT_TOKENS + output,
  };
  const part = { type: "output_text", text: MOCK_TEXT, annotations: [] };
  const item = { type: "message", id: itemId, status: "completed", role: "assistant", content: [part] };
  const response = (status: string, output: unknown[], withUsageNow: boolean) => ({
    id,
    object: "response",
    created_at: createdAt,
    status,
    model: body.model,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    output,
    parallel_tool_calls: true,
    tool_choice: "auto",
    tools: [],
    usage: withUsageNow ? usage : null,
  });
  if (body.stream !== true) return sendBody(res, response("completed", [item], withUsage), opts);
  let seq = 0;
  const ev = (type: string, data: Record<string, unknown>, content = false) => ({
    event: type,
    data: { type, sequence_number: seq++, ...data },
    content,
  });
  const events = [
    ev("response.created", { response: response("in_progress", [], false) }),
    ev("response.in_progress", { response: response("in_progress", [], false) }),
    ev("response.output_item.added", {
      output_index: 0,
      item: { ...item, status: "in_progress", content: [] },
    }),
    ev("response.content_part.added", {
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      part: { ...part, text: "" },
    }),
    ...MOCK_CHUNKS.map((delta) =>
      ev(
        "response.output_text.delta",
        { item_id: itemId, output_index: 0, content_index: 0, delta, logprobs: [] },
        true,
      ),
    ),
    ev("response.output_text.done", {
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      text: MOCK_TEXT,
      logprobs: [],
    }),
    ev("response.content_part.done", { item_id: itemId, output_index: 0, content_index: 0, part }),
    ev("response.output_item.done", { output_index: 0, item }),
    ev("response.completed", { response: response("completed", [item], withUsage) }),
  ];
  return streamEvents(res, opts, events);
}

function embedding(index: number): number[] {
  return Array.from({ length: EMBEDDING_DIMENSIONS }, (_, i) => (index + 1) * 0.125 + i * 0.0625);
}

function embeddings(res: ServerResponse, body: Body, opts: Options): void {
  const inputs = Array.isArray(body.input) && typeof body.input[0] !== "number" ? body.input : [body.input];
  const data = inputs.map((_: unknown, index: number) => {
    const vector = embedding(index);
    const encoded =
      body.encoding_format === "base64"
        ? Buffer.from(new Float32Array(vector).buffer).toString("base64")
        : vector;
    return { object: "embedding", index, embedding: encoded };
  });
  const total = opts.totalTokens ?? 5 * inputs.length;
  sendBody(
    res,
    {
      object: "list",
      data,
      model: body.model,
      ...(opts.mode === "nousage" ? {} : { usage: { prompt_tokens: total, total_tokens: total } }),
    },
    opts,
  );
}

/** A JSON reply; `cutoff` sends half of it and kills the connection. */
function sendBody(res: ServerResponse, body: unknown, opts: Options): void {
  if (opts.mode !== "cutoff") {
    sendJson(res, 200, body);
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.write(text.slice(0, Math.floor(text.length / 2)), () => res.socket?.destroy());
}

const MODEL_IDS = ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"];
const model = (id: string) => ({ id, object: "model", created: 1_700_000_000, owned_by: "mock" });

function models(res: ServerResponse): void {
  sendJson(res, 200, { object: "list", data: MODEL_IDS.map(model) });
}

/** `GET /v1/models/{id}`: a known id, or OpenAI's 404 for a model that does not exist. */
function oneModel(res: ServerResponse, id: string): void {
  if (MODEL_IDS.includes(id)) {
    sendJson(res, 200, model(id));
    return;
  }
  sendJson(res, 404, {
    error: {
      message: `The model '${id}' does not exist`,
      type: "invalid_request_error",
      param: null,
      code: "model_not_found",
    },
  });
}

/** The shared account's files: what finding 1 of issue 9 saw leak to any customer. */
export const MOCK_ACCOUNT_FILE = "file-mock-account-secret";

function files(res: ServerResponse): void {
  sendJson(res, 200, {
    object: "list",
    data: [{ id: MOCK_ACCOUNT_FILE, object: "file", bytes: 42, filename: "other-customer.jsonl" }],
  });
}

/** The `/__mock/*` control routes (shared with the mock Anthropic upstream). */
export function control(req: IncomingMessage, res: ServerResponse, url: URL): void {
  const tag = url.searchParams.get("tag") ?? "";
  if (url.pathname === "/__mock/requests") {
    const state = tags.get(tag);
    sendJson(res, 200, { count: state?.count ?? 0, last: state?.last ?? null });
    return;
  }
  if (url.pathname === "/__mock/release" && req.method === "POST") {
    const state = tagState(tag);
    state.released = true;
    for (const resolve of state.waiting.splice(0)) resolve();
    sendJson(res, 200, { released: true });
    return;
  }
  if (url.pathname === "/__mock/reset" && req.method === "POST") {
    for (const state of tags.values()) for (const resolve of state.waiting.splice(0)) resolve();
    tags.clear();
    sendJson(res, 200, { reset: true });
    return;
  }
  sendJson(res, 404, { error: { message: "unknown control route", type: "invalid_request_error" } });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://mock");
  if (url.pathname.startsWith("/__mock/")) return control(req, res, url);
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  const tag = header(req, "x-mock-tag") ?? "";
  const state = tagState(tag);
  state.count += 1;
  // Counted before anything else: a request that reaches the mock at all shows up in `count`.
  const isJson = (header(req, "content-type") ?? "application/json").startsWith("application/json");
  let body: Body = isJson ? null : text;
  state.last = { method: req.method ?? "", path: url.pathname + url.search, headers: req.headers, body };
  if (isJson) {
    try {
      body = text === "" ? null : JSON.parse(text);
    } catch {
      return sendJson(res, 400, {
        error: { message: "bad JSON", type: "invalid_request_error", param: null, code: null },
      });
    }
    state.last.body = body;
  }
  const route = `${req.method} ${url.pathname}`;
  const opts: Options = {
    mode: header(req, "x-mock-mode") ?? "",
    delayMs: Number(header(req, "x-mock-delay-ms") ?? 50),
    tag,
    totalTokens:
      header(req, "x-mock-total-tokens") === undefined ? null : Number(header(req, "x-mock-total-tokens")),
    cachedTokens: Number(header(req, "x-mock-cached-tokens") ?? 0),
    reasoningTokens: Number(header(req, "x-mock-reasoning-tokens") ?? 0),
    cap: header(req, "x-mock-cap") === "ignore" ? null : capOf(route, body),
  };
  if (!header(req, "authorization")?.startsWith("Bearer ")) {
    return sendJson(res, 401, {
      error: {
        message: "missing upstream key",
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      },
    });
  }
  if (opts.mode === "error") {
    const status = Number(header(req, "x-mock-status") ?? 500);
    // Like some real upstreams, the message quotes the key it was sent: the gateway must not pass that on.
    return sendJson(
      res,
      status,
      {
        error: {
          message: `mock upstream error ${status} for ${header(req, "authorization")}`,
          type: "server_error",
          param: null,
          code: "mock_error",
        },
      },
      { "x-mock-echo": `authorization=${header(req, "authorization")}` },
    );
  }
  if (route === "POST /v1/chat/completions") return chatCompletions(res, body ?? {}, opts);
  if (route === "POST /v1/completions") return completions(res, body ?? {}, opts);
  if (route === "POST /v1/responses") return responses(res, body ?? {}, opts);
  if (route === "POST /v1/embeddings") return embeddings(res, body ?? {}, opts);
  if (route === "GET /v1/models") return models(res);
  if (req.method === "GET" && url.pathname.startsWith("/v1/models/"))
    return oneModel(res, decodeURIComponent(url.pathname.slice("/v1/models/".length)));
  if (route === "GET /v1/files") return files(res);
  if (req.method === "POST" && url.pathname.startsWith("/v1/audio/"))
    return sendJson(res, 200, { text: MOCK_TEXT, bytes: Buffer.byteLength(text) });
  sendJson(res, 404, {
    error: {
      message: `no mock route ${route}`,
      type: "invalid_request_error",
      param: null,
      code: "not_found",
    },
  });
}

/**
 * Serve `handle` on 127.0.0.1 (port 0: any free port); a handler that throws answers 500 with
 * `internalError(message)` as its body. Answers the server and its base URL (`…/v1`). Both mocks start here.
 */
export async function listenMock(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  internalError: (message: string) => unknown,
  port = 0,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, internalError(String(error)));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${address.port}/v1` };
}

/** Start the mock on 127.0.0.1 (port 0: any free port). Answers the server and its base URL (`…/v1`). */
export function startMockUpstream(port = 0): Promise<{ server: Server; url: string }> {
  return listenMock(handle, (message) => ({ error: { message, type: "server_error" } }), port);
}

/** Let every held stream go on (both mocks' streams wait on the same tags). */
export function releaseAllHeld(): void {
  for (const state of tags.values()) for (const resolve of state.waiting.splice(0)) resolve();
}

/** Stop the server, ending held streams and open connections. */
export async function stopMockUpstream(server: Server): Promise<void> {
  releaseAllHeld();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** When the module at `moduleUrl` is the program (`tsx <file> --port N`), serve until SIGINT or SIGTERM. */
export async function serveIfMain(
  moduleUrl: string,
  label: string,
  start: (port: number) => Promise<{ server: Server; url: string }>,
): Promise<void> {
  if (process.argv[1] === undefined || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  const index = process.argv.indexOf("--port");
  const port = index === -1 ? 0 : Number(process.argv[index + 1]);
  const { server, url } = await start(port);
  console.log(`${label} listening on ${url}`);
  const stop = () => void stopMockUpstream(server).then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

void serveIfMain(import.meta.url, "mock upstream", startMockUpstream);
