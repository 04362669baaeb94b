/**
 * The shop's business day: a calendar date in the shop's own time zone (IANA name, config
 * `shop.timeZone`). Pure, no I/O. An instant belongs to the date the shop's wall clock shows then; a
 * date is the half-open range of instants [start, end) whose wall-clock date it is. Across DST a day is
 * 23 or 25 hours long (Europe/Berlin in March and October); where a zone's clocks skip midnight the day
 * starts at the first instant that shows the date.
 */

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const HOUR_MS = 3_600_000;

/** The local date formatter of a zone (cached: building one is the costly part). */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The machine's time zone (the default of `shop.timeZone`). */
export function machineTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * The canonical IANA name of a time zone ("asia/shanghai" → "Asia/Shanghai"), or undefined when this
 * runtime does not know it.
 */
export function canonicalTimeZone(name: string): string | undefined {
  if (name.length === 0 || name.length > 64) return undefined;
  try {
    return new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Whether `date` is a real calendar date written YYYY-MM-DD (years 1970–9999). */
export function isShopDate(date: string): boolean {
  const m = DATE_RE.exec(date);
  if (!m) return false;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number(m[1]) >= 1970 && new Date(t).toISOString().slice(0, 10) === date;
}

/** RangeError unless `date` is a calendar date YYYY-MM-DD. */
export function requireShopDate(date: string): void {
  if (!isShopDate(date)) throw new RangeError(`not a calendar date: "${date}" (use YYYY-MM-DD)`);
}

/** The shop's date at an instant (ms since the epoch). */
export function shopDayOf(instantMs: number, timeZone: string): string {
  const parts = formatter(timeZone).formatToParts(new Date(instantMs));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** The calendar date `n` days after `date` (n may be negative). */
export function addDays(date: string, n: number): string {
  requireShopDate(date);
  const m = DATE_RE.exec(date)!;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + n)).toISOString().slice(0, 10);
}

/** The first instant (ms) whose shop date is `date` or later: the wall clock is monotonic in dates. */
function dayStart(date: string, timeZone: string): number {
  const m = DATE_RE.exec(date)!;
  const utcMidnight = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Every zone's offset is within ±15 h (UTC−12 … UTC+14): the day starts in this window.
  let lo = utcMidnight - 15 * HOUR_MS; // shows an earlier date
  let hi = utcMidnight + 15 * HOUR_MS; // shows `date` or later
  // Offsets are whole minutes (seconds in old LMT): search down to the millisecond.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (shopDayOf(mid, timeZone) >= date) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The instants of a shop day, [fromMs, toMs). RangeError for a date that is not one. */
export function shopDayBounds(date: string, timeZone: string): [number, number] {
  requireShopDate(date);
  return [dayStart(date, timeZone), dayStart(addDays(date, 1), timeZone)];
}

/** A formatter per time zone (building one is the costly part). */
const CLOCKS = new Map<string, Intl.DateTimeFormat>();

export interface WallClock {
  year: string;
  /** 2 digits, like day, hour, minute and second */
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

/** An instant as the wall clock in `timeZone` shows it, field by field (24-hour, zero-padded). */
export function wallClock(instantMs: number, timeZone: string): WallClock {
  let f = CLOCKS.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    CLOCKS.set(timeZone, f);
  }
  const parts = f.formatToParts(new Date(instantMs));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** An instant as the shop's wall clock shows it: "2026-12-05 23:59:58" (for printed reports and receipts). */
export function shopClock(instantMs: number, timeZone: string): string {
  const c = wallClock(instantMs, timeZone);
  return `${c.year}-${c.month}-${c.day} ${c.hour}:${c.minute}:${c.second}`;
}
