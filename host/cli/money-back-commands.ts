import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import type { RefundSnapshot } from '../card-services/refund-service.js';
import type { VoidSnapshot } from '../card-services/voids.js';
import type { CliIo } from './crypto-command.js';
import { ApiError } from './api-error.js';
import { DaemonClient } from './api-client.js';
import { common, json, type Common } from './daemon-options.js';
import { EXIT } from './exit-codes.js';
import { formatMoney } from './format.js';
import { parseAmount } from './parse.js';
import { errorWords, said, wordOr, words, wordsIn, type Lang } from './cli-lang.js';

/** " — CODE: what happened", in the merchant's language (the code stays). */
const whyLine = (e: { code: string; message: string }, lang: Lang): string =>
  ` — ${e.code}: ${errorWords(e, lang).message}`;

export function refundLine(r: RefundSnapshot, lang: Lang = 'en'): string {
  const w = wordsIn(lang);
  return w('cli.refund.line', {
    amount: formatMoney(r.amount, r.currency),
    sale: r.saleId.slice(0, 8),
    card: r.card,
    state: wordOr(w, 'cli.refund.', r.state),
    balance: r.balance === null ? '' : w('cli.refund.balance', { balance: formatMoney(r.balance, r.currency) }),
    why: r.error && r.state !== 'credited' ? whyLine(r.error, lang) : '',
    id: r.refundId,
  });
}

export function voidLine(v: VoidSnapshot, lang: Lang = 'en'): string {
  const w = wordsIn(lang);
  return v.state === 'voided'
    ? w('cli.void.done', {
        sale: v.saleId.slice(0, 8),
        amount: formatMoney(v.amount, v.currency),
        card: v.card,
        id: String(v.reversalId),
      })
    : w('cli.void.line', {
        sale: v.saleId.slice(0, 8),
        state: wordOr(w, 'cli.void.', v.state),
        why: v.error ? whyLine(v.error, lang) : '',
      });
}

/** `cardpost sale void <saleId>` (docs/daemon.md §9): the card in the reader gives the sale back. */
export function saleVoidCommand(io: CliIo): Command {
  return new Command('void')
    .description(
      "void a sale while its card is still at the counter: the card gives the whole amount back; takes sale's --data-dir",
    )
    .argument('<saleId>', 'the sale (its id, as `cardpost sales` lists it)')
    .option('--reader <name>', 'the reader holding the card (default: the only one holding a card)')
    .option('--json', 'print JSON for scripts')
    .action(async (saleId: string, _o: unknown, cmd: Command) => {
      // `sale` takes --data-dir and --json itself: read them with this command's own options.
      const o = cmd.optsWithGlobals<Common & { reader?: string }>();
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const v = await client.request<VoidSnapshot>(
        'POST',
        `/api/v1/sales/${encodeURIComponent(saleId)}/void`,
        o.reader ? { reader: o.reader } : {},
      );
      if (o.json) return json(io, v);
      io.out(voidLine(v, words(io).lang));
    });
}

/** `cardpost refund --sale ID [--amount X]` and `cardpost refunds [--date]` (docs/daemon.md §9). */
export function refundCommands(io: CliIo): Command[] {
  const refund = common(
    new Command('refund')
      .description(
        'give back (part of) a paid sale to its card: through the bank now if the card is in a reader, else queued for its next tap',
      )
      .requiredOption('--sale <saleId>', 'the sale to refund')
      .option('--amount <amount>', 'how much, e.g. 5.00 (default: all that is left of the sale)')
      .option('--reason <text>', 'why (returned goods …), kept with the refund')
      .option('--reader <name>', 'the reader holding the card')
      .option('--key <key>', 'Idempotency-Key: re-send an interrupted refund with the key it printed'),
  ).action(async (o: Common & { sale: string; amount?: string; reason?: string; reader?: string; key?: string }) => {
    const key = o.key ?? `refund-${randomUUID()}`;
    const client = await DaemonClient.connectFor(io, o.dataDir);
    const w = words(io);
    let r: RefundSnapshot;
    try {
      r = await client.request<RefundSnapshot>(
        'POST',
        '/api/v1/refunds',
        {
          saleId: o.sale,
          ...(o.amount !== undefined ? { amount: parseAmount(o.amount) } : {}),
          ...(o.reason !== undefined ? { reason: o.reason } : {}),
          ...(o.reader !== undefined ? { reader: o.reader } : {}),
        },
        { 'Idempotency-Key': key },
      );
    } catch (e) {
      if (e instanceof ApiError && e.status >= 500) {
        const { message, hint } = errorWords(e, w.lang);
        throw said(new ApiError(e.code, message, `${hint}${w('cli.rerun', { key })}`, e.status));
      }
      throw e;
    }
    if (o.json) return json(io, r);
    io.out(refundLine(r, w.lang));
    if (r.state === 'failed') io.setExitCode(EXIT.NEGATIVE);
  });
  const day = common(
    new Command('refunds')
      .description("the day's voids and refunds, and what they gave back (the shop's day, in its time zone)")
      .option('--date <YYYY-MM-DD>', "the shop's day (default: today there)"),
  ).action(async (o: Common & { date?: string }) => {
    const client = await DaemonClient.connectFor(io, o.dataDir);
    const d = await client.request<{
      date: string;
      timeZone: string;
      voided: { currency: number; count: number; amount: number }[];
      credited: { currency: number; count: number; amount: number }[];
      voids: VoidSnapshot[];
      refunds: RefundSnapshot[];
    }>('GET', `/api/v1/refunds${o.date ? `?date=${encodeURIComponent(o.date)}` : ''}`);
    if (o.json) return json(io, d);
    const w = words(io);
    io.out(w('cli.refunds.head', { date: d.date, zone: d.timeZone }));
    for (const t of d.voided)
      io.out(w('cli.refunds.voided', { amount: formatMoney(t.amount, t.currency), n: t.count }));
    for (const t of d.credited)
      io.out(w('cli.refunds.credited', { amount: formatMoney(t.amount, t.currency), n: t.count }));
    for (const v of d.voids) io.out(`  ${voidLine(v, w.lang)}`);
    for (const r of d.refunds) io.out(`  ${refundLine(r, w.lang)}`);
  });
  return [refund, day];
}
