/** Calendar periods in an IANA time zone (SPEC §2, §11): pure, the clock comes in as nowMs. */
import type { Schedule } from "./types";

export interface Period {
  start: number;
  end: number;
}

/** The period of `schedule` in zone `tz` that contains `nowMs`: [start, end) in epoch ms. */
export function calendarPeriod(_schedule: Schedule, _tz: string, _nowMs: number): Period {
  throw new Error("not implemented");
}

/** True when `tz` is an IANA zone the runtime knows. */
export function isValidTimeZone(_tz: string): boolean {
  throw new Error("not implemented");
}
