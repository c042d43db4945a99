/** Calendar schedule strings (SPEC §2 "Schedules", §11). */
import type { Schedule } from "../domain/types";
import type { ParseResult } from "./units";

const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
// February allows 29: `yearly:02-29` is valid and resets on the 28th in common years (SPEC §11).
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const ACCEPTED =
  "daily, weekly:mon … weekly:sun, monthly:N (N = 1…31), monthly:last, quarterly:N (N = 1…31), " +
  "quarterly:last or yearly:MM-DD";

/** Parse `daily`, `weekly:mon`, `monthly:N`, `monthly:last`, `quarterly:N`, `yearly:MM-DD`. */
export function parseSchedule(text: string): ParseResult<Schedule> {
  const schedule = readSchedule(text);
  if (schedule) return { ok: true, value: schedule };
  return { ok: false, message: `schedule ${JSON.stringify(text)} is not one of: ${ACCEPTED}` };
}

function readSchedule(text: string): Schedule | null {
  if (text === "daily") return { kind: "daily" };
  const colon = text.indexOf(":");
  if (colon < 0) return null;
  const kind = text.slice(0, colon);
  const arg = text.slice(colon + 1);
  switch (kind) {
    case "weekly": {
      const weekday = WEEKDAYS.indexOf(arg);
      return weekday < 0 ? null : { kind, weekday };
    }
    case "monthly":
    case "quarterly": {
      if (arg === "last") return { kind, day: "last" };
      const day = readDay(arg, 31);
      return day === null ? null : { kind, day };
    }
    case "yearly": {
      const match = /^(\d\d)-(\d\d)$/.exec(arg);
      if (!match) return null;
      const month = Number(match[1]);
      const maxDay = DAYS_IN_MONTH[month - 1];
      if (maxDay === undefined) return null;
      const day = readDay(match[2] ?? "", maxDay);
      return day === null ? null : { kind, month, day };
    }
    default:
      return null;
  }
}

/** A day number 1…max written with one or two ASCII digits, else null. */
function readDay(text: string, max: number): number | null {
  if (!/^\d{1,2}$/.test(text)) return null;
  const day = Number(text);
  return day >= 1 && day <= max ? day : null;
}
