/**
 * What the edges do with an exception nobody expected (a bug or broken infrastructure): one JSON log line
 * with the name, message and stack, configured secrets redacted, never the request body (SPEC §8, §11).
 */

const SECRET_NAMES = ["ADMIN_TOKEN", "OPENAI_API_KEY", "WEBHOOK_SECRET"] as const;
const MAX_LOGGED_CHARS = 2000;

/** Remove configured secret values from text bound for a log line (defence in depth: SPEC §8). */
function redactSecrets(text: string, env: Partial<Env> | undefined): string {
  let out = text;
  for (const name of SECRET_NAMES) {
    const secret = env?.[name];
    if (typeof secret === "string" && secret.length > 0) out = out.split(secret).join("[redacted]");
  }
  return out.length > MAX_LOGGED_CHARS ? `${out.slice(0, MAX_LOGGED_CHARS)}…` : out;
}

/** Log one unhandled exception as a JSON line on stderr. */
export function logUnhandled(
  error: unknown,
  request: { requestId: string | undefined; method: string },
  env: Partial<Env> | undefined,
): void {
  const err = error instanceof Error ? error : new Error(String(error));
  console.error(
    JSON.stringify({
      level: "error",
      msg: "unhandled exception",
      requestId: request.requestId,
      method: request.method,
      error: err.name,
      message: redactSecrets(err.message, env),
      stack: redactSecrets(err.stack ?? "", env),
    }),
  );
}
