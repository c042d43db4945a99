/** The policy the bench seeds: `policies/default.yaml` plus one plan sized for load, with ten meters. */
import { readFileSync } from "node:fs";
import { parse } from "yaml";

/** Entitlements of the `bench` plan: the default policy's metered ones plus five more, ten meters in all. */
export const BENCH_METERS = [
  "gpt4o_tokens",
  "gpt4o_mini_tokens",
  "embedding_tokens",
  "api_requests",
  "storage",
  "bench_1",
  "bench_2",
  "bench_3",
  "bench_4",
  "bench_5",
] as const;

const BIG = 1_000_000_000;

/**
 * The default policy with a `bench` plan added: the same entitlements and resets as `pro`, but limits large
 * enough for minutes of load and no rate (pro's `api_requests` allows 60 calls a minute, which the gateway
 * consumes on every call). The HTTP rows meter `pro` customers; the gateway and state rows use `bench`, and
 * the hot-org row an org on `bench` whose members have no plan of their own (its `org_tokens` is org-scoped).
 * The `granted` plan is the grants row's: a hard limit of 1 and a top-up that covers the run.
 */
export function benchPolicy(): Record<string, unknown> {
  const text = readFileSync(new URL("../../policies/default.yaml", import.meta.url), "utf8");
  const policy = parse(text) as { plans: Record<string, unknown> };
  const monthly = (credit: string) => ({ limit: { credit, value: BIG, reset_sch: "monthly:1" } });
  policy.plans.bench = {
    label: "Bench",
    entitlements: {
      chat: {},
      gpt4o_tokens: monthly("token"),
      gpt4o_mini_tokens: monthly("token"),
      embedding_tokens: monthly("token"),
      // The Anthropic door's row meters Claude models here; not one of the ten meters the state row fills.
      claude_tokens: monthly("token"),
      api_requests: { limit: { credit: "request", value: BIG, reset_sch: "daily" } },
      storage: { limit: { credit: "mb", value: BIG, reset_inc: "24hr" } },
      bench_1: monthly("token"),
      bench_2: monthly("token"),
      bench_3: monthly("token"),
      bench_4: monthly("token"),
      bench_5: monthly("token"),
      // The hot-org row: members with no plan of their own draw from their org's meter (user → org hop).
      org_tokens: { scope: "org", ...monthly("token") },
    },
  };
  // The grants row: a hard limit of 1 token, and a top-up that covers the whole run past it, so every consume
  // after the first goes past the limit and draws the grant (SPEC §12.3).
  policy.plans.granted = {
    label: "Bench (grants)",
    topups: { bench_grant: { credit: "token", value: BIG } },
    entitlements: { gpt4o_tokens: { limit: { credit: "token", value: 1, reset_sch: "monthly:1" } } },
  };
  return policy;
}
