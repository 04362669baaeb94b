import { Command } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
import type { PinServiceView } from '../card-services/pin-service-view.js';
import type { CliIo } from './crypto-command.js';
import { DaemonClient } from './api-client.js';

const STEP_TEXT: Record<string, string> = {
  current: 'the customer types the current PIN (for a new card: the PIN in the issuer’s letter)',
  puk: 'the customer types the PUK from the issuer’s letter',
  new: 'the customer chooses a new PIN',
  confirm: 'the customer types the new PIN again',
};

/** One line of progress, as the merchant reads it; never any digit. */
export function pinServiceLine(v: PinServiceView): string | undefined {
  const card = v.cardLast4 ? `card ••${v.cardLast4}: ` : '';
  switch (v.state) {
    case 'waiting_card':
      return `insert or tap the card in ${v.reader ?? 'the reader'}`;
    case 'reading':
      return undefined;
    case 'entry': {
      const where = v.entryOnDevice ? "on the terminal's keypad" : 'on the customer display';
      const notice = v.notice ? `${v.notice.message} (${v.notice.hint}) — ` : '';
      const what = v.step ? STEP_TEXT[v.step] : 'the customer follows the terminal’s prompts';
      return `${card}${notice}${what} ${where}`;
    }
    case 'working':
      return `${card}the card is setting the new PIN…`;
    case 'done':
      return `${card}${v.kind === 'unblock' ? 'PIN unblocked: the new PIN is set' : v.activation ? 'card activated: the new PIN is set' : 'PIN changed'}`;
    case 'failed':
      return `${card}${v.error?.message ?? 'failed'}`;
    case 'cancelled':
      return `${card}cancelled by the ${v.cancelledBy ?? 'merchant'}; nothing was changed`;
    case 'timed_out':
      return `${card}no PIN was typed in time; nothing was changed`;
  }
}

async function follow(io: CliIo, o: { dataDir?: string; json?: boolean; reader?: string }, kind: 'change' | 'unblock') {
  const client = DaemonClient.connect(o.dataDir);
  let v = await client.request<PinServiceView>('POST', '/api/v1/pin-services', {
    kind,
    ...(o.reader !== undefined ? { reader: o.reader } : {}),
  });
  // Ctrl-C at the counter cancels the service, so the card is not left waiting.
  const onSigint = () =>
    void client.request('POST', `/api/v1/pin-services/${v.serviceId}/cancel`).catch(() => undefined);
  process.once('SIGINT', onSigint);
  if (!o.json) io.out("the customer types every PIN on the customer display (or the terminal's keypad), never here");
  let shown = '';
  try {
    for (;;) {
      const line = pinServiceLine(v);
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
  if (v.state !== 'done')
    throw new CardpostError(
      v.state === 'timed_out' ? 'PIN_SERVICE_TIMED_OUT' : 'PIN_SERVICE_CANCELLED',
      v.state === 'timed_out' ? 'no PIN was typed in time' : 'the PIN service was cancelled',
      'nothing was changed on the card: start again when the customer is ready',
    );
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
