import { CardpostError } from '../../protocol/errors.js';
import type { CommandApdu } from '../../protocol/apdu/index.js';
import { CLA_PROPRIETARY, CMD, INS } from '../../protocol/commands/index.js';

/**
 * What `POST /api/v1/readers/{name}/apdu` (`cardpost apdu`) may send to a customer's card: commands
 * that read, never ones that sign, load, verify or change a PIN, or personalise (docs/security.md).
 * An allow-list, so a command added to the card later is refused here until someone decides otherwise.
 */
const ISO_READS: ReadonlySet<number> = new Set([
  INS.SELECT,
  INS.GET_RESPONSE,
  0xb0, // READ BINARY
  0xb2, // READ RECORD
  0xca,
  0xcb, // GET DATA
]);
const CBOR_READS: ReadonlySet<number> = new Set([CMD.GET_INFO, CMD.READ_JOURNAL]);

/** CLA bit 0x10: one part of a chained command. */
const CLA_CHAINING = 0x10;

export class RawApduRefusedError extends CardpostError {}

const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
const READS =
  "read commands only (SELECT, GET RESPONSE, READ BINARY, READ RECORD, GET DATA, and the card's GET_INFO and READ_JOURNAL)";

/** Throws RAW_APDU_REFUSED for anything but a whole read command. */
export function checkRawApdu(cmd: CommandApdu): void {
  const refuse = (what: string, hint: string): never => {
    throw new RawApduRefusedError(
      'RAW_APDU_REFUSED',
      `the daemon sends ${READS} as raw APDUs; ${what} is not one`,
      hint,
    );
  };
  if (cmd.cla & CLA_CHAINING)
    refuse(
      'a part of a chained command',
      'send the whole command in one APDU: the daemon chains it when the reader needs that',
    );
  if ((cmd.cla & ~CLA_CHAINING & 0xff) === CLA_PROPRIETARY && cmd.ins === INS.CBOR) {
    const command = cmd.data?.[0];
    if (command !== undefined && CBOR_READS.has(command)) return;
    const name = Object.entries(CMD).find(([, b]) => b === command)?.[0];
    refuse(
      command === undefined
        ? 'a CBOR command without its command byte'
        : `CBOR command ${hex(command)}${name ? ` (${name})` : ''}`,
      'sales, top-ups, PIN changes and personalisation go through their own commands (cardpost sale, cardpost card …), never as raw APDUs',
    );
  }
  if ((cmd.cla & 0x80) === 0 && ISO_READS.has(cmd.ins)) return;
  refuse(
    `INS ${hex(cmd.ins)} with CLA ${hex(cmd.cla)}`,
    'PIN verification and changes go through the sale and card commands; for lab work on a card, stop the daemon and use a PC/SC tool',
  );
}
