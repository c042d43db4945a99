import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeUnit, MAX_AMOUNT, parseAmount, parseDuration, type UnitInfo } from "../../src/policy/units";

function unit(declared: string | null, creditName = "credit"): UnitInfo {
  const result = describeUnit(declared, creditName);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

// Credits by the unit they count in; tables name them by that key.
const CREDITS = {
  MB: unit("MB", "mb"),
  token: unit(null, "token"),
  seat: unit("seat", "seats"),
  box: unit("box", "crate"),
  KiB: unit("KiB", "mem"),
  h: unit("h", "gpu"),
} as const;
type Credit = keyof typeof CREDITS;

describe("describeUnit", () => {
  it.each([
    ["B", "bytes", 1],
    ["kB", "bytes", 1e3],
    ["KB", "bytes", 1e3],
    ["MB", "bytes", 1e6],
    ["GB", "bytes", 1e9],
    ["TB", "bytes", 1e12],
    ["PB", "bytes", 1e15],
    ["KiB", "bytes", 1024],
    ["MiB", "bytes", 1024 ** 2],
    ["GiB", "bytes", 1024 ** 3],
    ["TiB", "bytes", 1024 ** 4],
    ["ms", "time", 1],
    ["s", "time", 1000],
    ["sec", "time", 1000],
    ["min", "time", 60_000],
    ["m", "time", 60_000],
    ["h", "time", 3_600_000],
    ["hr", "time", 3_600_000],
    ["d", "time", 86_400_000],
    ["day", "time", 86_400_000],
    ["days", "time", 86_400_000],
    ["w", "time", 604_800_000],
    ["week", "time", 604_800_000],
    ["token", "word", 1],
    ["seat", "word", 1],
    ["request", "word", 1],
    // Symbols are case-sensitive: these are words, not sizes.
    ["mb", "word", 1],
    ["Gb", "word", 1],
    ["gpu_hour", "word", 1],
  ])("%s is %s with factor %d", (declared, dimension, factor) => {
    expect(describeUnit(declared, "credit")).toEqual({
      ok: true,
      value: { unit: declared, dimension, factor },
    });
  });

  it.each([
    ["token", "token"],
    ["seat", "seat"],
    ["api_calls", "api_calls"],
  ])("no declared unit: the credit %s counts in %s", (creditName, word) => {
    expect(describeUnit(null, creditName)).toEqual({
      ok: true,
      value: { unit: word, dimension: "word", factor: 1 },
    });
  });

  it.each(["", "   ", "12", "1MB", "tok en", "€", "toke!", "_x", "x-", "ünit"])("rejects %j", (declared) => {
    const result = describeUnit(declared, "credit");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain("unit");
  });

  it("rejects an empty credit name with no unit", () => {
    expect(describeUnit(null, "").ok).toBe(false);
  });
});

describe("parseAmount: accepted", () => {
  it.each<[number | string, Credit, number]>([
    // numbers are already in the credit's unit
    [0, "token", 0],
    [-0, "token", 0],
    [1.5, "MB", 1.5],
    [MAX_AMOUNT, "token", MAX_AMOUNT],
    // bare strings
    ["42", "token", 42],
    ["  42\t", "token", 42],
    ["0", "token", 0],
    ["1.5", "MB", 1.5],
    [".5", "MB", 0.5],
    ["1e3", "token", 1000],
    ["1E3", "token", 1000],
    ["2.5e-1", "token", 0.25],
    ["1e+2", "token", 100],
    ["1e15", "token", 1e15],
    ["1e-400", "token", 0],
    // bytes convert within their dimension, exactly where the decimal allows it
    ["1GB", "MB", 1000],
    ["1 GB", "MB", 1000],
    ["1GiB", "MB", 1073.741824],
    ["1.5 GiB", "MB", 1610.612736],
    ["1.005GB", "MB", 1005],
    ["20MB", "MB", 20],
    ["500kB", "MB", 0.5],
    ["500KB", "MB", 0.5],
    ["1B", "MB", 0.000001],
    ["1PB", "MB", 1e9],
    ["1TiB", "MB", 1_099_511.627776],
    ["1MiB", "KiB", 1024],
    ["1MB", "KiB", 976.5625],
    ["1KB", "KiB", 0.9765625],
    // compound sums of one dimension
    ["1GB500MB", "MB", 1500],
    ["1 GB 500 MB", "MB", 1500],
    ["1GiB1MiB", "KiB", 1_049_600],
    // time credits
    ["90min", "h", 1.5],
    ["1h30m", "h", 1.5],
    ["1d", "h", 24],
    ["1w", "h", 168],
    ["36s", "h", 0.01],
    // word units: case-insensitive, plural s/es, space optional
    ["300 tokens", "token", 300],
    ["300tokens", "token", 300],
    ["1 token", "token", 1],
    ["2 TOKENS", "token", 2],
    ["2 Token", "token", 2],
    ["2 Seats", "seat", 2],
    ["5 boxes", "box", 5],
    ["5 box", "box", 5],
    ["5 boxs", "box", 5],
    ["1000000PB", "MB", MAX_AMOUNT],
  ])("%j in a %s credit is %d", (input, credit, expected) => {
    expect(parseAmount(input, CREDITS[credit])).toEqual({ ok: true, value: expected });
  });
});

describe("parseAmount: rejected", () => {
  it.each<[number | string, Credit, string]>([
    // other dimensions are errors naming both units, never a guess
    ["5GB", "token", 'unit "GB" is a size and cannot measure token'],
    ["10s", "MB", 'unit "s" is a duration and cannot measure MB'],
    ["1h30m", "token", 'unit "h" is a duration and cannot measure token'],
    ["5GB", "h", 'unit "GB" is a size and cannot measure h'],
    ["3 seats", "token", 'unit "seats" does not match the credit\'s unit "token"'],
    ["5 tokens", "MB", 'unit "tokens" is not a known size unit and cannot measure MB'],
    ["5 boxen", "box", 'unit "boxen" does not match'],
    ["5 tokenss", "token", 'unit "tokenss" does not match'],
    ["5gb", "MB", "case-sensitive"],
    ["1GB5s", "MB", 'mixes a size ("GB") and a duration ("s")'],
    ["1GB500", "MB", 'unexpected "GB500"'],
    ["1 token 2 tokens", "token", '"token" is not a size or time unit'],
    // number syntax
    ["", "token", "is empty"],
    ["   ", "token", "is empty"],
    ["-1", "token", "must not be negative"],
    ["-0", "token", "must not be negative"],
    ["- 5 MB", "MB", "must not be negative"],
    ["+5", "token", "not an ASCII decimal number"],
    ["0x10", "token", "no hex"],
    ["0b101", "token", "no hex, octal or binary"],
    ["Infinity", "token", "not an ASCII decimal number"],
    ["NaN", "token", "not an ASCII decimal number"],
    ["١٢", "token", "not an ASCII decimal number"],
    ["１２", "token", "not an ASCII decimal number"],
    ["1,000", "token", 'unexpected ",000"'],
    ["1 000", "token", 'unexpected "000"'],
    ["1.2.3", "token", 'unexpected ".3"'],
    ["5.", "token", 'unexpected "."'],
    ["12abc", "token", 'unit "abc" does not match'],
    ["12abc", "MB", 'unit "abc" is not a known size unit'],
    ["5MB!", "MB", 'unexpected "MB!"'],
    ["1e", "token", 'unit "e" does not match'],
    // range
    ["1e16", "token", "over the maximum"],
    ["1e400", "token", "over the maximum"],
    ["1000000000000001MB", "MB", "over the maximum"],
    ["1000001PB", "MB", "over the maximum"],
    [-1, "token", "must not be negative"],
    [Number.NaN, "token", "not a number"],
    [Number.POSITIVE_INFINITY, "token", "over the maximum"],
    [MAX_AMOUNT * 1.0000001, "token", "over the maximum"],
  ])("%j in a %s credit: %s", (input, credit, message) => {
    const result = parseAmount(input, CREDITS[credit]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(message);
  });
});

describe("parseAmount: exact SI conversion", () => {
  const SI = ["B", "kB", "MB", "GB", "TB", "PB"];
  const decimal = fc
    .tuple(fc.integer({ min: 0, max: 999_999 }), fc.stringMatching(/^\d{0,6}$/))
    .map(([whole, fraction]) => (fraction === "" ? `${whole}` : `${whole}.${fraction}`));

  it("equals the decimal shifted by the power of ten between the units, rounded once", () => {
    fc.assert(
      fc.property(decimal, fc.constantFrom(...SI), fc.constantFrom(...SI), (number, from, to) => {
        const shift = 3 * (SI.indexOf(from) - SI.indexOf(to));
        // JS parses `1.005e3` as the double nearest 1005: the one correctly rounded answer.
        const expected = Number(`${number}e${shift}`);
        const result = parseAmount(`${number} ${from}`, unit(to));
        expect(result).toEqual(
          expected <= MAX_AMOUNT ? { ok: true, value: expected } : expect.objectContaining({ ok: false }),
        );
      }),
      { numRuns: 2000 },
    );
  });
});

describe("parseDuration", () => {
  it.each<[number | string, number]>([
    [60, 60_000],
    [0.5, 500],
    ["60", 60_000],
    [" 60 ", 60_000],
    ["1.5", 1_500],
    ["1e3", 1_000_000],
    ["250ms", 250],
    ["30s", 30_000],
    ["30 sec", 30_000],
    ["1m", 60_000],
    ["1min", 60_000],
    ["1h", 3_600_000],
    ["24hr", 86_400_000],
    ["1h30m", 5_400_000],
    ["1h 30m 15s", 5_415_000],
    ["1d", 86_400_000],
    ["2 days", 172_800_000],
    ["30d", 2_592_000_000],
    ["1w", 604_800_000],
    ["1 week", 604_800_000],
  ])("%j is %d ms", (input, ms) => {
    expect(parseDuration(input)).toEqual({ ok: true, value: ms });
  });

  it.each<[number | string, string]>([
    [0, "greater than zero"],
    ["0", "greater than zero"],
    ["0s", "greater than zero"],
    [-5, "greater than zero"],
    ["-5", "must not be negative"],
    [Number.NaN, "not a number"],
    [Number.POSITIVE_INFINITY, "too long"],
    ["1e400", "too long"],
    ["1e13", "too long"],
    ["", "is empty"],
    ["5GB", 'unit "GB" is a size and cannot measure a duration'],
    ["5 parsecs", 'unit "parsecs" is not a known time unit'],
    ["5H", "case-sensitive"],
    ["1h30", 'unexpected "h30"'],
    ["0x10", "no hex"],
    ["Infinity", "not an ASCII decimal number"],
  ])("%j is rejected: %s", (input, message) => {
    const result = parseDuration(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(message);
  });
});
