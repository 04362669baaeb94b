import { randomUUID } from 'node:crypto';
import { Command, Option } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
import type { TopupDay } from '../card-services/card-services.js';
import type { TopupSnapshot } from '../card-services/topup-types.js';
import type { CliIo } from './crypto-command.js';
import { ApiError } from './api-error.js';
import { DaemonClient } from './api-client.js';
import { formatMoney } from './format.js';
import { parseAmount, parseCurrency } from './parse.js';

/** Codes after which the same request, re-sent with the same key, finishes the top-up. */
const RESUMABLE = new Set(['TOPUP_BANK_UNCERTAIN', 'TOPUP_CARD_REMOVED', 'TOPUP_SETTLE_PENDING']);

/** One line: what the card holds now. */
export function topupLine(t: TopupSnapshot): string {
  const what = t.method === 'sync' ? 'synced' : `topped up ${formatMoney(t.amount, t.currency)} (${t.method})`;
  const bal = t.balance === null ? '' : `: balance ${formatMoney(t.balance, t.currency)}`;
  const offline =
    t.offlineCount === null
      ? ''
      : `; offline since the bank's last settled payment: ${t.offlineCount} payment${t.offlineCount === 1 ? '' : 's'}, ${formatMoney(t.offlineAmount ?? 0, t.currency)}`;
  return `card ${t.card} ${what}${bal}${offline} [${t.topupId}]`;
}

async function send(
  io: CliIo,
  o: { dataDir?: string; json?: boolean; key?: string },
  body: Record<string, unknown>,
): Promise<void> {
  const key = o.key ?? `topup-${randomUUID()}`;
  const client = DaemonClient.connect(o.dataDir);
  let t: TopupSnapshot;
  try {
    t = await client.request<TopupSnapshot>('POST', '/api/v1/topups', body, { 'Idempotency-Key': key });
  } catch (e) {
    if (e instanceof ApiError && RESUMABLE.has(e.code))
      throw new ApiError(
        e.code,
        e.message,
        `${e.hint} — to finish it, run the same command with --key ${key}`,
        e.status,
      );
    throw e;
  }
  io.out(o.json ? JSON.stringify(t, null, 2) : topupLine(t));
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
        throw new CardpostError('CLI_AMOUNT', 'a top-up of 0 is a sync', 'use `cardpost card sync` instead');
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
      const client = DaemonClient.connect(o.dataDir);
      const d = await client.request<TopupDay>(
        'GET',
        `/api/v1/topups${o.date ? `?date=${encodeURIComponent(o.date)}` : ''}`,
      );
      if (o.json) return io.out(JSON.stringify(d, null, 2));
      io.out(`top-ups on ${d.date} (${d.timeZone}): ${d.topups.length}`);
      for (const c of d.cash)
        io.out(`  cash taken: ${formatMoney(c.amount, c.currency)} in ${c.count} top-up${c.count === 1 ? '' : 's'}`);
      for (const t of d.topups) io.out(`  ${t.state.padEnd(12)} ${topupLine(t)}`);
    });
  return [topup, sync, day];
}
