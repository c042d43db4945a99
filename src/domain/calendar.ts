/** Calendar periods in an IANA time zone (SPEC §2, §11): pure, the clock comes in as nowMs. */
import type { Schedule } from "./types";

export interface Period {
  start: number;
  end: number;
}

const DAY_MS = 86_400_000;
// Zones that are UTC forever: plain day arithmetic, no Intl.
const UTC_ZONES = new Set(["UTC", "Etc/UTC", "GMT", "Etc/GMT"]);
// Memoised midnights per zone: a meter asks for the same few days over and over. Cleared when large.
const MIDNIGHT_CACHE_LIMIT = 2048;
// Re-anchoring moves one period at a time; real zones need at most one step (America/Sitka, 1867).
const MAX_REANCHOR_STEPS = 4;

interface Zone {
  format: Intl.DateTimeFormat;
  /** Local day number (days since 1970-01-01 on the zone's calendar) → first instant of that day. */
  midnights: Map<number, number>;
  /** The local day last looked up, with its bounds: most calls land in it, so skip Intl for them. */
  today: { day: number; start: number; end: number } | null;
}

const zones = new Map<string, Zone>();

/**
 * The period of `schedule` in zone `tz` that contains `nowMs`: [start, end) in epoch ms.
 * Boundaries are the first instant of the boundary's local day (local midnight, or the end of a DST gap).
 * Throws a RangeError for a zone the runtime does not know (check it with `isValidTimeZone` first) and
 * for a `nowMs` that is not a finite time.
 */
export function calendarPeriod(schedule: Schedule, tz: string, nowMs: number): Period {
  if (!Number.isFinite(nowMs)) throw new RangeError(`calendarPeriod: nowMs ${nowMs} is not a time`);
  const zone = UTC_ZONES.has(tz) ? null : zoneFor(tz);
  const midnight = (day: number): number => (zone ? zoneMidnight(zone, day) : day * DAY_MS);
  let startDay = boundaryOnOrBefore(schedule, zone ? currentDay(zone, nowMs) : Math.floor(nowMs / DAY_MS));
  let endDay = nextBoundary(schedule, startDay);
  let start = midnight(startDay);
  let end = midnight(endDay);
  // Local dates are not monotonic when a fall-back crosses midnight (America/Sitka in 1867 showed
  // Oct 18 again after Oct 19), so the date of nowMs can name a neighbouring period: re-anchor on
  // instants. The step limit turns a broken schedule into an error instead of a hung isolate.
  let steps = 0;
  while (nowMs >= end) {
    if (++steps > MAX_REANCHOR_STEPS) throw new Error("calendarPeriod: no period contains nowMs");
    startDay = endDay;
    start = end;
    endDay = nextBoundary(schedule, startDay);
    end = midnight(endDay);
  }
  while (nowMs < start) {
    if (++steps > MAX_REANCHOR_STEPS) throw new Error("calendarPeriod: no period contains nowMs");
    endDay = startDay;
    end = start;
    startDay = boundaryOnOrBefore(schedule, startDay - 1);
    start = midnight(startDay);
  }
  return { start, end };
}

/** True when `tz` is an IANA zone the runtime knows. */
export function isValidTimeZone(tz: string): boolean {
  // Newer ICU also takes offsets (`+05:00`) as time zones; those are not IANA names.
  if (typeof tz !== "string" || tz === "" || /^[+\-\u2212]/.test(tz)) return false;
  if (UTC_ZONES.has(tz) || zones.has(tz)) return true;
  try {
    zoneFor(tz);
    return true;
  } catch {
    return false;
  }
}

// ---- schedules on local day numbers -------------------------------------------------------------------

/** The latest boundary day of `schedule` on or before local day `day`. */
function boundaryOnOrBefore(schedule: Schedule, day: number): number {
  switch (schedule.kind) {
    case "daily":
      return day;
    case "weekly":
      // Day 0 (1970-01-01) was a Thursday (weekday 4).
      return day - mod(mod(day + 4, 7) - schedule.weekday, 7);
    default: {
      const { step, anchor, dayOfMonth } = monthRule(schedule);
      const { year, month } = civil(day);
      const index = year * 12 + month;
      const candidate = index - mod(index - anchor, step);
      const boundary = monthBoundary(candidate, dayOfMonth);
      return boundary <= day ? boundary : monthBoundary(candidate - step, dayOfMonth);
    }
  }
}

/** The first boundary day after boundary day `day`. */
function nextBoundary(schedule: Schedule, day: number): number {
  switch (schedule.kind) {
    case "daily":
      return day + 1;
    case "weekly":
      return day + 7;
    default: {
      const { step, dayOfMonth } = monthRule(schedule);
      const { year, month } = civil(day);
      return monthBoundary(year * 12 + month + step, dayOfMonth);
    }
  }
}

/** Month-based schedules as: every `step` months from month `anchor` (0 = January), on `dayOfMonth`. */
function monthRule(schedule: Exclude<Schedule, { kind: "daily" } | { kind: "weekly" }>): {
  step: number;
  anchor: number;
  dayOfMonth: number | "last";
} {
  if (schedule.kind === "monthly") return { step: 1, anchor: 0, dayOfMonth: schedule.day };
  if (schedule.kind === "quarterly") return { step: 3, anchor: 0, dayOfMonth: schedule.day };
  return { step: 12, anchor: schedule.month - 1, dayOfMonth: schedule.day };
}

/** Day number of `dayOfMonth` in month index `index` (year·12 + month0), clamped to the month's last day. */
function monthBoundary(index: number, dayOfMonth: number | "last"): number {
  const year = Math.floor(index / 12);
  const month = mod(index, 12);
  const last = daysInMonth(year, month);
  const day = dayOfMonth === "last" ? last : Math.min(dayOfMonth, last);
  return Date.UTC(year, month, day) / DAY_MS;
}

function daysInMonth(year: number, month: number): number {
  if (month === 1) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 3 || month === 5 || month === 8 || month === 10 ? 30 : 31;
}

function civil(day: number): { year: number; month: number } {
  const date = new Date(day * DAY_MS);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() };
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

// ---- zones ---------------------------------------------------------------------------------------------

function zoneFor(tz: string): Zone {
  let zone = zones.get(tz);
  if (!zone) {
    // h23: some engines print midnight as hour 24 under `hour12: false`.
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    zone = { format, midnights: new Map(), today: null };
    zones.set(tz, zone);
  }
  return zone;
}

/** The zone's wall-clock reading at `t`, as if it were a UTC instant (whole seconds). */
function wallClock(zone: Zone, t: number): number {
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of zone.format.formatToParts(t)) {
    if (part.type === "year") year = Number(part.value);
    else if (part.type === "month") month = Number(part.value);
    else if (part.type === "day") day = Number(part.value);
    else if (part.type === "hour") hour = Number(part.value) % 24;
    else if (part.type === "minute") minute = Number(part.value);
    else if (part.type === "second") second = Number(part.value);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/**
 * The wall-clock reading of zone `tz` at instant `t`, as epoch ms of that reading taken as UTC (whole
 * seconds; `reading - t` is the offset in force). Throws a RangeError for a zone the runtime does not know.
 */
export function wallClockAt(tz: string, t: number): number {
  return wallClock(zoneFor(tz), t);
}

function localDay(zone: Zone, t: number): number {
  return Math.floor(wallClock(zone, t) / DAY_MS);
}

/** Local day of `t`, served from `zone.today` when `t` falls inside it. */
function currentDay(zone: Zone, t: number): number {
  const today = zone.today;
  if (today && t >= today.start && t < today.end) return today.day;
  const day = localDay(zone, t);
  const start = zoneMidnight(zone, day);
  const end = zoneMidnight(zone, day + 1);
  // Only remember a day that really contains t (see the fall-back note in calendarPeriod).
  if (t >= start && t < end) zone.today = { day, start, end };
  return day;
}

/** Offset of the zone at `t` in ms (wall clock minus UTC); tzdb offsets are whole seconds. */
function offsetAt(zone: Zone, t: number): number {
  return wallClock(zone, t) - Math.floor(t / 1000) * 1000;
}

/** The first instant whose local date in `zone` is `day`: local midnight, or the end of a DST gap. */
function zoneMidnight(zone: Zone, day: number): number {
  const cached = zone.midnights.get(day);
  if (cached !== undefined) return cached;
  const wall = day * DAY_MS;
  // Any offset in force near that midnight is in force a day either side of it (offsets are < 24 h), so
  // these are the only candidates; when both fit (a fall-back repeats midnight) the earlier one wins.
  const before = offsetAt(zone, wall - DAY_MS);
  const after = offsetAt(zone, wall + DAY_MS);
  let found = Number.POSITIVE_INFINITY;
  for (const offset of before === after ? [before] : [before, after]) {
    const t = wall - offset;
    if (t < found && wallClock(zone, t) === wall) found = t;
  }
  if (found === Number.POSITIVE_INFINITY) found = firstInstantOfDay(zone, day);
  if (zone.midnights.size >= MIDNIGHT_CACHE_LIMIT) zone.midnights.clear();
  zone.midnights.set(day, found);
  return found;
}

/** Midnight falls in a DST gap: binary search the first whole second whose local date is `day` or later. */
function firstInstantOfDay(zone: Zone, day: number): number {
  // Local date before `lo` is earlier than `day`; at `hi` it is not (offsets are within ±24 h).
  let lo = (day - 1) * (DAY_MS / 1000);
  let hi = (day + 1) * (DAY_MS / 1000);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDay(zone, mid * 1000) >= day) hi = mid;
    else lo = mid;
  }
  return hi * 1000;
}
