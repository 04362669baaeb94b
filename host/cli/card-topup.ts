import { randomUUID } from 'node:crypto';
import { Command, Option } from 'commander';
import type { TopupDay } from '../card-services/card-services.js';
import type { TopupSnapshot } from '../card-services/topup-types.js';
import type { CliIo } from './crypto-command.js';
import { ApiError } from './api-error.js';
import { DaemonClient } from './api-client.js';
import { formatMoney } from './format.js';
import { parseAmount, parseCurrency } from './parse.js';
import { catalogueError, errorWords, said, wordOr, words, wordsIn, type Lang } from './cli-lang.js';

/** Codes after which the same request, re-sent with the same key, finishes the top-up. */
const RESUMABLE = new Set(['TOPUP_BANK_UNCERTAIN', 'TOPUP_CARD_REMOVED', 'TOPUP_SETTLE_PENDING']);

/** One line: what the card holds now. */
export function topupLine(t: TopupSnapshot, lang: Lang = 'en'): string {
  const w = wordsIn(lang);
  const what =
    t.method === 'sync'
      ? w('cli.topup.synced')
      : w('cli.topup.done', {
          amount: formatMoney(t.amount, t.currency),
          method: wordOr(w, 'cli.topup.method.', t.method),
        });
  const balance = t.balance === null ? '' : w('cli.topup.balance', { balance: formatMoney(t.balance, t.currency) });
  const offline =
    t.offlineCount === null
      ? ''
      : w('cli.topup.offline', { n: t.offlineCount, amount: formatMoney(t.offlineAmount ?? 0, t.currency) });
  return w('cli.topup.line', { card: t.card, what, balance, offline, id: t.topupId });
}

async function send(
  io: CliIo,
  o: { dataDir?: string; json?: boolean; key?: string },
  body: Record<string, unknown>,
): Promise<void> {
  const key = o.key ?? `topup-${randomUUID()}`;
  const client = await DaemonClient.connectFor(io, o.dataDir);
  const w = words(io);
  let t: TopupSnapshot;
  try {
    t = await client.request<TopupSnapshot>('POST', '/api/v1/topups', body, { 'Idempotency-Key': key });
  } catch (e) {
    if (e instanceof ApiError && RESUMABLE.has(e.code)) {
      const { message, hint } = errorWords(e, w.lang);
      throw said(new ApiError(e.code, message, `${hint}${w('cli.rerunTopup', { key })}`, e.status));
    }
    throw e;
  }
  io.out(o.json ? JSON.stringify(t, null, 2) : topupLine(t, w.lang));
}

/** `cardpost card topup`, `card sync`, `card topups` (docs/daemon.md §9), through the running daemon. */
export function cardTopupCommands(io: CliIo): Command[] {
  const common = (c: Command) =>
    c
      .option('--reader <name>', 'the reader holding the card (default: the only one holding a card)')
      .option('--key <key>', 'Idempotency-Key: re-send an interrupted top-up with the key it printed')
      .option('--data-dir <dir>', "the daemon's data directory (default: $CARDPOST_DATA_DIR, then the usual places)")
      .option('--json', 'print JSON for scripts');
  const topup = common(
    new Command('topup')
      .description('top up the card in a reader (online only): the bank authorises it, the card loads it')
      .requiredOption('--amount <amount>', 'amount, e.g. 200.00')
      .addOption(new Option('--method <method>', 'how the holder pays').choices(['cash', 'account']).default('cash'))
      .option('--currency <code>', 'currency (default: the card’s)'),
  ).action(
    async (o: { amount: string; method: string; currency?: string; reader?: string } & Parameters<typeof send>[1]) => {
      const amount = parseAmount(o.amount);
      if (amount === 0)
        throw catalogueError('CLI_AMOUNT', words(io).lang, { key: 'cli.topup.zero' }, { key: 'cli.topup.zero.todo' });
      await send(io, o, {
        amount,
        method: o.method,
        ...(o.currency !== undefined ? { currency: parseCurrency(o.currency) } : {}),
        ...(o.reader !== undefined ? { reader: o.reader } : {}),
      });
    },
  );
  const sync = common(
    new Command('sync').description(
      'sync the card in a reader (online only): its settled payments stop counting against its offline limits',
    ),
  ).action(async (o: { reader?: string } & Parameters<typeof send>[1]) => {
    await send(io, o, { amount: 0, ...(o.reader !== undefined ? { reader: o.reader } : {}) });
  });
  const day = new Command('topups')
    .description("the day's top-ups and the cash they took (the shop's day, in its time zone)")
    .option('--date <YYYY-MM-DD>', "the shop's day (default: today there)")
    .option('--data-dir <dir>', "the daemon's data directory (default: $CARDPOST_DATA_DIR, then the usual places)")
    .option('--json', 'print JSON for scripts')
    .action(async (o: { date?: string; dataDir?: string; json?: boolean }) => {
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const d = await client.request<TopupDay>(
        'GET',
        `/api/v1/topups${o.date ? `?date=${encodeURIComponent(o.date)}` : ''}`,
      );
      if (o.json) return io.out(JSON.stringify(d, null, 2));
      const w = words(io);
      io.out(w('cli.topups.head', { date: d.date, zone: d.timeZone, n: d.topups.length }));
      for (const c of d.cash) io.out(w('cli.topups.cash', { amount: formatMoney(c.amount, c.currency), n: c.count }));
      for (const t of d.topups)
        io.out(`  ${wordOr(w, 'cli.topup.state.', t.state).padEnd(12)} ${topupLine(t, w.lang)}`);
    });
  return [topup, sync, day];
}
