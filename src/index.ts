/**
 * Worker entry: the admin app with the gateway mounted on it, the Workers RPC entrypoint (`TollgateRpc`), and
 * the Durable Object classes. The only module that imports src/http or src/rpc.
 */
import { createGatewayApp } from "./gateway/app";
import { createApp as createAdminApp } from "./http/app";

export { AlternateIdObject } from "./objects/alternate-id-object";
export { CustomerObject } from "./objects/customer-object";
export { PolicyObject } from "./objects/policy-object";
export { TollgateRpc } from "./rpc/entrypoint";

/**
 * Build the Worker's app: request ids, `/v1`, health and docs (src/http), and the gateway (src/gateway, its
 * own app with its own error shape). Each call returns a fresh app (tests build their own to vary the env).
 */
export function createApp() {
  const app = createAdminApp();
  app.route("/", createGatewayApp());
  return app;
}

export default createApp();
