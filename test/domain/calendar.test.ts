import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { calendarPeriod, isValidTimeZone } from "../../src/domain/calendar";
import type { Schedule } from "../../src/domain/types";

const HOUR_MS = 3_600_000;
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

const DAILY: Schedule = { kind: "daily" };
const MONDAY: Schedule = { kind: "weekly", weekday: 1 };
const SUNDAY: Schedule = { kind: "weekly", weekday: 0 };
const SATURDAY: Schedule = { kind: "weekly", weekday: 6 };
const MONTHLY_31: Schedule = { kind: "monthly", day: 31 };
const MONTHLY_LAST: Schedule = { kind: "monthly", day: "last" };
const LEAP_DAY: Schedule = { kind: "yearly", month: 2, day: 29 };
const monthly = (day: number): Schedule => ({ kind: "monthly", day });
const quarterly = (day: number | "last"): Schedule => ({ kind: "quarterly", day });

/** Local wall clock at `ms` in `tz` as `YYYY-MM-DD HH:MM:SS`, straight from Intl (the test's oracle). */
function wall(tz: string, ms: number): string {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: tz,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(ms);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")}`;
}

describe("calendarPeriod in UTC", () => {
  // biome-ignore format: one row per case reads as a table
  it.each<[string, Schedule, string, string, string]>([
    ["daily", DAILY, "2025-06-15T12:34:56.789Z", "2025-06-15T00:00:00.000Z", "2025-06-16T00:00:00.000Z"],
    ["daily at its start", DAILY, "2025-06-15T00:00:00.000Z", "2025-06-15T00:00:00.000Z", "2025-06-16T00:00:00.000Z"],
    ["daily 1 ms before the end", DAILY, "2025-06-15T23:59:59.999Z", "2025-06-15T00:00:00.000Z", "2025-06-16T00:00:00.000Z"],
    // 2025-06-15 is a Sunday
    ["weekly:mon on a Sunday", MONDAY, "2025-06-15T12:00:00.000Z", "2025-06-09T00:00:00.000Z", "2025-06-16T00:00:00.000Z"],
    ["weekly:mon on the Monday", MONDAY, "2025-06-16T00:00:00.000Z", "2025-06-16T00:00:00.000Z", "2025-06-23T00:00:00.000Z"],
    ["weekly:sun on a Sunday", SUNDAY, "2025-06-15T12:00:00.000Z", "2025-06-15T00:00:00.000Z", "2025-06-22T00:00:00.000Z"],
    ["weekly:sat on a Sunday", SATURDAY, "2025-06-15T12:00:00.000Z", "2025-06-14T00:00:00.000Z", "2025-06-21T00:00:00.000Z"],
    ["weekly:sat across a year end", SATURDAY, "2025-01-01T00:00:00.000Z", "2024-12-28T00:00:00.000Z", "2025-01-04T00:00:00.000Z"],
    ["monthly:1", monthly(1), "2025-02-10T00:00:00.000Z", "2025-02-01T00:00:00.000Z", "2025-03-01T00:00:00.000Z"],
    ["monthly:15 before the 15th", monthly(15), "2025-01-14T23:59:59.999Z", "2024-12-15T00:00:00.000Z", "2025-01-15T00:00:00.000Z"],
    ["monthly:15 on the 15th", monthly(15), "2025-01-15T00:00:00.000Z", "2025-01-15T00:00:00.000Z", "2025-02-15T00:00:00.000Z"],
    // monthly:31 in a leap year: Jan 31 → Feb 29 → Mar 31 → Apr 30 → May 31
    ["monthly:31 leap Jan", MONTHLY_31, "2024-01-15T00:00:00.000Z", "2023-12-31T00:00:00.000Z", "2024-01-31T00:00:00.000Z"],
    ["monthly:31 leap Feb", MONTHLY_31, "2024-02-10T00:00:00.000Z", "2024-01-31T00:00:00.000Z", "2024-02-29T00:00:00.000Z"],
    ["monthly:31 leap Feb 29", MONTHLY_31, "2024-02-29T00:00:00.000Z", "2024-02-29T00:00:00.000Z", "2024-03-31T00:00:00.000Z"],
    ["monthly:31 leap Mar", MONTHLY_31, "2024-03-30T00:00:00.000Z", "2024-02-29T00:00:00.000Z", "2024-03-31T00:00:00.000Z"],
    ["monthly:31 leap Apr", MONTHLY_31, "2024-04-15T00:00:00.000Z", "2024-03-31T00:00:00.000Z", "2024-04-30T00:00:00.000Z"],
    ["monthly:31 leap May", MONTHLY_31, "2024-05-15T00:00:00.000Z", "2024-04-30T00:00:00.000Z", "2024-05-31T00:00:00.000Z"],
    // ... and in a common year: Jan 31 → Feb 28 → Mar 31 → Apr 30 → May 31
    ["monthly:31 common Jan", MONTHLY_31, "2025-01-31T00:00:00.000Z", "2025-01-31T00:00:00.000Z", "2025-02-28T00:00:00.000Z"],
    ["monthly:31 common Feb 27", MONTHLY_31, "2025-02-27T23:59:59.999Z", "2025-01-31T00:00:00.000Z", "2025-02-28T00:00:00.000Z"],
    ["monthly:31 common Feb 28", MONTHLY_31, "2025-02-28T00:00:00.000Z", "2025-02-28T00:00:00.000Z", "2025-03-31T00:00:00.000Z"],
    ["monthly:31 common Apr", MONTHLY_31, "2025-04-30T00:00:00.000Z", "2025-04-30T00:00:00.000Z", "2025-05-31T00:00:00.000Z"],
    ["monthly:30 common Feb", monthly(30), "2025-03-01T00:00:00.000Z", "2025-02-28T00:00:00.000Z", "2025-03-30T00:00:00.000Z"],
    ["monthly:29 leap Feb", monthly(29), "2024-03-01T00:00:00.000Z", "2024-02-29T00:00:00.000Z", "2024-03-29T00:00:00.000Z"],
    ["monthly:last Jan", MONTHLY_LAST, "2025-01-15T00:00:00.000Z", "2024-12-31T00:00:00.000Z", "2025-01-31T00:00:00.000Z"],
    ["monthly:last leap Feb", MONTHLY_LAST, "2024-02-28T00:00:00.000Z", "2024-01-31T00:00:00.000Z", "2024-02-29T00:00:00.000Z"],
    ["monthly:last common Feb", MONTHLY_LAST, "2025-02-28T00:00:00.000Z", "2025-02-28T00:00:00.000Z", "2025-03-31T00:00:00.000Z"],
    // Century rule: 2100 is a common year, 2000 was a leap year.
    ["monthly:last Feb 2100", MONTHLY_LAST, "2100-02-28T12:00:00.000Z", "2100-02-28T00:00:00.000Z", "2100-03-31T00:00:00.000Z"],
    ["monthly:last Feb 2000", MONTHLY_LAST, "2000-02-28T12:00:00.000Z", "2000-01-31T00:00:00.000Z", "2000-02-29T00:00:00.000Z"],
    ["monthly:last Apr", MONTHLY_LAST, "2025-04-29T00:00:00.000Z", "2025-03-31T00:00:00.000Z", "2025-04-30T00:00:00.000Z"],
    ["quarterly:1 Q1", quarterly(1), "2025-02-10T00:00:00.000Z", "2025-01-01T00:00:00.000Z", "2025-04-01T00:00:00.000Z"],
    ["quarterly:1 Q4", quarterly(1), "2025-12-31T23:59:59.999Z", "2025-10-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"],
    ["quarterly:1 on Jul 1", quarterly(1), "2025-07-01T00:00:00.000Z", "2025-07-01T00:00:00.000Z", "2025-10-01T00:00:00.000Z"],
    ["quarterly:15 before Jan 15", quarterly(15), "2025-01-10T00:00:00.000Z", "2024-10-15T00:00:00.000Z", "2025-01-15T00:00:00.000Z"],
    ["quarterly:31 Apr clamps", quarterly(31), "2025-04-29T00:00:00.000Z", "2025-01-31T00:00:00.000Z", "2025-04-30T00:00:00.000Z"],
    ["quarterly:31 after Apr 30", quarterly(31), "2025-05-01T00:00:00.000Z", "2025-04-30T00:00:00.000Z", "2025-07-31T00:00:00.000Z"],
    ["quarterly:last", quarterly("last"), "2025-11-15T00:00:00.000Z", "2025-10-31T00:00:00.000Z", "2026-01-31T00:00:00.000Z"],
    ["yearly:01-01", { kind: "yearly", month: 1, day: 1 }, "2025-06-15T00:00:00.000Z", "2025-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"],
    ["yearly:12-31 on the day", { kind: "yearly", month: 12, day: 31 }, "2025-12-31T00:00:00.000Z", "2025-12-31T00:00:00.000Z", "2026-12-31T00:00:00.000Z"],
    // yearly:02-29 is Feb 28 in common years
    ["yearly:02-29 in 2027", LEAP_DAY, "2027-06-15T00:00:00.000Z", "2027-02-28T00:00:00.000Z", "2028-02-29T00:00:00.000Z"],
    ["yearly:02-29 Feb 28 2028", LEAP_DAY, "2028-02-28T12:00:00.000Z", "2027-02-28T00:00:00.000Z", "2028-02-29T00:00:00.000Z"],
    ["yearly:02-29 in 2028", LEAP_DAY, "2028-02-29T00:00:00.000Z", "2028-02-29T00:00:00.000Z", "2029-02-28T00:00:00.000Z"],
  ])("%s", (_name, schedule, now, start, end) => {
    const result = calendarPeriod(schedule, "UTC", at(now));
    expect([iso(result.start), iso(result.end)]).toEqual([start, end]);
  });
});

describe("calendarPeriod in zones", () => {
  // biome-ignore format: one row per case reads as a table
  it.each<[string, Schedule, string, string, string, string, number]>([
    ["plain day", DAILY, "America/New_York", "2025-06-15T12:00:00Z", "2025-06-15T04:00:00.000Z", "2025-06-16T04:00:00.000Z", 24],
    ["spring forward", DAILY, "America/New_York", "2025-03-09T12:00:00Z", "2025-03-09T05:00:00.000Z", "2025-03-10T04:00:00.000Z", 23],
    ["fall back", DAILY, "America/New_York", "2025-11-02T12:00:00Z", "2025-11-02T04:00:00.000Z", "2025-11-03T05:00:00.000Z", 25],
    ["local evening is still the day", DAILY, "America/New_York", "2025-06-16T03:59:59Z", "2025-06-15T04:00:00.000Z", "2025-06-16T04:00:00.000Z", 24],
    ["weekly:sun over spring forward", SUNDAY, "America/New_York", "2025-03-12T00:00:00Z", "2025-03-09T05:00:00.000Z", "2025-03-16T04:00:00.000Z", 167],
    ["monthly:1 over spring forward", monthly(1), "America/New_York", "2025-03-20T00:00:00Z", "2025-03-01T05:00:00.000Z", "2025-04-01T04:00:00.000Z", 743],
    ["half-hour zone", DAILY, "Asia/Kolkata", "2025-01-01T00:00:00Z", "2024-12-31T18:30:00.000Z", "2025-01-01T18:30:00.000Z", 24],
    ["half-hour zone at its midnight", DAILY, "Asia/Kolkata", "2025-01-01T18:30:00Z", "2025-01-01T18:30:00.000Z", "2025-01-02T18:30:00.000Z", 24],
    ["monthly:31 half-hour zone, leap Feb 29", MONTHLY_31, "Asia/Kolkata", "2024-02-29T00:00:00Z", "2024-02-28T18:30:00.000Z", "2024-03-30T18:30:00.000Z", 744],
    ["east of UTC: UTC evening is the next local day", DAILY, "Asia/Tokyo", "2025-06-15T16:00:00Z", "2025-06-15T15:00:00.000Z", "2025-06-16T15:00:00.000Z", 24],
    // Chile springs forward at local midnight: the day starts at 01:00 -03, the transition instant.
    ["Santiago: midnight in a DST gap", DAILY, "America/Santiago", "2024-09-08T12:00:00Z", "2024-09-08T04:00:00.000Z", "2024-09-09T03:00:00.000Z", 23],
    ["Santiago: weekly:sun starts in the gap", SUNDAY, "America/Santiago", "2024-09-10T12:00:00Z", "2024-09-08T04:00:00.000Z", "2024-09-15T03:00:00.000Z", 167],
    // Cuba springs forward at 00:00 (gap) and falls back at 01:00 (midnight happens twice: the first counts).
    ["Havana: midnight in a DST gap", DAILY, "America/Havana", "2025-03-09T12:00:00Z", "2025-03-09T05:00:00.000Z", "2025-03-10T04:00:00.000Z", 23],
    ["Havana: the day before the gap", DAILY, "America/Havana", "2025-03-09T04:59:59Z", "2025-03-08T05:00:00.000Z", "2025-03-09T05:00:00.000Z", 24],
    ["Havana: a repeated midnight", DAILY, "America/Havana", "2025-11-02T04:30:00Z", "2025-11-02T04:00:00.000Z", "2025-11-03T05:00:00.000Z", 25],
    ["Havana: inside the repeated hour", DAILY, "America/Havana", "2025-11-02T05:30:00Z", "2025-11-02T04:00:00.000Z", "2025-11-03T05:00:00.000Z", 25],
    // Brazil (2018) fell back at midnight to 23:00 of the day before: that day has 25 hours.
    ["Sao Paulo: repeated 23:00 hour", DAILY, "America/Sao_Paulo", "2018-02-18T02:30:00Z", "2018-02-17T02:00:00.000Z", "2018-02-18T03:00:00.000Z", 25],
    // Samoa skipped 2011-12-30 entirely: the 29th ends where the 31st begins.
    ["Apia: the day before a skipped day", DAILY, "Pacific/Apia", "2011-12-30T09:59:59Z", "2011-12-29T10:00:00.000Z", "2011-12-30T10:00:00.000Z", 24],
    ["Apia: the day after a skipped day", DAILY, "Pacific/Apia", "2011-12-30T10:00:00Z", "2011-12-30T10:00:00.000Z", "2011-12-31T10:00:00.000Z", 24],
    ["Apia: monthly:30 on a skipped 30th", monthly(30), "Pacific/Apia", "2011-12-31T00:00:00Z", "2011-12-30T10:00:00.000Z", "2012-01-29T10:00:00.000Z", 720],
    // Alaska (1867) went from +14:58 to -9:01: the local date stepped back a day, so "Oct 18" showed again
    // inside the period of Oct 19, which therefore ran 48 hours.
    ["Sitka 1867: a date shown twice", DAILY, "America/Sitka", "1867-10-19T05:00:00Z", "1867-10-18T09:01:13.000Z", "1867-10-20T09:01:13.000Z", 48],
  ])("%s", (_name, schedule, tz, now, start, end, hours) => {
    const result = calendarPeriod(schedule, tz, at(now));
    expect([iso(result.start), iso(result.end)]).toEqual([start, end]);
    expect((result.end - result.start) / HOUR_MS).toBe(hours);
  });

  // biome-ignore format: one row per case reads as a table
  it.each<[string, string, string, string]>([
    // The local clock jumps from 23:59:59 to 01:00:00 at the boundary we return.
    ["America/Santiago", "2024-09-08T12:00:00Z", "2024-09-07 23:59:59", "2024-09-08 01:00:00"],
    ["America/Havana", "2025-03-09T12:00:00Z", "2025-03-08 23:59:59", "2025-03-09 01:00:00"],
    // A normal midnight, for contrast.
    ["America/New_York", "2025-03-09T12:00:00Z", "2025-03-08 23:59:59", "2025-03-09 00:00:00"],
  ])("in %s the start is the first instant of the local day", (tz, now, before, atStart) => {
    const { start } = calendarPeriod(DAILY, tz, at(now));
    expect(wall(tz, start - 1000)).toBe(before);
    expect(wall(tz, start)).toBe(atStart);
  });
});

describe("calendarPeriod tiles time", () => {
  const ZONES = [
    "UTC",
    "America/New_York",
    "Asia/Kolkata",
    "America/Santiago",
    "America/Havana",
    "Australia/Lord_Howe",
  ];
  // UTC and India have no DST; Lord Howe moves by half an hour; the others by an hour.
  const DAY_LENGTHS: Record<string, number[]> = {
    UTC: [24],
    "Asia/Kolkata": [24],
    "Australia/Lord_Howe": [23.5, 24, 24.5],
  };

  it.each(ZONES)("a year of daily periods in %s", (tz) => {
    const yearStart = calendarPeriod(DAILY, tz, at("2024-01-01T12:00:00Z")).start;
    const yearEnd = calendarPeriod(DAILY, tz, at("2025-01-01T12:00:00Z")).start;
    let start = yearStart;
    let count = 0;
    const lengths = new Set<number>();
    while (start < yearEnd) {
      const p = calendarPeriod(DAILY, tz, start);
      expect(p.start).toBe(start);
      expect(calendarPeriod(DAILY, tz, p.end - 1)).toEqual(p);
      lengths.add((p.end - p.start) / HOUR_MS);
      start = p.end;
      count++;
    }
    expect(start).toBe(yearEnd);
    expect(count).toBe(366);
    expect([...lengths].sort((a, b) => a - b)).toEqual(DAY_LENGTHS[tz] ?? [23, 24, 25]);
  });

  it.each(ZONES)("monthly:31 periods tile over two years in %s", (tz) => {
    let p = calendarPeriod(MONTHLY_31, tz, at("2024-01-15T00:00:00Z"));
    const starts: string[] = [];
    for (let i = 0; i < 24; i++) {
      starts.push(wall(tz, p.start).slice(0, 10));
      const next = calendarPeriod(MONTHLY_31, tz, p.end);
      expect(next.start).toBe(p.end);
      p = next;
    }
    expect(starts.slice(0, 5)).toEqual([
      "2023-12-31",
      "2024-01-31",
      "2024-02-29",
      "2024-03-31",
      "2024-04-30",
    ]);
    expect(starts.slice(12, 17)).toEqual([
      "2024-12-31",
      "2025-01-31",
      "2025-02-28",
      "2025-03-31",
      "2025-04-30",
    ]);
  });
});

/** Reference rule, written independently: is the local date y-m-d (m 1…12) a boundary of `schedule`? */
function isBoundaryDate(schedule: Schedule, y: number, m: number, d: number): boolean {
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const clamp = (day: number | "last") => (day === "last" ? last : Math.min(day, last));
  switch (schedule.kind) {
    case "daily":
      return true;
    case "weekly":
      return new Date(Date.UTC(y, m - 1, d)).getUTCDay() === schedule.weekday;
    case "monthly":
      return d === clamp(schedule.day);
    case "quarterly":
      return (m - 1) % 3 === 0 && d === clamp(schedule.day);
    case "yearly":
      return m === schedule.month && d === clamp(schedule.day);
  }
}

describe("calendarPeriod properties", () => {
  const MAX_DAY = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  const dayOrLast = fc.oneof(fc.integer({ min: 1, max: 31 }), fc.constant("last" as const));
  const schedule = fc.oneof(
    fc.constant<Schedule>(DAILY),
    fc.integer({ min: 0, max: 6 }).map<Schedule>((weekday) => ({ kind: "weekly", weekday })),
    dayOrLast.map<Schedule>((day) => ({ kind: "monthly", day })),
    dayOrLast.map<Schedule>((day) => ({ kind: "quarterly", day })),
    fc
      .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }))
      .map<Schedule>(([month, day]) => ({
        kind: "yearly",
        month,
        day: Math.min(day, MAX_DAY[month - 1] ?? 28),
      })),
  );
  const zone = fc.constantFrom(
    "UTC",
    "America/New_York",
    "Asia/Kolkata",
    "America/Santiago",
    "America/Havana",
    "America/Sao_Paulo",
    "Europe/London",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
  );
  const nowMs = fc.integer({ min: at("1990-01-01T00:00:00Z"), max: at("2060-01-01T00:00:00Z") });

  it("contains now, starts on a boundary date, has no boundary inside, and tiles", () => {
    fc.assert(
      fc.property(schedule, zone, nowMs, (s, tz, now) => {
        const p = calendarPeriod(s, tz, now);
        expect(p.start).toBeLessThanOrEqual(now);
        expect(p.end).toBeGreaterThan(now);
        expect(calendarPeriod(s, tz, p.end).start).toBe(p.end);
        expect(calendarPeriod(s, tz, p.start - 1).end).toBe(p.start);
        // The start is the first instant of its local date, and that date is a boundary date.
        const startDate = wall(tz, p.start).slice(0, 10);
        expect(wall(tz, p.start - 1000).slice(0, 10) < startDate).toBe(true);
        const [y = 0, m = 0, d = 0] = startDate.split("-").map(Number);
        expect(isBoundaryDate(s, y, m, d)).toBe(true);
        // No boundary date strictly between the start's date and the end's date.
        const endDay = Date.parse(`${wall(tz, p.end).slice(0, 10)}T00:00:00Z`);
        for (let day = Date.UTC(y, m - 1, d + 1); day < endDay; day += 86_400_000) {
          const date = new Date(day);
          expect(isBoundaryDate(s, date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate())).toBe(
            false,
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("calendarPeriod rejects", () => {
  it.each([Number.NaN, Number.POSITIVE_INFINITY])("nowMs %s", (nowMs) => {
    expect(() => calendarPeriod(DAILY, "UTC", nowMs)).toThrow(RangeError);
    expect(() => calendarPeriod(DAILY, "America/New_York", nowMs)).toThrow(RangeError);
  });

  it("an unknown zone", () => {
    expect(() => calendarPeriod(DAILY, "Mars/Olympus_Mons", 0)).toThrow(RangeError);
  });
});

describe("isValidTimeZone", () => {
  it.each([
    ["UTC", true],
    ["Etc/UTC", true],
    ["America/New_York", true],
    ["Asia/Kolkata", true],
    ["Australia/Lord_Howe", true],
    ["Etc/GMT+5", true],
    ["", false],
    ["Mars/Olympus_Mons", false],
    ["America/New York", false],
    ["+05:00", false],
    ["-03:00", false],
    ["New_York", false],
  ])("%j is %s", (tz, valid) => {
    expect(isValidTimeZone(tz)).toBe(valid);
  });
});
