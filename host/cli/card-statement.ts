import { Command } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
import { STATEMENT_DEFAULT, STATEMENT_MAX, type CardStatement } from '../sale/statement.js';
import type { CliIo } from './crypto-command.js';
import { DaemonClient } from './api-client.js';
import { formatMoney } from './format.js';
import { pickReader } from './counter-commands.js';

const when = (t: number) => new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

/** The statement as the CLI prints it: balance, then one line per payment, newest first. */
export function statementLines(s: CardStatement): string[] {
  const out = [`card ${s.cardId} in ${s.reader}: balance ${formatMoney(s.balance, s.currency)}`];
  if (s.entries.length === 0) {
    out.push('no payments on the card yet (its journal is empty)');
    return out;
  }
  out.push(`last ${s.entries.length} payment${s.entries.length === 1 ? '' : 's'}, newest first:`);
  for (const e of s.entries)
    out.push(
      `  ${when(e.time)}  ${formatMoney(e.amount, e.currency).padStart(12)}  merchant ${e.merchantId} (terminal ${e.terminalId})  balance after ${formatMoney(e.balanceAfter, e.currency)}  #${e.counter}`,
    );
  return out;
}

/** `cardpost card statement`: the holder's statement, read from the card's own signed journal through the daemon. */
export function cardStatementCommand(io: CliIo): Command {
  return new Command('statement')
    .description("print the card's balance and its last payments, from the card's own signed journal")
    .option('--reader <name>', 'the reader (default: the one holding a card)')
    .option('--limit <n>', `how many payments, 1 to ${STATEMENT_MAX}`, String(STATEMENT_DEFAULT))
    .option(
      '--data-dir <dir>',
      "the daemon's data directory (default: $CARDPOST_DATA_DIR, ~/.local/share/cardpost, then its demo/)",
    )
    .option('--json', 'print JSON for scripts')
    .action(async (o: { reader?: string; limit: string; dataDir?: string; json?: boolean }) => {
      if (!/^[0-9]{1,3}$/.test(o.limit) || Number(o.limit) < 1 || Number(o.limit) > STATEMENT_MAX)
        throw new CardpostError(
          'CLI_USAGE',
          `--limit must be a whole number from 1 to ${STATEMENT_MAX}, not "${o.limit}"`,
          `e.g. --limit ${STATEMENT_DEFAULT}`,
        );
      if (o.reader !== undefined && (o.reader.length === 0 || o.reader.length > 200))
        throw new CardpostError('CLI_USAGE', '--reader must name a reader', 'list them with `cardpost readers`');
      const client = DaemonClient.connect(o.dataDir);
      const reader = await pickReader(client, o.reader);
      const s = await client.request<CardStatement>(
        'GET',
        `/api/v1/readers/${encodeURIComponent(reader)}/statement?limit=${o.limit}`,
      );
      if (o.json) return io.out(JSON.stringify(s, null, 2));
      for (const line of statementLines(s)) io.out(line);
    });
}
