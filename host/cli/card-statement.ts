import { Command } from 'commander';
import { STATEMENT_DEFAULT, STATEMENT_MAX, type CardStatement } from '../sale/statement.js';
import type { CliIo } from './crypto-command.js';
import { DaemonClient } from './api-client.js';
import { formatMoney } from './format.js';
import { pickReader } from './counter-commands.js';
import { catalogueError, words, wordsIn, type Lang } from './cli-lang.js';

const when = (t: number) => new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

/** The statement as the CLI prints it: balance, then one line per payment, newest first. */
export function statementLines(s: CardStatement, lang: Lang = 'en'): string[] {
  const w = wordsIn(lang);
  const out = [
    w('cli.statement.head', { card: s.cardId, reader: s.reader, balance: formatMoney(s.balance, s.currency) }),
  ];
  if (s.entries.length === 0) {
    out.push(w('cli.statement.empty'));
    return out;
  }
  out.push(w('cli.statement.last', { n: s.entries.length }));
  for (const e of s.entries)
    out.push(
      w('cli.statement.line', {
        time: when(e.time),
        amount: formatMoney(e.amount, e.currency).padStart(12),
        merchant: e.merchantId,
        terminal: e.terminalId,
        balance: formatMoney(e.balanceAfter, e.currency),
        counter: e.counter,
      }),
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
      const lang = words(io).lang; // the command line is checked before the daemon is asked
      if (!/^[0-9]{1,3}$/.test(o.limit) || Number(o.limit) < 1 || Number(o.limit) > STATEMENT_MAX)
        throw catalogueError(
          'CLI_USAGE',
          lang,
          { key: 'cli.statement.badLimit', params: { max: STATEMENT_MAX, limit: o.limit } },
          { key: 'cli.statement.badLimit.todo', params: { n: STATEMENT_DEFAULT } },
        );
      if (o.reader !== undefined && (o.reader.length === 0 || o.reader.length > 200))
        throw catalogueError('CLI_USAGE', lang, { key: 'cli.badReader' }, { key: 'cli.badReader.todo' });
      const client = await DaemonClient.connectFor(io, o.dataDir);
      const w = words(io);
      const reader = await pickReader(client, o.reader, w.lang);
      const s = await client.request<CardStatement>(
        'GET',
        `/api/v1/readers/${encodeURIComponent(reader)}/statement?limit=${o.limit}`,
      );
      if (o.json) return io.out(JSON.stringify(s, null, 2));
      for (const line of statementLines(s, w.lang)) io.out(line);
    });
}
