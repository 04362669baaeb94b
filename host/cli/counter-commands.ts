import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { CardpostError } from '../../protocol/errors.js';
import { LIFECYCLE } from '../../protocol/commands/index.js';
import type { ReaderInfo } from '../readers/reader-hub.js';
import type { CardSummary } from '../sale/sale-engine.js';
import type { SettlementStatus } from '../settlement/settlement-worker.js';
import type { QueuedRecord, RecordStatus, UnsettledSummary } from '../store/host-store.js';
import type { Reconciliation } from '../settlement/reconcile.js';
import type { CliIo } from './crypto-command.js';
import { DaemonClient } from './api-client.js';
import { EXIT } from './exit-codes.js';
import { currencyCode, formatAge, formatMoney } from './format.js';
import { common, json, sleep, type Common } from './daemon-options.js';
import { saleCommand } from './sale-command.js';
import { catalogueError, errorWords, wordOr, words, wordsIn, type Lang, type Words } from './cli-lang.js';
import { refundCommands } from './money-back-commands.js';

/**
 * The counter's everyday commands. They talk to the running daemon through its local API (the
 * daemon owns the readers and the queue), so they work the same with PC/SC readers, a serial
 * terminal or the demo's simulated card.
 */

type SettlementBody = SettlementStatus & {
  counts: Record<RecordStatus, { count: number; amount: number }>;
  unsettled: UnsettledSummary;
};

/** The reader named, else the one holding a card, else the only one; a typed CLI_READER error otherwise. */
export async function pickReader(client: DaemonClient, name: string | undefined, lang: Lang = 'en'): Promise<string> {
  if (name) return name;
  const { readers } = await client.request<{ readers: ReaderInfo[] }>('GET', '/api/v1/readers');
  const withCard = readers.filter((r) => r.cardPresent);
  if (withCard.length === 1) return withCard[0]!.name;
  if (readers.length === 1) return readers[0]!.name;
  throw readers.length === 0
    ? catalogueError('CLI_READER', lang, { key: 'cli.reader.none' }, { key: 'cli.reader.none.todo' })
    : catalogueError(
        'CLI_READER',
        lang,
        { key: 'cli.reader.many', params: { n: withCard.length } },
        { key: 'cli.reader.many.todo', params: { names: readers.map((r) => `"${r.name}"`).join(', ') } },
      );
}

function unsettledLine(u: UnsettledSummary, w: Words): string {
  if (u.count === 0) return w('cli.unsettled.none');
  const amounts = u.byCurrency.map((c) => formatMoney(c.amount, c.currency)).join(' + ');
  const age = formatAge(Date.now() - (u.oldestStoredAt ?? Date.now()), w.lang);
  return w('cli.unsettled.some', { n: u.count, amounts, age });
}

/** A record's status in words ("pending" in English, as the API says it). */
const recordStatus = (w: Words, status: string): string => wordOr(w, 'cli.record.', status);

export function counterCommands(io: CliIo): Command[] {
  const readers = common(new Command('readers').description('list the card readers the daemon sees')).action(
    async (o: Common) => {
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const w = words(io);
      const { readers: list } = await client.request<{ readers: ReaderInfo[] }>('GET', '/api/v1/readers');
      if (o.json) return json(io, list);
      if (list.length === 0) io.out(w('cli.readers.none'));
      for (const r of list)
        io.out(
          `${r.name}  [${r.kind}]  ${r.cardPresent ? w('cli.readers.card') : w('cli.readers.noCard')}${r.pinPad ? w('cli.readers.pinPad') : ''}${r.busy ? w('cli.readers.busy') : ''}`,
        );
    },
  );

  const apdu = common(new Command('apdu').description('send one raw APDU (hex) to the card in a reader, between sales'))
    .argument('<hex>', 'the command APDU, e.g. 00A4040007F0435244504F53')
    .option('--reader <name>', 'the reader (default: the one holding a card)')
    .option(
      '--raw',
      "return the card's first answer as is (do not follow 61xx with GET RESPONSE or 6Cxx with a new Le)",
    )
    .action(async (hex: string, o: Common & { reader?: string; raw?: boolean }) => {
      const clean = hex.replace(/\s+/g, '');
      if (!/^([0-9a-fA-F]{2}){4,}$/.test(clean))
        throw new CardpostError(
          'CLI_USAGE',
          `"${hex}" is not an APDU in hex`,
          'give at least CLA INS P1 P2 as hex, e.g. 00A40400',
        );
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const reader = await pickReader(client, o.reader, words(io).lang);
      const r = await client.request<{ response: string; sw: string }>(
        'POST',
        `/api/v1/readers/${encodeURIComponent(reader)}/apdu`,
        { apdu: clean, ...(o.raw ? { raw: true } : {}) },
      );
      if (o.json) return json(io, { reader, ...r });
      io.out(r.response.toUpperCase());
      if (r.sw !== '9000' && !r.sw.startsWith('61')) io.setExitCode(EXIT.NEGATIVE);
    });

  const sale = saleCommand(io);

  const queue = common(
    new Command('queue').description('the signed records on this counter and their settlement status'),
  )
    .addOption(
      new Option('--status <status>', 'only these').choices([
        'pending',
        'sending',
        'settled',
        'duplicate',
        'rejected',
        'held',
      ]),
    )
    .option('--limit <n>', 'at most this many records', '50')
    .action(async (o: Common & { status?: RecordStatus; limit: string }) => {
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const w = words(io);
      const q = new URLSearchParams({
        limit: String(Math.min(Math.max(Number(o.limit) || 50, 1), 1000)),
        ...(o.status ? { status: o.status } : {}),
      });
      const r = await client.request<{
        summary: { counts: Record<RecordStatus, { count: number }>; unsettled: UnsettledSummary };
        records: (QueuedRecord & { advice?: string })[];
      }>('GET', `/api/v1/queue?${q}`);
      if (o.json) return json(io, r);
      io.out(unsettledLine(r.summary.unsettled, w));
      io.out(
        Object.entries(r.summary.counts)
          .map(([k, v]) => `${recordStatus(w, k)} ${v.count}`)
          .join(w('cli.comma')),
      );
      for (const rec of r.records) {
        io.out(
          `${rec.recordId.padEnd(28)} ${formatMoney(rec.amount, rec.currency).padStart(12)}  ${recordStatus(w, rec.status)}${rec.origin === 'recovered' ? w('cli.record.recovered') : ''}${rec.reason ? ` ${rec.reason}: ${rec.advice ?? ''}` : ''}`,
        );
      }
    });
  queue
    .command('export')
    .description("every record with its signature and card certificate (JSON), for audit; takes queue's --data-dir")
    .option('--json', 'JSON (the only format; accepted for symmetry)')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<Common & { out?: string }>();
      const client = DaemonClient.connect(o.dataDir); // JSON only: no words to say
      const res = await client.stream('/api/v1/queue/export');
      const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
      if (o.out) await pipeline(body, createWriteStream(o.out, { mode: 0o600 }));
      else await pipeline(body, process.stdout, { end: false });
    });

  const settle = common(new Command('settle').description('settle the queue with the bank now, with progress'))
    .option('--timeout <seconds>', 'give up waiting after this long', '120')
    .action(async (o: Common & { timeout: string }) => {
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const w = words(io);
      let st = await client.request<SettlementBody>('POST', '/api/v1/settlement');
      const total = st.unsettled.count;
      const deadline = Date.now() + (Number(o.timeout) || 120) * 1000;
      const bar =
        !o.json && total > 0 && process.stderr.isTTY
          ? new cliProgress.SingleBar(
              { format: w('cli.settle.bar'), stream: process.stderr },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      bar?.start(total, 0, { state: wordOr(w, 'cli.settle.state.', st.state) });
      let lastLine = '';
      while (st.unsettled.count > 0 && Date.now() < deadline) {
        await sleep(200);
        st = await client.request<SettlementBody>('GET', '/api/v1/settlement');
        bar?.update(total - st.unsettled.count, { state: wordOr(w, 'cli.settle.state.', st.state) });
        // why it waits, at once
        const why = st.state !== 'sending' && st.lastError ? `: ${errorWords(st.lastError, w.lang).message}` : '';
        const line = w('cli.settle.progress', {
          done: total - Math.min(total, st.unsettled.count),
          total,
          state: wordOr(w, 'cli.settle.state.', st.state),
          why,
        });
        if (!bar && !o.json && line !== lastLine) io.out(line);
        lastLine = line;
        if (st.state === 'blocked' && st.lastError) break;
      }
      bar?.stop();
      if (o.json) json(io, st);
      else {
        io.out(unsettledLine(st.unsettled, w));
        const rejected = st.counts.rejected.count;
        if (rejected) io.out(w('cli.settle.rejected', { n: rejected }));
        const held = st.counts.held?.count ?? 0;
        if (held) io.out(w('cli.settle.held', { n: held }));
      }
      if (st.unsettled.count > 0) {
        if (!o.json && st.lastError) io.out(w('cli.settle.notFinished', { ...errorWords(st.lastError, w.lang) }));
        else if (!o.json) io.out(st.online ? w('cli.settle.late') : w('cli.settle.offline'));
        io.setExitCode(EXIT.UNAVAILABLE);
      }
    });

  const reconcile = common(
    new Command('reconcile').description(
      "compare this counter's settled totals for a shop day (its time zone, shop.timeZone) with the bank's",
    ),
  )
    .option('--date <YYYY-MM-DD>', "the shop's day (default: today there)")
    .action(async (o: Common & { date?: string }) => {
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const w = words(io);
      const r = await client.request<Reconciliation>(
        'GET',
        `/api/v1/reconciliation${o.date === undefined ? '' : `?date=${encodeURIComponent(o.date)}`}`,
      );
      const date = r.date;
      if (o.json) json(io, r);
      else {
        if (r.lines.length === 0) io.out(w('cli.reconcile.none', { date }));
        for (const l of r.lines) {
          io.out(
            w('cli.reconcile.line', {
              date,
              currency: currencyCode(l.currency),
              hostCount: l.host.count,
              hostAmount: formatMoney(l.host.amount, l.currency),
              bankCount: l.bank.count,
              bankAmount: formatMoney(l.bank.amount, l.currency),
              verdict: l.match ? w('cli.match') : w('cli.different'),
            }),
          );
        }
      }
      if (!r.match) io.setExitCode(EXIT.NEGATIVE);
    });

  return [readers, apdu, sale, ...refundCommands(io), queue, settle, reconcile];
}

/** What the card's life cycle means at the counter, in one line (docs/protocol.md §6.1). */
export function cardStateLine(c: Pick<CardSummary, 'lifecycle'>, lang: Lang = 'en'): string {
  const w = wordsIn(lang);
  switch (c.lifecycle) {
    case LIFECYCLE.BLANK:
      return w('cli.card.blank');
    case LIFECYCLE.PERSONALISED:
      return w('cli.card.personalised');
    case LIFECYCLE.ACTIVE:
      return w('cli.card.active');
    case LIFECYCLE.PIN_BLOCKED: // the English words are the card status's hint (CARD_STATUS.PIN_BLOCKED …)
      return w('cli.card.pinBlocked');
    case LIFECYCLE.TERMINATED:
      return w('cli.card.terminated');
    case LIFECYCLE.BLOCKED:
      return w('cli.card.blocked');
    default:
      return w('cli.card.unknown', { lifecycle: c.lifecycle });
  }
}

/** `cardpost card info`: the card in a reader, read through the daemon (with journal recovery). */
export function cardInfoCommand(io: CliIo): Command {
  return common(new Command('info').description('read the card in a reader: id, balance, counter, PIN tries, limits'))
    .option('--reader <name>', 'the reader (default: the one holding a card)')
    .action(async (o: Common & { reader?: string }) => {
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const w = words(io);
      const reader = await pickReader(client, o.reader, w.lang);
      const c = await client.request<CardSummary>('GET', `/api/v1/readers/${encodeURIComponent(reader)}/card`);
      if (o.json) return json(io, c);
      const cur = c.currency ?? 156;
      io.out(w('cli.card.in', { card: c.cardId, reader: c.reader }));
      io.out(cardStateLine(c, w.lang));
      io.out(w('cli.card.balance', { balance: formatMoney(c.balance, cur), counter: c.counter, tries: c.pinRetries }));
      if (c.limits)
        io.out(
          w('cli.card.limits', {
            perPayment: formatMoney(c.limits.perTransaction, cur),
            noPin: formatMoney(c.limits.noPin, cur),
            offline: formatMoney(c.offlineAmount, cur),
            offlineMax: formatMoney(c.limits.offlineAmount, cur),
          }),
        );
      io.out(w('cli.card.validUntil', { date: new Date(c.notAfter * 1000).toISOString().slice(0, 10) }));
      if (c.recovered.length) io.out(w('cli.card.recovered', { ids: c.recovered.join(', ') }));
    });
}
