import { describe, expect, it } from "vitest";
import type { Schedule } from "../../src/domain/types";
import { parseSchedule } from "../../src/policy/schedule";

describe("parseSchedule: accepted", () => {
  it.each<[string, Schedule]>([
    ["daily", { kind: "daily" }],
    ["weekly:sun", { kind: "weekly", weekday: 0 }],
    ["weekly:mon", { kind: "weekly", weekday: 1 }],
    ["weekly:tue", { kind: "weekly", weekday: 2 }],
    ["weekly:wed", { kind: "weekly", weekday: 3 }],
    ["weekly:thu", { kind: "weekly", weekday: 4 }],
    ["weekly:fri", { kind: "weekly", weekday: 5 }],
    ["weekly:sat", { kind: "weekly", weekday: 6 }],
    ["monthly:1", { kind: "monthly", day: 1 }],
    ["monthly:01", { kind: "monthly", day: 1 }],
    ["monthly:15", { kind: "monthly", day: 15 }],
    ["monthly:31", { kind: "monthly", day: 31 }],
    ["monthly:last", { kind: "monthly", day: "last" }],
    ["quarterly:1", { kind: "quarterly", day: 1 }],
    ["quarterly:31", { kind: "quarterly", day: 31 }],
    ["quarterly:last", { kind: "quarterly", day: "last" }],
    ["yearly:01-01", { kind: "yearly", month: 1, day: 1 }],
    ["yearly:01-31", { kind: "yearly", month: 1, day: 31 }],
    ["yearly:02-28", { kind: "yearly", month: 2, day: 28 }],
    ["yearly:02-29", { kind: "yearly", month: 2, day: 29 }],
    ["yearly:04-30", { kind: "yearly", month: 4, day: 30 }],
    ["yearly:12-31", { kind: "yearly", month: 12, day: 31 }],
  ])("%s", (text, schedule) => {
    expect(parseSchedule(text)).toEqual({ ok: true, value: schedule });
  });
});

describe("parseSchedule: rejected", () => {
  it.each([
    "",
    "Daily",
    "daily ",
    " daily",
    "daily:1",
    "hourly",
    "weekly",
    "weekly:",
    "weekly:monday",
    "weekly:Mon",
    "weekly:1",
    "monthly",
    "monthly:",
    "monthly:0",
    "monthly:32",
    "monthly:-1",
    "monthly:1.5",
    "monthly:001",
    "monthly:first",
    "monthly:LAST",
    "monthly:١",
    "quarterly:0",
    "quarterly:32",
    "yearly",
    "yearly:1-1",
    "yearly:00-10",
    "yearly:13-01",
    "yearly:02-30",
    "yearly:04-31",
    "yearly:06-31",
    "yearly:09-31",
    "yearly:11-31",
    "yearly:12-32",
    "yearly:12-00",
    "yearly:last",
    "yearly:12/31",
    "yearly:2024-12-31",
    "monthly:1:2",
    "__proto__:1",
    "toString",
  ])("%j", (text) => {
    const result = parseSchedule(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      // The message lists every accepted form.
      for (const form of [
        "daily",
        "weekly:mon",
        "monthly:N",
        "monthly:last",
        "quarterly:N",
        "yearly:MM-DD",
      ]) {
        expect(result.message).toContain(form);
      }
    }
  });
});
