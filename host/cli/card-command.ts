import { randomInt } from 'node:crypto';
import { Command, Option } from 'commander';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { CardpostError } from '../../protocol/errors.js';
import { CardClient, LIFECYCLE, isValidPin, personalizeCard } from '../../protocol/commands/index.js';
import type { CardReader } from '../../protocol/transport.js';
import { PcscReaderSource } from '../transports/pcsc/pcsc-reader.js';
import { nextSerial, openIssuerDir, randomCardId } from '../issuer/issuer-dir.js';
import type { CliIo } from './crypto-command.js';
import { parseAmount, parseCurrency } from './parse.js';
import { cardInfoCommand } from './counter-commands.js';
import { cardStatementCommand } from './card-statement.js';
import { cardTopupCommands } from './card-topup.js';
import { cardPinCommands } from './card-pin.js';
import { DaemonClient } from './api-client.js';
import { formatMoney } from './format.js';
import { SecretPrompt } from './prompt.js';
import { readSecret, secretOnCommandLine } from './secret-input.js';
import { catalogueError, wordOr, words } from './cli-lang.js';

/** `card personalize` on a card that is not blank (CARD_ALREADY_PERSONALISED, docs/errors.md). */
function alreadyPersonalised(reader: string, lifecycle: number, cardId: Uint8Array | undefined): CardpostError {
  const id = cardId ? ` ${toHex(cardId)}` : '';
  const pinToChange = lifecycle === LIFECYCLE.PERSONALISED;
  return new CardpostError(
    'CARD_ALREADY_PERSONALISED',
    `the card${id} in ${reader} is already personalised${pinToChange ? ' (its holder has not chosen a PIN yet)' : ''}; nothing was changed`,
    pinToChange
      ? 'a card is personalised once: use a blank card; for this one the holder chooses a PIN with cardpost card change-pin'
      : 'a card is personalised once: use a blank card (cardpost card info shows what this one holds)',
  );
}

/** The first PC/SC reader (or the one named) with a card in it. */
async function pcscCard(
  readerName: string | undefined,
  timeoutMs: number,
): Promise<{ reader: CardReader; close: () => void }> {
  const source = await PcscReaderSource.open({ extendedLength: true });
  try {
    const reader = await source.waitForReader((n) => readerName === undefined || n === readerName, timeoutMs);
    if (!reader.cardPresent) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(
              new CardpostError('NO_CARD', `no card in ${reader.name}`, 'insert the card and run the command again'),
            ),
          timeoutMs,
        );
        reader.once('card', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return { reader, close: () => source.close() };
  } catch (e) {
    source.close();
    throw e;
  }
}

/** Uniformly random decimal digits (rejection-free: crypto.randomInt). */
export function randomDigits(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String(randomInt(10));
  return out;
}

/** A PIN or PUK (from a file or stdin), checked by the card's own rule (protocol/commands/pin.ts). */
const digits = (v: string, what: string, min: number, max: number) => {
  const bytes = new TextEncoder().encode(v);
  if (!isValidPin(bytes, min, max))
    throw new CardpostError('CLI_USAGE', `${what} must be ${min} to ${max} digits`, `give ${what} as digits only`);
  return bytes;
};

export function cardCommand(io: CliIo): Command {
  const card = new Command('card').description(
    'work with a card: personalise it (issuer, PC/SC), read it (through the daemon)',
  );

  card
    .command('personalize')
    .description('personalise a blank card through APDUs: the card makes its key, the issuer certifies it')
    .requiredOption('--issuer <dir>', 'issuer directory (cardpost issuer init)')
    .option('--reader <name>', 'PC/SC reader name (default: the first one with a card)')
    .option('--card-id <hex>', '8-byte card id (default: random)')
    .option('--currency <code>', 'purse currency', 'CNY')
    // PIN and PUK never on the command line (ps, shell history): a file, stdin, or a prompt without echo.
    .option(
      '--pin-file <path>',
      'transport PIN (4 to 12 digits) the holder must change before paying: first line of this file (mode 0600)',
    )
    .option('--pin-stdin', 'transport PIN typed without echo (on a terminal, twice) or the first line of stdin')
    .option('--puk-file <path>', 'PUK, 8 to 12 digits: first line of this file (mode 0600)')
    .option('--puk-stdin', 'PUK typed without echo (on a terminal, twice) or the next line of stdin (after the PIN)')
    .addOption(new Option('--pin <digits>', 'refused: use --pin-file or --pin-stdin').hideHelp())
    .addOption(new Option('--puk <digits>', 'refused: use --puk-file or --puk-stdin').hideHelp())
    .option('--per-transaction <amount>', 'per-transaction limit', '2000.00')
    .option('--pin-free <amount>', 'largest amount paid without PIN', '100.00')
    .option('--offline-amount <amount>', 'cumulative offline amount between online syncs', '10000.00')
    .option('--offline-count <n>', 'payments between online syncs', '500')
    .option('--max-balance <amount>', 'largest balance', '100000.00')
    .option('--years <n>', 'certificate validity', '5')
    .option('--timeout <ms>', 'how long to wait for the reader and the card', '15000')
    .action(async (o: Record<string, string>) => {
      if (o.pin !== undefined || o.puk !== undefined)
        throw secretOnCommandLine(o.pin !== undefined ? '--pin' : '--puk'); // before anything else
      const issuer = openIssuerDir(o.issuer!);
      const cardId = o.cardId ? fromHex(o.cardId) : randomCardId();
      if (cardId.length !== 8)
        throw new CardpostError('CLI_LENGTH', '--card-id must be 8 bytes (16 hex digits)', 'check --card-id');
      const offlineCount = Number(o.offlineCount);
      if (!Number.isSafeInteger(offlineCount) || offlineCount < 0)
        throw new CardpostError('CLI_USAGE', '--offline-count must be a whole number', 'for example 500');
      const limits = {
        perTransaction: parseAmount(o.perTransaction!),
        noPin: parseAmount(o.pinFree!),
        offlineAmount: parseAmount(o.offlineAmount!),
        offlineCount,
        maxBalance: parseAmount(o.maxBalance!),
      };
      // Without a source, every card its own random PIN and PUK, printed once for the holder's letters:
      // a shared default would let anyone who knows it take over a card in the post or reset its PIN.
      let prompt: SecretPrompt | undefined;
      const stdin = () => (prompt ??= new SecretPrompt());
      const flag = (name: string) => (o as Record<string, unknown>)[name] === true; // --pin-stdin, --puk-stdin
      let pin: string | undefined, puk: string | undefined;
      try {
        pin = await readSecret(
          { file: o.pinFile, stdin: flag('pinStdin'), argv: o.pin },
          '--pin',
          stdin,
          'transport PIN',
        );
        puk = await readSecret({ file: o.pukFile, stdin: flag('pukStdin'), argv: o.puk }, '--puk', stdin, 'PUK');
      } finally {
        prompt?.close();
      }
      const pinBytes = digits(pin ?? randomDigits(6), 'the transport PIN', 4, 12);
      const pukBytes = digits(puk ?? randomDigits(8), 'the PUK', 8, 12);
      const { reader, close } = await pcscCard(o.reader, Number(o.timeout) || 15000);
      try {
        const client = new CardClient(reader);
        // A card is personalised once: say so before the card refuses BEGIN with WRONG_STATE.
        const selected = await client.select();
        if (selected.lifecycle !== LIFECYCLE.BLANK)
          throw alreadyPersonalised(reader.name, selected.lifecycle, (await client.getInfo()).cardId);
        const now = Math.floor(Date.now() / 1000);
        const cert = await personalizeCard(client, issuer.ca, {
          cardId,
          algorithm: issuer.ca.key.algorithm,
          currency: parseCurrency(o.currency!),
          limits,
          pin: pinBytes,
          puk: pukBytes,
          notBefore: now - 3600,
          notAfter: now + (Number(o.years) || 5) * 365 * 86400,
          serial: nextSerial(issuer.dir),
        });
        // The validity is cut to the issuer CA's (personalizeCard): say what the card really got.
        io.out(
          `personalised card ${toHex(cardId)} in ${reader.name}; certificate serial ${toHex(cert.serial)}, valid until ${new Date(cert.notAfter * 1000).toISOString().slice(0, 10)}; the holder must change the PIN before paying`,
        );
        const show = new TextDecoder();
        if (pin === undefined)
          io.out(`transport PIN for the holder's PIN letter (shown only now): ${show.decode(pinBytes)}`);
        if (puk === undefined) io.out(`PUK for the holder's PUK letter (shown only now): ${show.decode(pukBytes)}`);
      } finally {
        close();
      }
    });

  // ---- report-lost (docs/daemon.md §9): the bank revokes the card; this counter refuses it at once
  card
    .command('report-lost')
    .description('report a card lost or stolen: the bank blocks it, every counter refuses it, its balance is kept')
    .argument('[cardId]', 'the card id, 16 hex digits (or --reader for a card in a reader)')
    .option('--reader <name>', 'take the card id from the card in this reader')
    .option('--reason <reason>', 'lost or stolen', 'lost')
    .option('--data-dir <dir>', "the daemon's data directory (default: $CARDPOST_DATA_DIR, then the usual places)")
    .option('--json', 'print JSON for scripts')
    .action(
      async (
        cardIdArg: string | undefined,
        o: { reader?: string; reason: string; dataDir?: string; json?: boolean },
      ) => {
        const lang = words(io).lang; // the command line is checked before the daemon is asked
        const usage = (key: string, params?: Record<string, string>) =>
          catalogueError('CLI_USAGE', lang, { key, ...(params ? { params } : {}) }, { key: key + '.todo' });
        if (o.reason !== 'lost' && o.reason !== 'stolen') throw usage('cli.lost.badReason', { reason: o.reason });
        if ((cardIdArg === undefined) === (o.reader === undefined)) throw usage('cli.lost.idOrReader');
        if (cardIdArg !== undefined && !/^[0-9a-fA-F]{16}$/.test(cardIdArg)) throw usage('cli.lost.badId');
        const client = await DaemonClient.connectFor(io, o.dataDir);
        const cardId =
          cardIdArg ??
          (await client.request<{ cardId: string }>('GET', `/api/v1/readers/${encodeURIComponent(o.reader!)}/card`))
            .cardId;
        const r = await client.request<{
          cardId: string;
          reason: string;
          reportedAt: number;
          alreadyReported: boolean;
          balance: number | null;
          balanceCounter: number;
          currency: number | null;
          refusedHere: boolean;
        }>('POST', `/api/v1/cards/${cardId}/lost`, { reason: o.reason });
        if (o.json) return io.out(JSON.stringify(r, null, 2));
        const w = words(io);
        const when = new Date(r.reportedAt * 1000).toISOString().replace('.000Z', 'Z');
        const said = { card: r.cardId, reason: wordOr(w, 'cli.lost.reason.', r.reason), when };
        io.out(r.alreadyReported ? w('cli.lost.already', said) : w('cli.lost.done', said));
        io.out(
          r.balance === null
            ? w('cli.lost.balanceUnknown')
            : w('cli.lost.balance', {
                balance: formatMoney(r.balance, r.currency ?? 156),
                counter: r.balanceCounter,
              }),
        );
        io.out(r.refusedHere ? w('cli.lost.refusedHere') : w('cli.lost.notYet'));
      },
    );

  card.addCommand(cardInfoCommand(io));
  // ---- statement (docs/daemon.md §9): balance and last payments from the card's own signed journal
  card.addCommand(cardStatementCommand(io));
  // ---- topup, sync, topups (docs/daemon.md §9): through the running daemon, online only
  for (const c of cardTopupCommands(io)) card.addCommand(c);
  // ---- change-pin, unblock (docs/daemon.md §9): the PIN service, typed on the customer display
  for (const c of cardPinCommands(io)) card.addCommand(c);
  return card;
}
