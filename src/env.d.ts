// Secrets and optional vars that `wrangler types` cannot see in wrangler.toml (SPEC §1).
interface TollgateSecrets {
  ADMIN_TOKEN?: string;
  OPENAI_API_KEY?: string;
  ANTHROPIC_API_KEY?: string;
  WEBHOOK_URL?: string;
  WEBHOOK_SECRET?: string;
  /** How long an isolate trusts its cached active-policy pointer; "0" in local dev. Default 10. */
  POLICY_CACHE_SECONDS?: string;
}
interface Env extends TollgateSecrets {}
declare namespace Cloudflare {
  interface Env extends TollgateSecrets {}
}
