/** The Hono environment every HTTP module shares: Worker bindings plus per-request variables. */

/** Per-request values set by middleware and body readers. */
export interface AppVariables {
  /** Set by the request-id middleware before anything else runs; repeated in every error envelope. */
  requestId: string;
  /** The parsed JSON body (before schema validation), set by `readJson` for routes that need it again. */
  body?: unknown;
}

/** `Hono<AppEnv>` is the app type used by `createApp()` and every `register…Routes(app)`. */
export type AppEnv = { Bindings: Env; Variables: AppVariables };
