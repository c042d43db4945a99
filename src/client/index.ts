/**
 * `tollgate/client`: the typed TypeScript client of the admin API (SPEC §13.3). It runs wherever `fetch`
 * does (a browser, Node, a Worker) and imports nothing at runtime: its types come from the server's zod
 * schemas as type-only imports.
 */
export { type ClientOptions, type PolicyPreconditions, TollgateClient } from "./client";
export type {
  ClientErrorCode,
  Removal,
  TollgateError,
  TollgateErrorCode,
  TollgateFailure,
  TollgateOk,
  TollgateResult,
} from "./result";
export type { RetryOptions } from "./retry";
export type { CallOptions, FetchLike, TransportOptions } from "./transport";
export type * from "./types";
