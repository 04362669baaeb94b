/**
 * The period of GET /v1/reconciliation (docs/bank-api.md §8), from its query: one UTC `date`, an
 * inclusive UTC `from`/`to` range, or a shop's own day as `since`/`until` Unix seconds; at most 366
 * days. Pure; every bank front end reads the query with it, so they refuse the same things alike.
 */
import { DecodeError } from '../errors.js';

export interface ReconciliationRange {
  /** [from, to) in Unix seconds. */
  from: number;
  to: number;
  /** The query's own words, echoed in the answer. */
  echo: Record<string, string>;
}

const queryInvalid = (code: 'QUERY_INVALID', message: string, hint: string): DecodeError =>
  new DecodeError(code, message, hint);

export function reconciliationRange(q: Record<string, unknown>): ReconciliationRange {
  const day = (name: string): number => {
    const v = q[name];
    const m = typeof v === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(v) : null;
    if (m) {
      const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      if (new Date(t).toISOString().slice(0, 10) === v) return t / 1000;
    }
    throw queryInvalid(
      'QUERY_INVALID',
      `${name} must be one UTC date YYYY-MM-DD`,
      'e.g. ?date=2026-05-01 or ?from=2026-05-01&to=2026-05-31',
    );
  };
  let from: number, to: number;
  let echo: Record<string, string>;
  const instant = (name: string): number => {
    const v = q[name];
    if (typeof v === 'string' && /^\d{1,12}$/.test(v)) return Number(v);
    throw queryInvalid('QUERY_INVALID', `${name} must be Unix seconds`, 'e.g. ?since=1764950400&until=1765036800');
  };
  if (q['since'] !== undefined || q['until'] !== undefined) {
    // A shop's own day in its time zone (docs/bank-api.md §8): any [since, until) of at most 366 days.
    if (q['date'] !== undefined || q['from'] !== undefined || q['to'] !== undefined)
      throw queryInvalid(
        'QUERY_INVALID',
        'give either since/until, date or from/to',
        'e.g. ?since=1764950400&until=1765036800',
      );
    from = instant('since');
    to = instant('until');
    if (to <= from || to - from > 366 * 86400)
      throw queryInvalid(
        'QUERY_INVALID',
        'until must be after since, at most 366 days',
        'ask for one day: until = since + 86400 or so',
      );
    echo = { since: String(from), until: String(to) };
  } else if (q['date'] !== undefined) {
    if (q['from'] !== undefined || q['to'] !== undefined)
      throw queryInvalid('QUERY_INVALID', 'give either date or from/to', 'e.g. ?date=2026-05-01');
    from = day('date');
    to = from + 86400;
    echo = { date: q['date'] as string };
  } else if (q['from'] !== undefined && q['to'] !== undefined) {
    from = day('from');
    to = day('to') + 86400;
    if (to <= from) throw queryInvalid('QUERY_INVALID', 'to is before from', 'from and to are inclusive UTC dates');
    if (to - from > 366 * 86400)
      throw queryInvalid('QUERY_INVALID', 'the range is longer than 366 days', 'ask for a shorter range');
    echo = { from: q['from'] as string, to: q['to'] as string };
  } else {
    throw queryInvalid('QUERY_INVALID', 'date, or from and to, is required', 'e.g. ?date=2026-05-01');
  }
  return { from, to, echo };
}
