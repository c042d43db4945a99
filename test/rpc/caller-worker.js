/**
 * A second Worker, as another team would write it: it binds Tollgate's `TollgateRpc` entrypoint as
 * `TOLLGATE` (a service binding; no admin token anywhere) and calls it. Run by the `workers` test project as an
 * auxiliary Worker (vitest.config.ts), so plain JavaScript: auxiliary Workers are not bundled.
 * The tests reach it through their own service binding `RPC_CALLER`, as RPC too.
 */
import { WorkerEntrypoint } from "cloudflare:workers";

const OPS = new Set(["check", "consume", "release", "reserve", "settle"]);

export default class RpcCaller extends WorkerEntrypoint {
  /** `env.TOLLGATE[op](body)`, answered as it came back across the binding. */
  async call(op, body) {
    if (!OPS.has(op)) throw new Error(`no such operation: ${op}`);
    return this.env.TOLLGATE[op](body);
  }

  /** Concurrent calls of one operation from this Worker, each answer in the order sent. */
  async callMany(op, bodies) {
    return Promise.all(bodies.map((body) => this.call(op, body)));
  }
}
