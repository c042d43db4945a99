/** Numbers and times as the dashboard prints them: exact (to the API's 1e-9), never abbreviated. */

export function amount(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return String(Number(value.toFixed(9)));
}

/** An ISO time as `YYYY-MM-DD HH:MM:SS UTC` (the API's times are UTC). */
export function time(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** The browser's time zone: usage is bucketed into its days. */
export const browserZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** A bucket (the start of a day in `zone`) as that day, `YYYY-MM-DD`. */
export function day(iso: string | null, zone: string): string {
  if (iso === null) return "all";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso.slice(0, 10);
  return new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(date);
}
