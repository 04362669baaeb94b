import { Command } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
import type { CloseSummary } from '../close/day-book.js';
import type { Totals, ZReport } from '../close/day-report.js';
import type { HistorySale } from '../close/sale-history.js';
import { addDays, isShopDate, shopClock } from '../close/shop-day.js';
import type { CliIo } from './crypto-command.js';
import { DaemonClient } from './api-client.js';
import { common, json, type Common } from './daemon-options.js';
import { EXIT } from './exit-codes.js';
import { formatMoney } from './format.js';

/**
 * The shop's days through the running daemon (docs/daemon.md §9a): `cardpost close` (the Z report,
 * stored when the day is closed), `cardpost sales` (a day's history) and `cardpost sale receipt`
 * (a receipt again, marked as a copy). Days are the shop's, in the daemon's `shop.timeZone`.
 */

function checkDate(date: string | undefined): void {
  if (date !== undefined && !isShopDate(date))
    throw new CardpostError(
      'CLI_DATE',
      `"${date}" is not a date`,
      'give the day as YYYY-MM-DD, e.g. --date 2026-12-05',
    );
}

const totals = (t: Totals): string =>
  `${t.count}${t.byCurrency.length ? ` · ${t.byCurrency.map((c) => formatMoney(c.amount, c.currency)).join(' + ')}` : ''}`;

/** The Z report as lines, Chinese first with English. */
export function reportLines(r: ZReport): string[] {
  const lines = [
    `日结报告 Z report ${r.date} (${r.timeZone}) — ${r.state === 'closed' ? `已日结 CLOSED at ${shopClock(Date.parse(r.closedAt ?? ''), r.timeZone)}` : '未日结 OPEN, figures still moving'}`,
    `  销售 Sales: 成功 done ${totals(r.sales.done)}; 取消 cancelled ${totals(r.sales.cancelled)}; 未确认 unconfirmed ${totals(r.sales.unconfirmed)}; 失败 failed ${totals(r.sales.failed)}`,
    `  充值 Top-ups: loaded ${totals(r.topups.loaded)} (现金 cash ${totals(r.topups.byMethod.cash)}, 账户 account ${totals(r.topups.byMethod.account)}, sync ${r.topups.byMethod.sync.count}); unfinished ${totals(r.topups.unfinished)}; failed ${totals(r.topups.failed)}`,
    `  记录 Records: 待结算 pending ${totals(r.records.pending)}; 已结算 settled ${totals(r.records.settled)}; 被拒 rejected ${totals(r.records.rejected)}; held ${totals(r.records.held)}`,
    `  撤销 Voids: voided ${totals(r.voids.voided)}; signing ${totals(r.voids.signing)}; failed ${totals(r.voids.failed)}`,
    `  退款 Refunds: credited ${totals(r.refunds.credited)}; pending ${totals(r.refunds.pending)}; failed ${totals(r.refunds.failed)}`,
  ];
  if (r.bank.checked) {
    const rec = r.bank.reconciliation;
    if (rec.lines.length === 0) lines.push('  银行对账 Bank: nothing settled that day, host and bank agree');
    for (const l of rec.lines)
      lines.push(
        `  银行对账 Bank ${l.currency}: host ${l.host.count} / ${formatMoney(l.host.amount, l.currency)}, bank ${l.bank.count} / ${formatMoney(l.bank.amount, l.currency)} ${l.match ? '一致 match' : '不一致 DIFFERENT'}`,
      );
  } else lines.push(`  银行对账 Bank: not checked — ${r.bank.error.message}. ${r.bank.error.hint}`);
  for (const l of r.late)
    lines.push(
      `  迟到 late from ${l.from}: ${l.kind} ${l.id} ${l.was ?? 'not counted'} → ${l.state} ${formatMoney(l.amount, l.currency)}`,
    );
  return lines;
}

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
      checkDate(o.date);
      const client = DaemonClient.connect(o.dataDir);
      if (o.list) {
        const l = await client.request<{ timeZone: string; closes: CloseSummary[] }>('GET', '/api/v1/closes?limit=366');
        if (o.json) return json(io, l);
        if (l.closes.length === 0) io.out('no day is closed yet');
        for (const c of l.closes)
          io.out(
            `${c.date} (${c.timeZone}) closed ${shopClock(Date.parse(c.closedAt), c.timeZone)}: ${totals(c.salesDone)} paid, bank ${c.bankMatch === null ? 'not checked' : c.bankMatch ? 'match' : 'DIFFERENT'}`,
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
        if (!o.json && r.alreadyClosed) io.out(`${date} was closed already: its stored report, unchanged`);
      }
      if (o.json) return json(io, report);
      for (const l of reportLines(report)) io.out(l);
      if (report.bank.checked && !report.bank.reconciliation.match) io.setExitCode(EXIT.NEGATIVE);
    });

  const sales = common(
    new Command('sales').description("a shop day's sales: time, amount, card's last 4 digits, outcome"),
  )
    .option('--date <YYYY-MM-DD>', "the shop's day (default: today)")
    .option('--search <text>', "only sales whose id, card's last digits, amount or outcome match")
    .action(async (o: Common & { date?: string; search?: string }) => {
      checkDate(o.date);
      const client = DaemonClient.connect(o.dataDir);
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
      io.out(`${h.date} (${h.timeZone}): ${h.sales.length} sale${h.sales.length === 1 ? '' : 's'}`);
      for (const s of h.sales)
        io.out(
          `${s.shopTime.slice(11)}  ${formatMoney(s.amount, s.currency).padStart(12)}  card …${s.cardLast4 ?? '----'}  ${(s.outcome ?? s.state).padEnd(11)}  ${s.saleId}`,
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
      const client = DaemonClient.connect(o.dataDir);
      const r = await client.request<{ lines: string[] }>('GET', `/api/v1/sales/${encodeURIComponent(id)}/receipt`);
      if (o.printer) {
        await client.request('POST', `/api/v1/sales/${encodeURIComponent(id)}/receipt/print`);
        if (!o.json) io.out('the copy is queued on the receipt printer (the counter page shows when it is printed)');
      }
      if (o.json) return json(io, r);
      for (const l of r.lines) io.out(l);
    });
}
