const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const day = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  day: "numeric",
  month: "long",
  year: "numeric",
});
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

export const formatTime = (ts: number) => time.format(ts);
export const formatFull = (ts: number) => full.format(ts);

/** "Today", "Yesterday" or the date, for day separators. */
export function formatDay(ts: number, now = Date.now()): string {
  const d = dayNumber(ts);
  const today = dayNumber(now);
  if (d === today) return "Today";
  if (d === today - 1) return "Yesterday";
  return day.format(ts);
}

/** Days since the epoch in local time, to compare calendar days. */
export function dayNumber(ts: number): number {
  const d = new Date(ts);
  return Math.floor((ts - d.getTimezoneOffset() * 60_000) / 86_400_000);
}
