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
import { catalogueError, errorWords, wordOr, words, wordsIn, type Lang, type Words } from './cli-lang.js';

/** `cardpost sale` and `cardpost sale cancel`: a card payment through the daemon's local API (docs/daemon.md §9). */

/** A sale's state in words (`cli.sale.state.*`); a state the catalogue does not know, as the API names it. */
export function stateWords(state: string, w: Words = wordsIn('en')): string {
  return wordOr(w, 'cli.sale.state.', state);
}

/** "1 try left", "2 tries left" ("还可试 2 次"). */
export const triesLeft = (n: number, lang: Lang = 'en'): string => wordsIn(lang)('cli.triesLeft', { n });

/** The sale's progress as one line: its state in words, the PIN tries left, and any notice. */
export function saleLine(s: SaleSnapshot, lang: Lang = 'en'): string {
  const w = wordsIn(lang);
  const tries =
    s.state === 'pin' && s.pinTriesLeft !== null ? w('cli.sale.tries', { tries: triesLeft(s.pinTriesLeft, lang) }) : '';
  const notice = s.notice
    ? ` — ${errorWords({ code: s.notice.code, message: s.notice.message, hint: '' }, lang).message}`
    : '';
  return `${stateWords(s.state, w)}${tries}${notice}`;
}

/** The amount of a sale: a money amount above zero, checked here so the merchant reads the CLI's words. */
export function saleAmount(text: string, lang: Lang = 'en'): number {
  const amount = parseAmount(text);
  if (amount === 0) throw catalogueError('CLI_AMOUNT', lang, { key: 'cli.sale.zero' }, { key: 'cli.sale.zero.todo' });
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
      // The command line is checked before the daemon is asked: in --lang, CARDPOST_LANG or the locale's words.
      if (o.amount === undefined)
        throw catalogueError(
          'CLI_USAGE',
          words(io).lang,
          { key: 'cli.sale.noAmount' },
          { key: 'cli.sale.noAmount.todo' },
        );
      const amount = saleAmount(o.amount, words(io).lang);
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const w = words(io);
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
        const line = saleLine(snap, w.lang);
        if (!o.json && line !== shown) io.out(w('cli.sale.line', { id: snap.saleId.slice(0, 8), line }));
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
            if (!toldDisplay && !o.json) io.out(w('cli.sale.onDisplay'));
            toldDisplay = true;
          } else if (s.state === 'pin' && !s.pinOnDevice && s.updatedAt !== askedFor) {
            askedFor = s.updatedAt;
            let pin: string;
            try {
              pin = await prompt.ask(w('cli.sale.pinPrompt', { amount: formatMoney(s.amount, s.currency) }));
            } catch (e) {
              if (!(e instanceof InputEndedError)) throw e;
              // Nobody is there to type it: cancel the sale (its answer is its final state) and say so.
              s = (await cancel()) ?? (await client.request<SaleSnapshot>('GET', `/api/v1/sales/${s.saleId}`));
              if (!o.json) io.out(w('cli.sale.noPin'));
              continue; // shows the state it ended in
            }
            try {
              await client.request('POST', `/api/v1/sales/${s.saleId}/pin`, { pin });
            } catch (e) {
              if (e instanceof CardpostError && e.code === 'PIN_FORMAT') {
                const said = errorWords(e, w.lang);
                io.out(`${said.message}; ${said.hint}`);
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
            w('cli.sale.receipt', {
              amount: formatMoney(r.amount, r.currency),
              card: r.card,
              record: r.recordId,
              balance: formatMoney(r.balanceAfter, r.currency),
            }),
          );
          io.out(r.online ? w('cli.sale.online') : w('cli.sale.offline'));
        }
        return;
      }
      if (!o.json && s.error) {
        const said = errorWords(s.error, w.lang);
        io.out(
          said.hint
            ? w('cli.sale.error', { code: s.error.code, ...said })
            : `${s.error.code}${w('cli.colon')}${said.message}`,
        );
      }
      io.setExitCode(EXIT.NEGATIVE);
    });

  sale
    .command('cancel')
    .description("cancel a sale in progress (the only one, or the one whose id is given); takes sale's --data-dir")
    .argument('[id]', 'the sale id (or its first characters, as the sale command prints them)')
    .option('--json', 'print JSON for scripts')
    .action(async (id: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<Common>();
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const w = words(io);
      const { active } = await client.request<{ active: SaleSnapshot[] }>('GET', '/api/v1/sales');
      const matching =
        id === undefined
          ? active
          : active.filter((a) => a.saleId === id || (id.length >= 4 && a.saleId.startsWith(id)));
      if (matching.length !== 1) {
        const which = active
          .map((a) =>
            w('cli.cancel.item', {
              id: a.saleId,
              amount: formatMoney(a.amount, a.currency),
              state: stateWords(a.state, w),
            }),
          )
          .join(w('cli.semi'));
        throw catalogueError(
          'CLI_USAGE',
          w.lang,
          matching.length === 0
            ? id === undefined
              ? { key: 'cli.cancel.none' }
              : { key: 'cli.cancel.noId', params: { id } }
            : { key: 'cli.cancel.many', params: { n: matching.length } },
          active.length === 0 ? { key: 'cli.cancel.nothing' } : { key: 'cli.cancel.which', params: { which } },
        );
      }
      const done = await client.request<SaleSnapshot>(
        'POST',
        `/api/v1/sales/${encodeURIComponent(matching[0]!.saleId)}/cancel`,
      );
      if (o.json) return json(io, done);
      io.out(w('cli.sale.line', { id: done.saleId.slice(0, 8), line: stateWords(done.state, w) }));
      if (done.state !== 'cancelled') io.setExitCode(EXIT.NEGATIVE);
    });

  sale.addCommand(saleReceiptCommand(io)); // a receipt again, marked COPY (day-commands.ts)
  sale.addCommand(saleVoidCommand(io)); // the card gives the sale back (money-back-commands.ts)
  return sale;
}
