import { Command } from 'commander';
import type { CloseSummary } from '../close/day-book.js';
import type { Totals, ZReport } from '../close/day-report.js';
import type { HistorySale } from '../close/sale-history.js';
import { addDays, isShopDate, shopClock } from '../close/shop-day.js';
import type { CliIo } from './crypto-command.js';
import { DaemonClient } from './api-client.js';
import { common, json, type Common } from './daemon-options.js';
import { EXIT } from './exit-codes.js';
import { currencyCode, formatMoney } from './format.js';
import { catalogueError, errorWords, wordOr, words, wordsIn, type Lang, type Words } from './cli-lang.js';

/**
 * The shop's days through the running daemon (docs/daemon.md §9a): `cardpost close` (the Z report,
 * stored when the day is closed), `cardpost sales` (a day's history) and `cardpost sale receipt`
 * (a receipt again, marked as a copy). Days are the shop's, in the daemon's `shop.timeZone`.
 */

function checkDate(date: string | undefined, lang: Lang): void {
  if (date !== undefined && !isShopDate(date))
    throw catalogueError('CLI_DATE', lang, { key: 'cli.date.bad', params: { date } }, { key: 'cli.date.bad.todo' });
}

const totals = (t: Totals): string =>
  `${t.count}${t.byCurrency.length ? ` · ${t.byCurrency.map((c) => formatMoney(c.amount, c.currency)).join(' + ')}` : ''}`;

/**
 * The Z report as lines in `lang`. In English each label keeps its Chinese before it ("成功 done"), as
 * the printed receipt does, so a report kept for the books reads for both; in zh-CN it is Chinese alone.
 */
export function reportLines(r: ZReport, lang: Lang = 'en'): string[] {
  const w = wordsIn(lang);
  const zh = wordsIn('zh-CN');
  const label = (key: string): string => (lang === 'en' ? `${zh(key)} ${w(key)}` : w(key));
  const part = (key: string, t: Totals): string => `${label(key)} ${totals(t)}`;
  const head = (key: string, parts: string[]): string => `  ${label(key)}${w('cli.colon')}${parts.join(w('cli.semi'))}`;
  const when = (): string => shopClock(Date.parse(r.closedAt ?? ''), r.timeZone); // only a closed day has a time
  const cash = part('cli.z.cash', r.topups.byMethod.cash);
  const account = part('cli.z.account', r.topups.byMethod.account);
  const sync = `${label('cli.z.sync')} ${r.topups.byMethod.sync.count}`;
  const lines = [
    `${label('cli.z.title')} ${r.date} (${r.timeZone}) — ${r.state === 'closed' ? `${label('cli.z.closed')}${w('cli.z.at', { time: when() })}` : `${label('cli.z.open')}${w('cli.z.moving')}`}`,
    head('cli.z.sales', [
      part('cli.z.done', r.sales.done),
      part('cli.z.cancelled', r.sales.cancelled),
      part('cli.z.unconfirmed', r.sales.unconfirmed),
      part('cli.z.failed', r.sales.failed),
    ]),
    head('cli.z.topups', [
      `${part('cli.z.loaded', r.topups.loaded)}${w('cli.z.byMethod', { list: [cash, account, sync].join(w('cli.comma')) })}`,
      part('cli.z.unfinished', r.topups.unfinished),
      part('cli.z.failed', r.topups.failed),
    ]),
    head('cli.z.records', [
      part('cli.z.pending', r.records.pending),
      part('cli.z.settled', r.records.settled),
      part('cli.z.rejected', r.records.rejected),
      part('cli.z.held', r.records.held),
    ]),
    head('cli.z.voids', [
      part('cli.z.voided', r.voids.voided),
      part('cli.z.signing', r.voids.signing),
      part('cli.z.failed', r.voids.failed),
    ]),
    head('cli.z.refunds', [
      part('cli.z.credited', r.refunds.credited),
      part('cli.z.refundPending', r.refunds.pending),
      part('cli.z.failed', r.refunds.failed),
    ]),
  ];
  const bank = label('cli.z.bank');
  if (r.bank.checked) {
    const rec = r.bank.reconciliation;
    if (rec.lines.length === 0) lines.push(`  ${bank}${w('cli.colon')}${w('cli.z.bankNone')}`);
    for (const l of rec.lines)
      lines.push(
        `  ${bank} ${currencyCode(l.currency)}${w('cli.colon')}${w('cli.z.bankLine', {
          hostCount: l.host.count,
          hostAmount: formatMoney(l.host.amount, l.currency),
          bankCount: l.bank.count,
          bankAmount: formatMoney(l.bank.amount, l.currency),
        })} ${label(l.match ? 'cli.z.match' : 'cli.z.different')}`,
      );
  } else lines.push(`  ${bank}${w('cli.colon')}${w('cli.z.notChecked', { ...errorWords(r.bank.error, lang) })}`);
  for (const l of r.late)
    lines.push(
      `  ${label('cli.z.late')}${w('cli.z.lateFrom', { from: l.from })}${w('cli.colon')}${l.kind} ${l.id} ${l.was ?? w('cli.z.notCounted')} → ${l.state} ${formatMoney(l.amount, l.currency)}`,
    );
  return lines;
}

/** A sale's outcome in words ("done" in English, as the API names it; "已付款"). */
const outcomeWords = (w: Words, outcome: string): string => wordOr(w, 'cli.outcome.', outcome);

export function dayCommands(io: CliIo): Command[] {
  const close = common(
    new Command('close').description(
      "the day close (Z report) of a shop day: prints it and stores it, after which that day's figures never change",
    ),
  )
    .option(
      '--date <YYYY-MM-DD>',
      "the shop's day (default: yesterday, the last day that is over; today with --dry-run)",
    )
    .option('--dry-run', 'print the running figures without closing the day')
    .option('--list', 'list the closed days instead')
    .action(async (o: Common & { date?: string; dryRun?: boolean; list?: boolean }) => {
      checkDate(o.date, words(io).lang); // before the daemon is asked: --lang, CARDPOST_LANG or the locale
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const w = words(io);
      if (o.list) {
        const l = await client.request<{ timeZone: string; closes: CloseSummary[] }>('GET', '/api/v1/closes?limit=366');
        if (o.json) return json(io, l);
        if (l.closes.length === 0) io.out(w('cli.close.none'));
        for (const c of l.closes)
          io.out(
            w('cli.close.item', {
              date: c.date,
              zone: c.timeZone,
              time: shopClock(Date.parse(c.closedAt), c.timeZone),
              totals: totals(c.salesDone),
              verdict: w(c.bankMatch === null ? 'cli.notChecked' : c.bankMatch ? 'cli.match' : 'cli.different'),
            }),
          );
        return;
      }
      // Closing: yesterday, the last day that is over; the running figures: today.
      const today = o.date ?? (await client.request<{ today: string }>('GET', '/api/v1/closes?limit=1')).today;
      const date = o.date ?? (o.dryRun ? today : addDays(today, -1));
      let report: ZReport;
      if (o.dryRun) report = await client.request<ZReport>('GET', `/api/v1/closes/${date}`);
      else {
        const r = await client.request<{ alreadyClosed: boolean; report: ZReport }>('POST', '/api/v1/closes', { date });
        report = r.report;
        if (!o.json && r.alreadyClosed) io.out(w('cli.close.already', { date }));
      }
      if (o.json) return json(io, report);
      for (const l of reportLines(report, w.lang)) io.out(l);
      if (report.bank.checked && !report.bank.reconciliation.match) io.setExitCode(EXIT.NEGATIVE);
    });

  const sales = common(
    new Command('sales').description("a shop day's sales: time, amount, card's last 4 digits, outcome"),
  )
    .option('--date <YYYY-MM-DD>', "the shop's day (default: today)")
    .option('--search <text>', "only sales whose id, card's last digits, amount or outcome match")
    .action(async (o: Common & { date?: string; search?: string }) => {
      checkDate(o.date, words(io).lang); // before the daemon is asked: --lang, CARDPOST_LANG or the locale
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const w = words(io);
      const q = new URLSearchParams({
        ...(o.date ? { date: o.date } : {}),
        ...(o.search !== undefined ? { q: o.search } : {}),
      });
      if (!o.date && o.search === undefined)
        q.set('date', (await client.request<{ today: string }>('GET', '/api/v1/closes?limit=1')).today);
      const h = await client.request<{ date: string; timeZone: string; sales: HistorySale[] }>(
        'GET',
        `/api/v1/sales?${q}`,
      );
      if (o.json) return json(io, h);
      io.out(w('cli.sales.head', { date: h.date, zone: h.timeZone, n: h.sales.length }));
      for (const s of h.sales)
        io.out(
          `${s.shopTime.slice(11)}  ${formatMoney(s.amount, s.currency).padStart(12)}  ${w('cli.sales.card', { last4: s.cardLast4 ?? '----' })}  ${outcomeWords(w, s.outcome ?? s.state).padEnd(11)}  ${s.saleId}`,
        );
    });
  return [close, sales];
}

/** `cardpost sale receipt <id>`: a paid sale's receipt again, marked "副本 / COPY". */
export function saleReceiptCommand(io: CliIo): Command {
  return new Command('receipt')
    .description("print a paid sale's receipt again, marked COPY / 副本; takes sale's --data-dir")
    .argument('<id>', 'the sale id (cardpost sales lists them)')
    .option('--json', 'print JSON for scripts')
    .option('--printer', "send the copy to the counter's receipt printer too")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<Common & { printer?: boolean }>();
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const r = await client.request<{ lines: string[] }>('GET', `/api/v1/sales/${encodeURIComponent(id)}/receipt`);
      if (o.printer) {
        await client.request('POST', `/api/v1/sales/${encodeURIComponent(id)}/receipt/print`);
        if (!o.json) io.out(words(io)('cli.receipt.printing'));
      }
      if (o.json) return json(io, r);
      for (const l of r.lines) io.out(l);
    });
}
