import { randomInt } from 'node:crypto';
import { Command } from 'commander';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { CardpostError } from '../../protocol/errors.js';
import { CardClient, isValidPin, personalizeCard } from '../../protocol/commands/index.js';
import type { CardReader } from '../../protocol/transport.js';
import { PcscReaderSource } from '../transports/pcsc/pcsc-reader.js';
import { nextSerial, openIssuerDir, randomCardId } from '../issuer/issuer-dir.js';
import type { CliIo } from './crypto-command.js';
import { parseAmount, parseCurrency } from './parse.js';
import { cardInfoCommand } from './counter-commands.js';

/** The first PC/SC reader (or the one named) with a card in it. */
async function pcscCard(readerName: string | undefined, timeoutMs: number): Promise<{ reader: CardReader; close: () => void }> {
  const source = await PcscReaderSource.open({ extendedLength: true });
  try {
    const reader = await source.waitForReader((n) => readerName === undefined || n === readerName, timeoutMs);
    if (!reader.cardPresent) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new CardpostError('NO_CARD', `no card in ${reader.name}`, 'insert the card and run the command again')), timeoutMs);
        reader.once('card', () => { clearTimeout(t); resolve(); });
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

/** A PIN or PUK from the command line, checked by the card's own rule (protocol/commands/pin.ts). */
const digits = (v: string, what: string, min: number, max: number) => {
  const bytes = new TextEncoder().encode(v);
  if (!isValidPin(bytes, min, max)) throw new CardpostError('CLI_USAGE', `${what} must be ${min} to ${max} digits`, `give ${what} as digits only`);
  return bytes;
};

export function cardCommand(io: CliIo): Command {
  const card = new Command('card').description('work with a card: personalise it (issuer, PC/SC), read it (through the daemon)');

  card.command('personalize')
    .description('personalise a blank card through APDUs: the card makes its key, the issuer certifies it')
    .requiredOption('--issuer <dir>', 'issuer directory (cardpost issuer init)')
    .option('--reader <name>', 'PC/SC reader name (default: the first one with a card)')
    .option('--card-id <hex>', '8-byte card id (default: random)')
    .option('--currency <code>', 'purse currency', 'CNY')
    .option('--pin <digits>', 'transport PIN the holder must change before paying', '0000')
    .option('--puk <digits>', 'PUK, 8 to 12 digits (default: a random one, printed once for the holder\'s PUK letter)')
    .option('--per-transaction <amount>', 'per-transaction limit', '2000.00')
    .option('--pin-free <amount>', 'largest amount paid without PIN', '100.00')
    .option('--offline-amount <amount>', 'cumulative offline amount between online syncs', '10000.00')
    .option('--offline-count <n>', 'payments between online syncs', '500')
    .option('--max-balance <amount>', 'largest balance', '100000.00')
    .option('--years <n>', 'certificate validity', '5')
    .option('--timeout <ms>', 'how long to wait for the reader and the card', '15000')
    .action(async (o: Record<string, string>) => {
      const issuer = openIssuerDir(o.issuer!);
      const cardId = o.cardId ? fromHex(o.cardId) : randomCardId();
      if (cardId.length !== 8) throw new CardpostError('CLI_LENGTH', '--card-id must be 8 bytes (16 hex digits)', 'check --card-id');
      const offlineCount = Number(o.offlineCount);
      if (!Number.isSafeInteger(offlineCount) || offlineCount < 0) throw new CardpostError('CLI_USAGE', '--offline-count must be a whole number', 'for example 500');
      const limits = {
        perTransaction: parseAmount(o.perTransaction!), noPin: parseAmount(o.pinFree!), offlineAmount: parseAmount(o.offlineAmount!),
        offlineCount, maxBalance: parseAmount(o.maxBalance!),
      };
      // Every card its own PUK: a shared default would let anyone who knows it reset the holder's PIN.
      const puk = o.puk ?? randomDigits(8);
      const pinBytes = digits(o.pin!, '--pin', 4, 12);
      const pukBytes = digits(puk, '--puk', 8, 12);
      const { reader, close } = await pcscCard(o.reader, Number(o.timeout) || 15000);
      try {
        const now = Math.floor(Date.now() / 1000);
        const cert = await personalizeCard(new CardClient(reader), issuer.ca, {
          cardId, algorithm: issuer.ca.key.algorithm, currency: parseCurrency(o.currency!), limits,
          pin: pinBytes, puk: pukBytes,
          notBefore: now - 3600, notAfter: now + (Number(o.years) || 5) * 365 * 86400, serial: nextSerial(issuer.dir),
        });
        io.out(`personalised card ${toHex(cardId)} in ${reader.name}; certificate serial ${toHex(cert.serial)}; the holder must change the PIN before paying`);
        if (o.puk === undefined) io.out(`PUK for the holder's PUK letter (shown only now): ${puk}`);
      } finally {
        close();
      }
    });

  card.addCommand(cardInfoCommand(io));
  return card;
}
