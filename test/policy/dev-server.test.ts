/**
 * `npm run dev` on a fresh state directory (SPEC §1, §11 "Policy store"): policies/default.yaml is in force
 * from the server's first answer, and a policy written as soon as the server answers is never replaced. Then
 * `npm run policy -- push` against that server: through its API, so its preconditions are the API's.
 * Runs the real scripts (wrangler dev on a free port), so it takes a few seconds.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createClient } from "../../scripts/lib/client";
import { type DevServer, killDevServer, startDevServer, stopDevServer } from "../../scripts/lib/dev-server";
import { freePort, pollUntil } from "../../scripts/lib/net";
import { runNpm } from "../../scripts/lib/npm";
import { validatePolicyFile } from "../../scripts/lib/policy-file";
import { POLICIES_DIR } from "./helpers";

const USER_POLICY = `
credits:
  token: {}
plans:
  mine:
    default: true
    entitlements:
      tokens: { limit: { credit: token, value: 42 } }
`;

let server: DevServer | undefined;
let dir: string | undefined;
let token = "";
let userVersion: unknown;

afterAll(async () => {
  if (server !== undefined) await stopDevServer(server).catch(() => server && killDevServer(server));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("npm run dev on a fresh state directory, then npm run policy -- push", () => {
  it("a policy PUT the moment the server answers stays in force", { timeout: 180_000 }, async () => {
    const defaults = await validatePolicyFile(join(POLICIES_DIR, "default.yaml"));
    if (!defaults.ok) throw new Error("policies/default.yaml is invalid");
    dir = await mkdtemp(join(tmpdir(), "tollgate-dev-seed-"));
    token = randomBytes(16).toString("hex");
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const api = createClient(baseUrl, token);

    // Watch the server from the moment it is spawned, polling faster than the script itself does.
    let firstAnswer: { status: number; version: unknown } | undefined;
    let spawned: DevServer | undefined;
    const watching = pollUntil(
      async () => {
        const health = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
        await health.body?.cancel();
        if (health.status !== 200) return undefined;
        const policy = await api("GET", "/v1/policy");
        firstAnswer = { status: policy.status, version: policy.body.version };
        const put = await api("PUT", "/v1/policy", { text: USER_POLICY, contentType: "application/yaml" });
        userVersion = put.status === 200 ? put.body.version : `PUT answered ${put.status}`;
        return true;
      },
      {
        timeoutMs: 150_000,
        intervalMs: 20,
        what: "the dev server's first answer",
        abortReason: () => (spawned?.exitCode == null ? undefined : "npm run dev exited"),
      },
    );
    server = await startDevServer({
      port,
      persistTo: dir,
      token,
      timeoutMs: 150_000,
      onSpawn: (started) => {
        spawned = started;
      },
    });
    await watching;
    // The script is done with the policy once it prints its banner.
    const running = server;
    await pollUntil(
      async () => (running.output.some((line) => line.includes("Tollgate is running on")) ? true : undefined),
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        what: "the start banner",
      },
    );

    expect(firstAnswer).toEqual({ status: 200, version: defaults.policy.version });
    expect(userVersion).toMatch(/^[0-9a-f]{16}$/);
    const after = await api("GET", "/v1/policy");
    expect(after.body.version).toBe(userVersion);
  });

  it("npm run policy -- push goes through the API: --if-match is a compare-and-set", {
    timeout: 120_000,
  }, async () => {
    const running = server;
    if (running === undefined) throw new Error("the server did not start");
    const seed = join(POLICIES_DIR, "examples", "seed-example.yaml");
    const seedVersion = await validatePolicyFile(seed).then((r) => (r.ok ? r.policy.version : ""));
    const push = (...args: string[]) =>
      runNpm(["run", "-s", "policy", "--", "push", seed, "--url", running.baseUrl, ...args], {
        TOLLGATE_TOKEN: token,
      });

    const stale = await push("--if-match", "0000000000000000");
    expect(stale.code, stale.output).toBe(1);
    expect(stale.output).toContain("412 precondition_failed");
    expect((await running.api("GET", "/v1/policy")).body.version).toBe(userVersion);

    const pushed = await push("--if-match", String(userVersion));
    expect(pushed.code, pushed.output).toBe(0);
    expect(pushed.output).toContain(`version ${seedVersion} is now active`);
    expect((await running.api("GET", "/v1/policy")).body.version).toBe(seedVersion);
    const none = await push("--if-none-match");
    expect(none.code, none.output).toBe(1);
  });
});
