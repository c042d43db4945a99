import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

// Storage is isolated per test file, not per test: these tests run in order and build on each other.

const BASE = "http://gate.test";
const AUTH = { Authorization: `Bearer ${env.ADMIN_TOKEN}` };

const POLICY_YAML = `# comments do not change the version
credits:
  token: { description: A model token }
  mb: { label: Megabyte, unit: MB }
plans:
  free:
    default: true
    entitlements:
      export_pdf:
      storage:
        limit: { credit: mb, value: 1GB }
      gpt_tokens:
        limit: { credit: token, value: 500, resets: true, reset_inc: 24hr }
`;
const POLICY_JSON = {
  credits: { token: { description: "A model token" }, mb: { label: "Megabyte", unit: "MB" } },
  plans: {
    free: {
      default: true,
      entitlements: {
        export_pdf: {},
        storage: { limit: { credit: "mb", value: "1GB" } },
        gpt_tokens: { limit: { credit: "token", value: 500, resets: true, reset_inc: "24hr" } },
      },
    },
  },
};
const OTHER_YAML = POLICY_YAML.replace("value: 500", "value: 600");

type Json = Record<string, unknown>;
interface Envelope {
  error: { code: string; message: string; details?: Json; requestId: string };
}

function send(method: string, path: string, body: string, type: string | null, headers: Json = {}) {
  return exports.default.fetch(`${BASE}${path}`, {
    method,
    // A string body gets text/plain from fetch() unless a type is set; bytes let us send none at all.
    body: type === null ? new TextEncoder().encode(body) : body,
    headers: {
      ...AUTH,
      ...(type === null ? {} : { "Content-Type": type }),
      ...(headers as Record<string, string>),
    },
  });
}
const putYaml = (text: string, headers: Json = {}) =>
  send("PUT", "/v1/policy", text, "application/yaml", headers);
const putJson = (doc: unknown, headers: Json = {}) =>
  send("PUT", "/v1/policy", JSON.stringify(doc), "application/json", headers);
const getPolicy = () => exports.default.fetch(`${BASE}/v1/policy`, { headers: AUTH });

async function expectError(res: Response, status: number, code: string): Promise<Envelope["error"]> {
  const body = (await res.json()) as Envelope;
  expect({ status: res.status, code: body.error.code }).toEqual({ status, code });
  expect(body.error.requestId).toBe(res.headers.get("x-request-id"));
  return body.error;
}

async function versionOf(res: Response): Promise<string> {
  expect(res.status).toBe(200);
  const { version } = (await res.json()) as { version: string };
  expect(version).toMatch(/^[0-9a-f]{16}$/);
  return version;
}

async function healthVersion(): Promise<string | null> {
  const res = await exports.default.fetch(`${BASE}/healthz`);
  return ((await res.json()) as { policyVersion: string | null }).policyVersion;
}

describe("policy routes", () => {
  let version = "";

  it("answers 503 policy_unavailable before any PUT; /healthz shows no version", async () => {
    await expectError(await getPolicy(), 503, "policy_unavailable");
    expect(await healthVersion()).toBeNull();
  });

  it("If-Match: * with no policy yet is 412 with currentVersion null", async () => {
    const error = await expectError(
      await putYaml(POLICY_YAML, { "If-Match": "*" }),
      412,
      "precondition_failed",
    );
    expect(error.details).toEqual({ currentVersion: null });
  });

  it("validate answers the version without storing anything", async () => {
    const res = await send("POST", "/v1/policy/validate", POLICY_YAML, "application/yaml");
    const body = (await res.json()) as { valid: boolean; version: string };
    expect(body).toEqual({ valid: true, version: expect.stringMatching(/^[0-9a-f]{16}$/) });
    version = body.version;
    await expectError(await getPolicy(), 503, "policy_unavailable");
  });

  it("validate rejects an invalid policy with issue paths", async () => {
    const bad = POLICY_YAML.replace("credit: mb", "credit: nope");
    const error = await expectError(
      await send("POST", "/v1/policy/validate", bad, "text/yaml"),
      400,
      "invalid_policy",
    );
    expect(error.details?.issues).toEqual([
      { path: "plans.free.entitlements.storage.limit.credit", message: expect.any(String) },
    ]);
  });

  it("PUT YAML and PUT JSON of one policy give the same version", async () => {
    expect(await versionOf(await putYaml(POLICY_YAML))).toBe(version);
    expect(await versionOf(await putJson(POLICY_JSON))).toBe(version);
    expect(await versionOf(await putJson({ policy: POLICY_JSON }))).toBe(version);
    expect(await versionOf(await send("PUT", "/v1/policy", POLICY_YAML, "text/plain"))).toBe(version);
    expect(await versionOf(await send("PUT", "/v1/policy", JSON.stringify(POLICY_JSON), null))).toBe(version);
  });

  it("GET returns the policy with an ETag; /healthz shows its version", async () => {
    const res = await getPolicy();
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(`"${version}"`);
    const body = (await res.json()) as { version: string; updatedAt: string; policy: Json };
    expect(body.version).toBe(version);
    expect(new Date(body.updatedAt).toISOString()).toBe(body.updatedAt);
    expect(body.policy).toMatchObject({ plans: { free: { default: true } } });
    expect(await healthVersion()).toBe(version);
  });

  it("putting the active policy again keeps its version and updatedAt", async () => {
    const before = (await (await getPolicy()).json()) as { updatedAt: string };
    expect(await versionOf(await putYaml(`${POLICY_YAML}\n# another comment\n`))).toBe(version);
    const after = (await (await getPolicy()).json()) as { updatedAt: string };
    expect(after.updatedAt).toBe(before.updatedAt);
  });

  it("an invalid policy is 400 invalid_policy and the old one stays active", async () => {
    const bad = {
      ...POLICY_JSON,
      plans: {
        free: { ...POLICY_JSON.plans.free, entitlements: { x: { limit: { credit: "mb", value: -1 } } } },
      },
      extra: true,
    };
    const error = await expectError(await putJson(bad), 400, "invalid_policy");
    const paths = ((error.details?.issues ?? []) as { path: string }[]).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(["extra", "plans.free.entitlements.x.limit.value"]));
    const syntax = await expectError(await putYaml("plans: [\n"), 400, "invalid_policy");
    expect(syntax.details?.issues).toEqual([{ path: "", message: expect.stringContaining("YAML") }]);
    const json = await expectError(
      await send("PUT", "/v1/policy", "{not json", "application/json"),
      400,
      "invalid_policy",
    );
    expect(json.details?.issues).toEqual([{ path: "", message: expect.stringContaining("JSON") }]);
    expect(await versionOf(await getPolicy())).toBe(version);
  });

  it("If-Match: a stale version is 412 with currentVersion; quoted, bare and * match", async () => {
    const stale = await putYaml(OTHER_YAML, { "If-Match": '"0000000000000000"' });
    expect((await expectError(stale, 412, "precondition_failed")).details).toEqual({
      currentVersion: version,
    });
    expect(await versionOf(await getPolicy())).toBe(version);

    const other = await versionOf(await putYaml(OTHER_YAML, { "If-Match": `"${version}"` }));
    expect(other).not.toBe(version);
    expect(await versionOf(await putYaml(POLICY_YAML, { "If-Match": other }))).toBe(version);
    expect(await versionOf(await putYaml(POLICY_YAML, { "If-Match": "*" }))).toBe(version);
    expect(await versionOf(await putYaml(POLICY_YAML, { "If-Match": `"x", "${version}"` }))).toBe(version);
  });

  it("policy bodies accept up to 1 MiB, beyond 64 KiB too", async () => {
    const padded = `${POLICY_YAML}#${"x".repeat(200 * 1024)}\n`;
    expect(await versionOf(await putYaml(padded))).toBe(version);
    const huge = `${POLICY_YAML}#${"x".repeat(1024 * 1024)}\n`;
    const error = await expectError(await putYaml(huge), 413, "payload_too_large");
    expect(error.details).toEqual({ limitBytes: 1024 * 1024 });
    await expectError(
      await send("POST", "/v1/policy/validate", huge, "application/yaml"),
      413,
      "payload_too_large",
    );
  });

  it("other media types are 415", async () => {
    for (const type of ["application/xml", "application/x-www-form-urlencoded", "multipart/form-data"]) {
      await expectError(await send("PUT", "/v1/policy", POLICY_YAML, type), 415, "unsupported_media_type");
    }
    expect(
      await versionOf(await send("PUT", "/v1/policy", POLICY_YAML, "application/x-yaml; charset=utf-8")),
    ).toBe(version);
  });
});
