/**
 * The options `npm run dev` reads itself (`--port`, `--persist-to`, `--var NAME:VALUE`); everything else is
 * handed to `wrangler dev` untouched.
 */

export interface DevArgs {
  port: number | undefined;
  persistTo: string | undefined;
  /** `--var` values in order of appearance; a later one for the same name wins, as in wrangler. */
  vars: Map<string, string>;
  /** Only meaningful for working out where the server listens. */
  ip: string | undefined;
  /** Arguments for wrangler that this script does not interpret. */
  passthrough: string[];
  help: boolean;
}

export class UsageError extends Error {}

/** Split `NAME:VALUE` at the first colon (wrangler's own rule); the value may contain colons. */
export function splitVar(pair: string): [string, string] {
  const colon = pair.indexOf(":");
  if (colon <= 0) throw new UsageError(`--var expects NAME:VALUE, got "${pair}"`);
  return [pair.slice(0, colon), pair.slice(colon + 1)];
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`invalid --port "${value}"`);
  return port;
}

/** Parse `npm run dev -- …` arguments. Accepts `--flag value` and `--flag=value`. */
export function parseDevArgs(argv: string[]): DevArgs {
  const parsed: DevArgs = {
    port: undefined,
    persistTo: undefined,
    vars: new Map(),
    ip: undefined,
    passthrough: [],
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      i++;
      return next;
    };
    switch (flag) {
      case "--port":
        parsed.port = parsePort(value());
        break;
      case "--persist-to":
        parsed.persistTo = value();
        break;
      case "--var": {
        const [name, varValue] = splitVar(value());
        parsed.vars.set(name, varValue);
        // wrangler's --var is an array option: `--var A:1 B:2` sets both. Follow it for NAME:VALUE words.
        while (inline === undefined && /^[A-Za-z_][A-Za-z0-9_]*:/.test(argv[i + 1] ?? "")) {
          const [more, moreValue] = splitVar(argv[++i] as string);
          parsed.vars.set(more, moreValue);
        }
        break;
      }
      case "-h":
      case "--help":
        parsed.help = true;
        break;
      case "--ip":
        parsed.ip = value();
        parsed.passthrough.push("--ip", parsed.ip);
        break;
      default:
        parsed.passthrough.push(arg);
    }
  }
  return parsed;
}
