/**
 * Local days and hours of an IANA zone for usage buckets (SPEC §13.1 `groupBy=day|hour&tz=`). Usage is summed
 * in SQL per UTC 15-minute slot (every zone's offset is a whole number of quarter hours), and each slot is
 * folded here into the local day or hour that contains it, so DST days of 23 or 25 hours come out right. A
 * bucket is named by its local start with the offset in force then (`2026-03-29T00:00:00+01:00`), so the two
 * 01:00 hours of a fall-back night are two buckets.
 */
import { calendarPeriod, wallClockAt } from "../domain/calendar";

export const SLOT_MS = 15 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/** A bucket: its first instant and its name. */
export interface Bucket {
  startMs: number;
  name: string;
}

/** The local day or hour of `tz` that contains the slot starting at `slotStartMs`. */
export function bucketOf(unit: "day" | "hour", tz: string, slotStartMs: number): Bucket {
  let startMs: number;
  if (unit === "day") {
    // The first instant of the local day (a midnight inside a DST gap: the end of the gap).
    startMs = calendarPeriod({ kind: "daily" }, tz, slotStartMs).start;
  } else {
    const wall = wallClockAt(tz, slotStartMs);
    startMs = slotStartMs - (((wall % HOUR_MS) + HOUR_MS) % HOUR_MS);
  }
  return { startMs, name: localName(tz, startMs) };
}

/** `YYYY-MM-DDTHH:MM:SS±HH:MM`: the local time at `t` and the offset in force. */
function localName(tz: string, t: number): string {
  const wall = wallClockAt(tz, t);
  const offsetMinutes = Math.round((wall - t) / 60_000);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return `${new Date(wall).toISOString().slice(0, 19)}${offset}`;
}
