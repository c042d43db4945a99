/** The Hono environment every HTTP module shares: Worker bindings plus the request id (src/lib/request-id.ts). */
import type { RequestIdEnv } from "../lib/request-id";

/** `OpenAPIHono<AppEnv>` is the app type used by `createApp()` and every `register…Routes(app)`. */
export type AppEnv = RequestIdEnv;
