/**
 * `npm run bench:engine`: decisions per second of the compiled engine on one core (SPEC §9, goal ≥ 2,000,000).
 * A pro customer of the default policy, round-robin over its limited, rated and flag entitlements; every call
 * routes through the plan, decides, and keeps the new meter, as the customer's object does.
 */
import { readFileSync } from "node:fs";
import type { DecisionContext } from "../src/domain/decision";
import { applyMeter } from "../src/domain/meter";
import { routeEntitlement } from "../src/domain/plans";
import type { CustomerRecord, MeterState } from "../src/domain/types";
import { validatePolicyText } from "../src/policy/load";

const WARMUP = 300_000;
const RUNS = 5;
const PER_RUN = 1_000_000;

async function main(): Promise<void> {
  const text = readFileSync(new URL("../policies/default.yaml", import.meta.url), "utf8");
  const result = await validatePolicyText(text, "application/yaml");
  if (!result.ok) throw new Error(`default policy invalid: ${JSON.stringify(result.issues)}`);
  const policy = result.policy;
  const customer: CustomerRecord = {
    id: "bench_user",
    type: "org",
    plan: "pro",
    org: null,
    label: null,
    metadata: null,
    alternateIds: [],
    createdAt: 0,
    updatedAt: 0,
  };
  const names = [...(policy.plans.get("pro")?.entitlements.keys() ?? [])];
  const meters = new Map<string, MeterState>();
  let nowMs = Date.UTC(2026, 10, 1);
  let allowed = 0;

  const step = (i: number): void => {
    const name = names[i % names.length] as string;
    const route = routeEntitlement(policy, customer, null, name);
    if (route.kind !== "local") throw new Error(`unexpected route for ${name}`);
    nowMs += 1;
    const ctx: DecisionContext = {
      customer: customer.id,
      meteredOn: customer.id,
      plan: route.plan.name,
      entitlement: route.entitlement,
      policyVersion: policy.version,
      nowMs,
    };
    const out = applyMeter(meters.get(name), ctx, { op: "consume", amount: 1 });
    if (out.meter !== null) meters.set(name, out.meter);
    if (out.decision.allowed) allowed += 1;
  };

  for (let i = 0; i < WARMUP; i++) step(i);
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < PER_RUN; i++) step(i);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rates.push(PER_RUN / seconds);
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)] as number;
  const summary = {
    benchmark: "engine",
    entitlements: names.length,
    decisionsPerSecond: Math.round(median),
    min: Math.round(rates[0] as number),
    max: Math.round(rates.at(-1) as number),
    runs: RUNS,
    decisionsPerRun: PER_RUN,
    allowedShare: Number((allowed / (WARMUP + RUNS * PER_RUN)).toFixed(3)),
    node: process.version,
  };
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify(summary));
    return;
  }
  console.log(`engine: ${summary.decisionsPerSecond.toLocaleString("en-US")} decisions/s on one core`);
  console.log(
    `  median of ${RUNS} runs of ${PER_RUN.toLocaleString("en-US")} (min ${summary.min.toLocaleString("en-US")}, max ${summary.max.toLocaleString("en-US")})`,
  );
  console.log(
    `  plan "pro" of policies/default.yaml, ${names.length} entitlements round-robin, Node ${process.version}`,
  );
}

await main();
