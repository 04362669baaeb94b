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

const REFUND_WORDS: Record<RefundSnapshot['state'], string> = {
  queued: 'queued: it is given back at the card’s next tap while the bank answers',
  requested: 'asked of the bank; finished at the card’s next tap',
  authorised: 'authorised by the bank; loaded at the card’s next tap',
  credited: 'given back to the card',
  failed: 'not given back',
};

export function refundLine(r: RefundSnapshot): string {
  const bal = r.balance === null ? '' : ` (balance ${formatMoney(r.balance, r.currency)})`;
  const why = r.error && r.state !== 'credited' ? ` — ${r.error.code}: ${r.error.message}` : '';
  return `refund ${formatMoney(r.amount, r.currency)} of sale ${r.saleId.slice(0, 8)} to card ${r.card}: ${REFUND_WORDS[r.state]}${bal}${why} [${r.refundId}]`;
}

export function voidLine(v: VoidSnapshot): string {
  return v.state === 'voided'
    ? `sale ${v.saleId.slice(0, 8)} voided: ${formatMoney(v.amount, v.currency)} back on card ${v.card} [${v.reversalId}]`
    : `sale ${v.saleId.slice(0, 8)}: void ${v.state}${v.error ? ` — ${v.error.code}: ${v.error.message}` : ''}`;
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
      const client = DaemonClient.connect(o.dataDir);
      const v = await client.request<VoidSnapshot>(
        'POST',
        `/api/v1/sales/${encodeURIComponent(saleId)}/void`,
        o.reader ? { reader: o.reader } : {},
      );
      if (o.json) return json(io, v);
      io.out(voidLine(v));
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
    const client = DaemonClient.connect(o.dataDir);
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
      if (e instanceof ApiError && e.status >= 500)
        throw new ApiError(e.code, e.message, `${e.hint} — run the same command with --key ${key}`, e.status);
      throw e;
    }
    if (o.json) return json(io, r);
    io.out(refundLine(r));
    if (r.state === 'failed') io.setExitCode(EXIT.NEGATIVE);
  });
  const day = common(
    new Command('refunds')
      .description("the day's voids and refunds, and what they gave back (the shop's day, in its time zone)")
      .option('--date <YYYY-MM-DD>', "the shop's day (default: today there)"),
  ).action(async (o: Common & { date?: string }) => {
    const client = DaemonClient.connect(o.dataDir);
    const d = await client.request<{
      date: string;
      timeZone: string;
      voided: { currency: number; count: number; amount: number }[];
      credited: { currency: number; count: number; amount: number }[];
      voids: VoidSnapshot[];
      refunds: RefundSnapshot[];
    }>('GET', `/api/v1/refunds${o.date ? `?date=${encodeURIComponent(o.date)}` : ''}`);
    if (o.json) return json(io, d);
    io.out(`voids and refunds on ${d.date} (${d.timeZone})`);
    for (const t of d.voided) io.out(`  voided:   ${formatMoney(t.amount, t.currency)} in ${t.count}`);
    for (const t of d.credited) io.out(`  refunded: ${formatMoney(t.amount, t.currency)} in ${t.count}`);
    for (const v of d.voids) io.out(`  ${voidLine(v)}`);
    for (const r of d.refunds) io.out(`  ${refundLine(r)}`);
  });
  return [refund, day];
}
