/** A small JSON client for the admin API, used to seed and inspect the gate from Node (bench and load suite). */

// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field by the callers
export type Json = any;

export interface Reply {
  status: number;
  json: Json;
  text: string;
  headers: Headers;
}

/** A client bound to one server and admin token. */
export class GateClient {
  constructor(
    readonly base: URL,
    readonly token: string,
  ) {}

  /** Send a request; a non-string body is sent as JSON. Never throws on an HTTP status. */
  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const init: RequestInit = {
      method,
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json", ...headers },
    };
    if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
    const res = await fetch(new URL(path, this.base), init);
    const text = await res.text();
    let json: Json = null;
    try {
      json = text === "" ? null : JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  /** Send and require `status` (200 by default); answers the parsed body. */
  async expect(method: string, path: string, body?: unknown, status = 200): Promise<Json> {
    const reply = await this.call(method, path, body);
    if (reply.status !== status) {
      throw new Error(
        `${method} ${path}: expected ${status}, got ${reply.status} ${reply.text.slice(0, 500)}`,
      );
    }
    return reply.json;
  }

  /** Store a policy given as YAML text or a JSON-able document; answers its version. */
  async putPolicy(policy: string | object): Promise<string> {
    const yaml = typeof policy === "string";
    const reply = await this.call("PUT", "/v1/policy", yaml ? policy : JSON.stringify(policy), {
      "content-type": yaml ? "application/yaml" : "application/json",
    });
    if (reply.status !== 200) throw new Error(`PUT /v1/policy: ${reply.status} ${reply.text.slice(0, 500)}`);
    return reply.json.version as string;
  }

  putCustomer(id: string, patch: object = {}): Promise<Json> {
    return this.expect("PUT", `/v1/customers/${encodeURIComponent(id)}`, patch);
  }

  getCustomer(id: string): Promise<Json> {
    return this.expect("GET", `/v1/customers/${encodeURIComponent(id)}`);
  }

  getState(id: string): Promise<Json> {
    return this.expect("GET", `/v1/customers/${encodeURIComponent(id)}/state`);
  }

  /** Every event of a customer, oldest first, with the bytes of the pages that carried them. */
  async allEvents(id: string): Promise<{ events: Json[]; bytes: number }> {
    const events: Json[] = [];
    let bytes = 0;
    let after = 0;
    for (;;) {
      const reply = await this.call(
        "GET",
        `/v1/customers/${encodeURIComponent(id)}/events?after=${after}&limit=1000`,
      );
      if (reply.status !== 200)
        throw new Error(`events of ${id}: ${reply.status} ${reply.text.slice(0, 300)}`);
      bytes += Buffer.byteLength(reply.text);
      events.push(...reply.json.events);
      if (reply.json.next === null) return { events, bytes };
      after = reply.json.next;
    }
  }
}

/** Run `task` over `items` with at most `concurrency` in flight; answers results in item order. */
export async function pool<T, R>(
  items: T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
) {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await task(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
