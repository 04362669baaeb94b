import { Command } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
import type { PinServiceView } from '../card-services/pin-service-view.js';
import type { CliIo } from './crypto-command.js';
import { DaemonClient } from './api-client.js';
import { catalogueError, errorWords, wordOr, words, wordsIn, type Lang } from './cli-lang.js';

/** One line of progress, as the merchant reads it; never any digit. */
export function pinServiceLine(v: PinServiceView, lang: Lang = 'en'): string | undefined {
  const w = wordsIn(lang);
  const card = v.cardLast4 ? w('cli.pin.card', { last4: v.cardLast4 }) : '';
  switch (v.state) {
    case 'waiting_card':
      return w('cli.pin.insert', { reader: v.reader ?? w('cli.pin.theReader') });
    case 'reading':
      return undefined;
    case 'entry': {
      const where = v.entryOnDevice ? w('cli.pin.onDevice') : w('cli.pin.onDisplay');
      const notice = v.notice ? w('cli.pin.notice', { ...errorWords(v.notice, lang) }) : '';
      const what = v.step ? wordOr(w, 'cli.pin.step.', v.step) : w('cli.pin.follow');
      return `${card}${notice}${what}${lang === 'en' ? ' ' : ''}${where}`;
    }
    case 'working':
      return `${card}${w('cli.pin.working')}`;
    case 'done':
      return `${card}${w(v.kind === 'unblock' ? 'cli.pin.unblocked' : v.activation ? 'cli.pin.activated' : 'cli.pin.changed')}`;
    case 'failed':
      return `${card}${v.error ? errorWords(v.error, lang).message : w('cli.pin.failed')}`;
    case 'cancelled':
      return `${card}${wordOr(w, 'cli.pin.cancelledBy.', v.cancelledBy ?? 'merchant')}`;
    case 'timed_out':
      return `${card}${w('cli.pin.timedOut')}`;
  }
}

async function follow(io: CliIo, o: { dataDir?: string; json?: boolean; reader?: string }, kind: 'change' | 'unblock') {
  const client = await DaemonClient.connectFor(io, o.dataDir);
  const w = words(io);
  let v = await client.request<PinServiceView>('POST', '/api/v1/pin-services', {
    kind,
    ...(o.reader !== undefined ? { reader: o.reader } : {}),
  });
  // Ctrl-C at the counter cancels the service, so the card is not left waiting.
  const onSigint = () =>
    void client.request('POST', `/api/v1/pin-services/${v.serviceId}/cancel`).catch(() => undefined);
  process.once('SIGINT', onSigint);
  if (!o.json) io.out(w('cli.pin.never'));
  let shown = '';
  try {
    for (;;) {
      const line = pinServiceLine(v, w.lang);
      if (line && line !== shown && !o.json) io.out(line);
      if (line) shown = line;
      if (v.final) break;
      await new Promise((r) => setTimeout(r, 300));
      v = await client.request<PinServiceView>('GET', `/api/v1/pin-services/${v.serviceId}`);
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (o.json) io.out(JSON.stringify(v, null, 2));
  if (v.state === 'failed' && v.error) throw new CardpostError(v.error.code, v.error.message, v.error.hint);
  if (v.state !== 'done') {
    const code = v.state === 'timed_out' ? 'PIN_SERVICE_TIMED_OUT' : 'PIN_SERVICE_CANCELLED';
    throw catalogueError(code, w.lang, { key: `cli.err.${code}` }, { key: `cli.err.${code}.todo` });
  }
}

/**
 * `cardpost card change-pin` (also a new card's activation) and `card unblock`, through the running
 * daemon (docs/daemon.md §9). The customer types on the customer display or the terminal's keypad;
 * this command only starts and follows the service, so no PIN is ever typed on the merchant's keyboard.
 */
export function cardPinCommands(io: CliIo): Command[] {
  const common = (c: Command) =>
    c
      .option('--reader <name>', 'the reader holding the card (default: the only one holding a card)')
      .option('--data-dir <dir>', "the daemon's data directory (default: $CARDPOST_DATA_DIR, then the usual places)")
      .option('--json', 'print the final state as JSON for scripts');
  type Opts = { reader?: string; dataDir?: string; json?: boolean };
  const change = common(
    new Command('change-pin').description(
      'activate a new card or change its PIN: the customer types on the customer display or the terminal keypad',
    ),
  ).action((o: Opts) => follow(io, o, 'change'));
  const unblock = common(
    new Command('unblock').description(
      "unblock a blocked PIN with the PUK from the issuer's letter (where the issuer allows it at the counter)",
    ),
  ).action((o: Opts) => follow(io, o, 'unblock'));
  return [change, unblock];
}
