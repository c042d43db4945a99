/** Calendar schedule strings (SPEC §2 "Schedules"). */
import type { Schedule } from "../domain/types";
import type { ParseResult } from "./units";

/** Parse `daily`, `weekly:mon`, `monthly:N`, `monthly:last`, `quarterly:N`, `yearly:MM-DD`. */
export function parseSchedule(_text: string): ParseResult<Schedule> {
  throw new Error("not implemented");
}
