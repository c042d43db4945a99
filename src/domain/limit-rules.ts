/** The leaf types of a limit (mode, scope, reset rule), shared by ./types.ts and ./money/types.ts. */

export type Mode = "hard" | "soft" | "observe";
export type Scope = "customer" | "org";

/** A calendar schedule (SPEC §2, §11). Weekday: 0 = Sunday … 6 = Saturday. Month: 1…12. */
export type Schedule =
  | { kind: "daily" }
  | { kind: "weekly"; weekday: number }
  | { kind: "monthly"; day: number | "last" }
  | { kind: "quarterly"; day: number | "last" }
  | { kind: "yearly"; month: number; day: number };

/** How a limit's period advances. `none` makes the meter a gauge. */
export type ResetRule =
  | { kind: "none" }
  | { kind: "rolling"; periodMs: number }
  | { kind: "calendar"; schedule: Schedule; tz: string; source: string };
