/** Units and amounts (SPEC §2 "Units and amounts", §5.3 input rules, §11 policy rules). */
import type { Dimension } from "../domain/types";

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** Largest amount accepted, in the credit's unit (SPEC §5.3). */
export const MAX_AMOUNT = 1e15;

/** What a credit's `unit` declaration compiles to. */
export interface UnitInfo {
  unit: string;
  dimension: Dimension;
  factor: number;
}

type Measured = Exclude<Dimension, "word">;

// Base units: bytes and milliseconds. Case-sensitive on purpose (SPEC §11): `mb` is not `MB`, and `m` is
// minutes, never metres or megabytes.
const BYTES: Record<string, number> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  PB: 1e15,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};
const TIME: Record<string, number> = {
  ms: 1,
  s: 1e3,
  sec: 1e3,
  min: 6e4,
  m: 6e4,
  h: 36e5,
  hr: 36e5,
  d: 864e5,
  day: 864e5,
  days: 864e5,
  w: 6048e5,
  week: 6048e5,
};
// A Map, so `toString` or `__proto__` as a unit is just unknown.
const SYMBOLS = new Map<string, { dimension: Measured; factor: number }>([
  ...Object.entries(BYTES).map(([unit, factor]) => [unit, { dimension: "bytes", factor }] as const),
  ...Object.entries(TIME).map(([unit, factor]) => [unit, { dimension: "time", factor }] as const),
]);

const WORD = /^[A-Za-z](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9])?$/;
// `\d` without the `u` flag is ASCII 0-9 only, which is what keeps locale digits out (SPEC §5.3).
const NUMBER = String.raw`(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?`;
const SINGLE = new RegExp(String.raw`^(${NUMBER})[ \t]*(.*)$`, "s");
const PART = new RegExp(String.raw`(${NUMBER})[ \t]*([A-Za-z]+)[ \t]*`, "y");
const OUTER_SPACE = /^[ \t\r\n]+|[ \t\r\n]+$/g;
// Durations parse as an amount of a pseudo-credit counted in ms; `unit` is only used in messages.
const DURATION: UnitInfo = { unit: "a duration", dimension: "time", factor: 1 };

const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

/** Resolve a credit's declared unit (or none: the credit's own name as a word unit). */
export function describeUnit(declared: string | null, creditName: string): ParseResult<UnitInfo> {
  if (declared === null) {
    // SPEC §11: a credit without `unit` counts in units named after itself (`token` → `300 tokens`).
    if (creditName.length === 0) return fail("a credit needs a name to count in");
    return { ok: true, value: { unit: creditName, dimension: "word", factor: 1 } };
  }
  const unit = declared.replace(OUTER_SPACE, "");
  const symbol = SYMBOLS.get(unit);
  if (symbol) return { ok: true, value: { unit, ...symbol } };
  if (WORD.test(unit)) return { ok: true, value: { unit, dimension: "word", factor: 1 } };
  return fail(
    `unit "${declared}" is not a byte size (B, kB, MB, GB, TB, PB, KiB, MiB, GiB, TiB), ` +
      "a time (ms, s, min, h, d, w) or a word of letters",
  );
}

/** Parse an amount (number already in the unit, or a string with an optional unit) into the credit's unit. */
export function parseAmount(input: number | string, unit: UnitInfo): ParseResult<number> {
  const what = `amount ${typeof input === "number" ? String(input) : JSON.stringify(input)}`;
  if (typeof input === "number") return checkAmount(input, what, unit);
  const parsed = parseQuantity(input, unit, what);
  return parsed.ok ? checkAmount(parsed.value, what, unit) : parsed;
}

/** Parse a duration to milliseconds; a bare number is seconds. */
export function parseDuration(input: number | string): ParseResult<number> {
  let ms: number;
  if (typeof input === "number") {
    ms = input * 1000;
  } else {
    const text = input.replace(OUTER_SPACE, "");
    const bare = SINGLE.exec(text);
    // SPEC §11: a bare number where a duration is expected is seconds.
    const parsed = parseQuantity(
      bare && bare[2] === "" ? `${text}s` : text,
      DURATION,
      `duration ${JSON.stringify(input)}`,
    );
    if (!parsed.ok) return parsed;
    ms = parsed.value;
  }
  if (Number.isNaN(ms)) return fail(`duration ${JSON.stringify(input)} is not a number`);
  if (ms <= 0) return fail(`duration ${JSON.stringify(input)} must be greater than zero`);
  // The cap keeps `now + period` inside the range of a JS Date; 10^15 ms is about 31,700 years.
  if (!Number.isFinite(ms) || ms > MAX_AMOUNT) {
    return fail(`duration ${JSON.stringify(input)} is too long (at most ${MAX_AMOUNT} ms)`);
  }
  return { ok: true, value: ms };
}

function checkAmount(value: number, what: string, unit: UnitInfo): ParseResult<number> {
  if (Number.isNaN(value)) return fail(`${what} is not a number`);
  if (value < 0) return fail(`${what} must not be negative`);
  if (!Number.isFinite(value) || value > MAX_AMOUNT) {
    return fail(`${what} is over the maximum of 10^15 ${unit.unit}`);
  }
  return { ok: true, value: value === 0 ? 0 : value }; // folds -0 into 0
}

/**
 * A string of one number with an optional unit, or a compound of number+symbol parts, in `unit`.
 * `what` names the input in messages (`amount "5GB"`).
 */
function parseQuantity(input: string, unit: UnitInfo, what: string): ParseResult<number> {
  const text = input.replace(OUTER_SPACE, "");
  if (text === "") return fail(`${what} is empty`);
  if (text.startsWith("-")) return fail(`${what} must not be negative`);
  if (/^0[xXoObB]/.test(text)) return fail(`${what} must be a decimal number (no hex, octal or binary)`);
  const single = SINGLE.exec(text);
  if (!single) return fail(`${what} is not an ASCII decimal number`);
  const [, number = "", rest = ""] = single;
  if (rest === "") return { ok: true, value: convert([{ number, factor: unit.factor }], unit.factor) };
  const factor = resolveUnit(rest, unit);
  if (factor.ok) return { ok: true, value: convert([{ number, factor: factor.value }], unit.factor) };
  const parts = splitCompound(text);
  if (parts === null) {
    // A word after the number is a unit that does not fit; anything else is garbage, said as such.
    const unitLike = unit.dimension === "word" ? WORD.test(rest) : /^[A-Za-z]+$/.test(rest);
    return unitLike ? factor : fail(`${what} has unexpected "${rest}" after the number`);
  }
  // SPEC §11: compound forms (`1h30m`, `1GB500MB`) sum parts that all share one measured dimension.
  const resolved: { number: string; factor: number }[] = [];
  let first: { symbol: string; dimension: Dimension } | null = null;
  for (const { number: partNumber, symbol } of parts) {
    const known = SYMBOLS.get(symbol);
    if (!known) return fail(`${what}: "${symbol}" is not a size or time unit, so it cannot be part of a sum`);
    if (first === null) first = { symbol, dimension: known.dimension };
    else if (known.dimension !== first.dimension) {
      return fail(
        `${what} mixes ${describeDimension(first.dimension)} ("${first.symbol}") and ` +
          `${describeDimension(known.dimension)} ("${symbol}")`,
      );
    }
    const partFactor = resolveUnit(symbol, unit);
    if (!partFactor.ok) return partFactor;
    resolved.push({ number: partNumber, factor: partFactor.value });
  }
  return { ok: true, value: convert(resolved, unit.factor) };
}

/** The base-unit factor of `text` when it may measure `unit`, else a message naming both units. */
function resolveUnit(text: string, unit: UnitInfo): ParseResult<number> {
  const symbol = SYMBOLS.get(text);
  if (unit.dimension === "word" ? wordMatches(text, unit.unit) : symbol?.dimension === unit.dimension) {
    return { ok: true, value: symbol && unit.dimension !== "word" ? symbol.factor : 1 };
  }
  if (symbol) {
    return fail(`unit "${text}" is ${describeDimension(symbol.dimension)} and cannot measure ${unit.unit}`);
  }
  if (unit.dimension === "word")
    return fail(`unit "${text}" does not match the credit's unit "${unit.unit}"`);
  const lower = text.toLowerCase();
  const nearMiss = [...SYMBOLS.keys()].some((known) => known.toLowerCase() === lower);
  const hint = nearMiss ? " (unit symbols are case-sensitive)" : "";
  const kind = unit.dimension === "bytes" ? "size" : "time";
  return fail(`unit "${text}" is not a known ${kind} unit and cannot measure ${unit.unit}${hint}`);
}

/** Word units compare case-insensitively and accept a plural `s`/`es` (SPEC §11). */
function wordMatches(text: string, word: string): boolean {
  const a = text.toLowerCase();
  const b = word.toLowerCase();
  return a === b || a === `${b}s` || a === `${b}es`;
}

function describeDimension(dimension: Dimension): string {
  return dimension === "bytes" ? "a size" : dimension === "time" ? "a duration" : "a count";
}

/** Two or more `number symbol` parts covering all of `text`, or null. */
function splitCompound(text: string): { number: string; symbol: string }[] | null {
  const parts: { number: string; symbol: string }[] = [];
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (!match) return null;
    parts.push({ number: match[1] ?? "", symbol: match[2] ?? "" });
  }
  return parts.length >= 2 ? parts : null;
}

/**
 * Σ number·factor / target, rounded once. Decimals are read as integer digits and a power of ten, and
 * powers of ten in the factors become exponent shifts, so `1.005GB` in MB is 1005 exactly and `0.2091kB`
 * in PB is the double nearest 2.091e-13; a float multiply (1.005 * 1000) would give 1004.9999999999999.
 * Falls back to float arithmetic only when the integers would leave the safe range.
 */
function convert(parts: { number: string; factor: number }[], target: number): number {
  // Cancel the common factor first (GiB→MB is 2^24/15625, not 2^30/10^6) to keep more inputs exact.
  const common = parts.reduce((g, part) => gcd(g, part.factor), target);
  const [divisorTens, divisor] = splitTens(target / common);
  const terms = parts.map((part) => {
    const [factorTens, factor] = splitTens(part.factor / common);
    const { digits, exp10 } = splitDecimal(part.number);
    return { digits, exp10: exp10 + factorTens, factor };
  });
  const scale = Math.min(...terms.map((term) => term.exp10));
  let numerator = 0;
  for (const term of terms) numerator += Number(term.digits) * term.factor * 10 ** (term.exp10 - scale);
  const shift = scale - divisorTens;
  // Terms are non-negative integers, so a sum in the safe range means every step was exact.
  if (Number.isSafeInteger(numerator) && Number.isFinite(shift)) {
    // The engine's decimal parser rounds `N e shift` correctly; N/D is one correctly rounded division.
    if (divisor === 1) return Number(`${numerator}e${shift}`);
    const scaled = shift >= 0 ? numerator * 10 ** shift : numerator;
    const denominator = shift >= 0 ? divisor : divisor * 10 ** -shift;
    if (Number.isSafeInteger(scaled) && Number.isSafeInteger(denominator)) return scaled / denominator;
  }
  const [only] = terms;
  if (terms.length === 1 && only && only.factor === 1 && divisor === 1 && Number.isFinite(shift)) {
    return Number(`${only.digits}e${shift}`); // long digit strings: still a single decimal parse
  }
  return parts.reduce((sum, part) => sum + Number(part.number) * part.factor, 0) / target;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** `n` as [k, m] with n = m·10^k and m not divisible by 10. */
function splitTens(n: number): [number, number] {
  let tens = 0;
  while (n >= 10 && n % 10 === 0) {
    n /= 10;
    tens++;
  }
  return [tens, n];
}

/** `1.5e3` as digits "15" and exp10 2. */
function splitDecimal(number: string): { digits: string; exp10: number } {
  const [coefficient = "", exponent = "0"] = number.split(/[eE]/);
  const [whole = "", fraction = ""] = coefficient.split(".");
  return { digits: whole + fraction, exp10: Number(exponent) - fraction.length };
}
