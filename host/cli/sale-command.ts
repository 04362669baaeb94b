import { Command } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
import { FINAL_STATES, type SaleSnapshot } from '../sale/sale-types.js';
import type { CliIo } from './crypto-command.js';
import { DaemonClient } from './api-client.js';
import { common, json, sleep, type Common } from './daemon-options.js';
import { EXIT } from './exit-codes.js';
import { formatMoney } from './format.js';
import { parseAmount, parseCurrency } from './parse.js';
import { InputEndedError, SecretPrompt } from './prompt.js';
import { saleReceiptCommand } from './day-commands.js';
import { saleVoidCommand } from './money-back-commands.js';

/** `cardpost sale` and `cardpost sale cancel`: a card payment through the daemon's local API (docs/daemon.md §9). */

export const STATE_WORDS: Record<string, string> = {
  waiting_card: 'waiting for the card — insert or tap it',
  reading_card: 'reading the card',
  pin: 'waiting for the PIN',
  signing: 'the card is signing',
  stored: 'stored',
  done: 'paid',
  cancelled: 'cancelled',
  timed_out: 'timed out',
  failed: 'failed',
  unconfirmed: 'NOT CONFIRMED — the card may have paid: insert the same card again to check, do not charge again',
};

/** "1 try left", "2 tries left". */
export const triesLeft = (n: number): string => `${n} ${n === 1 ? 'try' : 'tries'} left`;

/** The sale's progress as one line: its state in words, the PIN tries left, and any notice. */
export function saleLine(s: SaleSnapshot): string {
  const tries = s.state === 'pin' && s.pinTriesLeft !== null ? ` (${triesLeft(s.pinTriesLeft)})` : '';
  return `${STATE_WORDS[s.state] ?? s.state}${tries}${s.notice ? ` — ${s.notice.message}` : ''}`;
}

/** The amount of a sale: a money amount above zero, checked here so the merchant reads the CLI's words. */
export function saleAmount(text: string): number {
  const amount = parseAmount(text);
  if (amount === 0)
    throw new CardpostError('CLI_AMOUNT', 'the amount must be more than 0, e.g. 12.50', 'give it with --amount 12.50');
  return amount;
}

export function saleCommand(io: CliIo): Command {
  const sale = common(
    new Command('sale').description(
      'take a card payment: waits for the card; asks for the PIN when the card needs it (typed without echo, or one line per try on stdin)',
    ),
  )
    .option('--amount <amount>', 'amount, e.g. 12.50 (required to take a sale)')
    .option('--currency <code>', "currency (default: the daemon's)")
    .option(
      '--reader <name>',
      "the reader to use (default: whichever gets a card, but never a serial terminal's slot: name it to use it)",
    )
    .option('--key <idempotency-key>', 'make the request idempotent: the same key never starts a second sale')
    .action(async (o: Common & { amount?: string; currency?: string; reader?: string; key?: string }) => {
      if (o.amount === undefined)
        throw new CardpostError(
          'CLI_USAGE',
          'the sale needs an amount',
          'give it with --amount, e.g. cardpost sale --amount 12.50',
        );
      const amount = saleAmount(o.amount);
      const client = DaemonClient.connect(o.dataDir);
      const body = {
        amount,
        ...(o.currency ? { currency: parseCurrency(o.currency) } : {}),
        ...(o.reader ? { reader: o.reader } : {}),
      };
      let s = await client.request<SaleSnapshot>(
        'POST',
        '/api/v1/sales',
        body,
        o.key ? { 'Idempotency-Key': o.key } : {},
      );
      let shown = '';
      const show = (snap: SaleSnapshot) => {
        const line = saleLine(snap);
        if (!o.json && line !== shown) io.out(`sale ${snap.saleId.slice(0, 8)}: ${line}`);
        shown = line;
      };
      const cancel = () =>
        client.request<SaleSnapshot>('POST', `/api/v1/sales/${s.saleId}/cancel`).catch(() => undefined);
      const stop = () => {
        void cancel();
      };
      process.once('SIGINT', stop);
      // The daemon cancels a sale nobody follows within seconds (a killed command must not leave one that
      // charges the next card): follow it while a slow hand types the PIN too.
      const follow = setInterval(() => {
        void client.request('GET', `/api/v1/sales/${s.saleId}`).catch(() => undefined);
      }, 1000);
      const prompt = new SecretPrompt();
      // sale.pinEntry: on `customer-display` the customer types the PIN there, never at this keyboard.
      const displayOnly =
        (await client.request<{ pinEntry?: string }>('GET', '/api/v1/status').catch(() => ({ pinEntry: undefined })))
          .pinEntry === 'customer-display';
      let toldDisplay = false;
      try {
        let askedFor = -1;
        for (;;) {
          show(s);
          if (FINAL_STATES.has(s.state)) break;
          if (s.state === 'pin' && !s.pinOnDevice && displayOnly) {
            if (!toldDisplay && !o.json) io.out('the customer types the PIN on the customer display (never here)');
            toldDisplay = true;
          } else if (s.state === 'pin' && !s.pinOnDevice && s.updatedAt !== askedFor) {
            askedFor = s.updatedAt;
            let pin: string;
            try {
              pin = await prompt.ask(`PIN for ${formatMoney(s.amount, s.currency)}: `);
            } catch (e) {
              if (!(e instanceof InputEndedError)) throw e;
              // Nobody is there to type it: cancel the sale (its answer is its final state) and say so.
              s = (await cancel()) ?? (await client.request<SaleSnapshot>('GET', `/api/v1/sales/${s.saleId}`));
              if (!o.json) io.out(`no PIN was entered (the input ended): the sale is cancelled, no card was charged`);
              continue; // shows the state it ended in
            }
            try {
              await client.request('POST', `/api/v1/sales/${s.saleId}/pin`, { pin });
            } catch (e) {
              if (e instanceof CardpostError && e.code === 'PIN_FORMAT') {
                io.out(`${e.message}; ${e.hint}`);
                askedFor = -1;
              } else throw e;
            }
          }
          await sleep(100);
          s = await client.request<SaleSnapshot>('GET', `/api/v1/sales/${s.saleId}`);
        }
      } catch (e) {
        await cancel(); // do not leave the reader held by a sale nobody follows
        throw e;
      } finally {
        clearInterval(follow);
        process.off('SIGINT', stop);
        prompt.close();
      }
      if (o.json) json(io, s);
      if (s.state === 'done' && s.receipt) {
        const r = s.receipt;
        if (!o.json) {
          io.out(
            `receipt: ${formatMoney(r.amount, r.currency)} paid by card ${r.card}, record ${r.recordId}, balance left ${formatMoney(r.balanceAfter, r.currency)}`,
          );
          io.out(
            r.online ? 'settles with the bank shortly' : 'offline: stored safely, settles when the network is back',
          );
        }
        return;
      }
      if (!o.json && s.error) io.out(`${s.error.code}: ${s.error.message}${s.error.hint ? `. ${s.error.hint}` : ''}`);
      io.setExitCode(EXIT.NEGATIVE);
    });

  sale
    .command('cancel')
    .description("cancel a sale in progress (the only one, or the one whose id is given); takes sale's --data-dir")
    .argument('[id]', 'the sale id (or its first characters, as the sale command prints them)')
    .option('--json', 'print JSON for scripts')
    .action(async (id: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<Common>();
      const client = DaemonClient.connect(o.dataDir);
      const { active } = await client.request<{ active: SaleSnapshot[] }>('GET', '/api/v1/sales');
      const matching =
        id === undefined
          ? active
          : active.filter((a) => a.saleId === id || (id.length >= 4 && a.saleId.startsWith(id)));
      if (matching.length !== 1) {
        const which = active
          .map((a) => `${a.saleId} (${formatMoney(a.amount, a.currency)}, ${STATE_WORDS[a.state] ?? a.state})`)
          .join('; ');
        throw new CardpostError(
          'CLI_USAGE',
          matching.length === 0
            ? id === undefined
              ? 'no sale is in progress'
              : `no sale in progress has the id ${id}`
            : `${matching.length} sales are in progress`,
          active.length === 0 ? 'nothing to cancel' : `give the id of one: ${which}`,
        );
      }
      const done = await client.request<SaleSnapshot>(
        'POST',
        `/api/v1/sales/${encodeURIComponent(matching[0]!.saleId)}/cancel`,
      );
      if (o.json) return json(io, done);
      io.out(`sale ${done.saleId.slice(0, 8)}: ${STATE_WORDS[done.state] ?? done.state}`);
      if (done.state !== 'cancelled') io.setExitCode(EXIT.NEGATIVE);
    });

  sale.addCommand(saleReceiptCommand(io)); // a receipt again, marked COPY (day-commands.ts)
  sale.addCommand(saleVoidCommand(io)); // the card gives the sale back (money-back-commands.ts)
  return sale;
}
