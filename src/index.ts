/** Worker entry: the HTTP app and the Durable Object classes. */
import { createApp } from "./http/app";

export { AlternateIdObject } from "./objects/alternate-id-object";
export { CustomerObject } from "./objects/customer-object";
export { PolicyObject } from "./objects/policy-object";

export default createApp();
