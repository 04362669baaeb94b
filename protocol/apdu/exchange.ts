import { DecodeError } from '../errors.js';
import {
  CLA_CHAINING_BIT,
  SHORT_MAX_DATA,
  SHORT_MAX_LE,
  encodeCommandApdu,
  needsExtendedLength,
  type CommandApdu,
} from './command.js';
import { splitForChaining } from './chaining.js';
import { decodeResponseApdu, type ResponseApdu } from './response.js';

/**
 * The one contract every card path implements (PC/SC reader, a terminal's tunnelled slot, an
 * in-process simulator, a fuzzer): send one APDU, get one response APDU. Everything ISO 7816-4
 * layers on top — chaining, 61xx/GET RESPONSE, 6Cxx — is done once, here, not per transport.
 */
export interface ApduTransport {
  transmit(apdu: Uint8Array): Promise<Uint8Array>;
}

export interface ExchangeOptions {
  /** The reader and card both accept extended-length APDUs (else long commands are chained). */
  extendedLength: boolean;
  /** Refuse to accumulate more response bytes than this (a misbehaving card could loop on 61xx). */
  maxResponseBytes?: number;
  /** Largest data field per chained part (default 255). */
  chunkSize?: number;
}

export const INS_GET_RESPONSE = 0xc0;
const DEFAULT_MAX_RESPONSE = 65536;
const MAX_WRONG_LE_RETRIES = 2;

/**
 * Send a command and return the complete response, following ISO 7816-4 §5.3.4:
 * - long data: extended APDU where allowed, otherwise a chain of short APDUs (CLA bit 0x10);
 * - 6Cxx: resend the same command with Le = xx;
 * - 61xx: GET RESPONSE with the command's own class (not a fixed 00: libfido2 #816) until done,
 *   also after commands that sent Le=00 and still got 61xx (some cards do: libfido2 #818).
 * Status words other than these are returned, not thrown: the caller knows what they mean.
 */
export async function exchange(
  transport: ApduTransport,
  cmd: CommandApdu,
  opts: ExchangeOptions,
): Promise<ResponseApdu> {
  const maxResponse = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
  const cla = cmd.cla & ~CLA_CHAINING_BIT;
  let parts: CommandApdu[];
  if (!needsExtendedLength(cmd) || opts.extendedLength) {
    parts = [cmd];
  } else {
    // Short APDUs only: chain the data; an Le above 256 becomes 00 and the rest arrives via 61xx.
    const shortCmd: CommandApdu = { ...cmd };
    if (shortCmd.le !== undefined && shortCmd.le > SHORT_MAX_LE) shortCmd.le = SHORT_MAX_LE;
    parts = splitForChaining(shortCmd, opts.chunkSize ?? SHORT_MAX_DATA);
  }

  for (let i = 0; i < parts.length - 1; i++) {
    const r = decodeResponseApdu(await transport.transmit(encodeCommandApdu(parts[i]!, 'short')));
    if (r.sw !== 0x9000) return r; // the card refused a part of the chain: its reason is the answer
  }

  let last = parts[parts.length - 1]!;
  let response = decodeResponseApdu(await transport.transmit(encodeCommandApdu(last)));
  for (let tries = 0; response.sw >> 8 === 0x6c && tries < MAX_WRONG_LE_RETRIES; tries++) {
    last = { ...last, le: response.sw & 0xff || 256 };
    response = decodeResponseApdu(await transport.transmit(encodeCommandApdu(last)));
  }

  if (response.sw >> 8 !== 0x61) return response;
  const chunks: Uint8Array[] = [response.data];
  let total = response.data.length;
  // A card that keeps saying 61xx while sending little or nothing must not keep the host forever:
  // a well-behaved card needs at most one round per 256 bytes.
  const maxRounds = Math.ceil(maxResponse / 256) + 2;
  for (let rounds = 0; response.sw >> 8 === 0x61; rounds++) {
    if (rounds >= maxRounds) {
      throw new DecodeError(
        'APDU_RESPONSE_TOO_LONG',
        `card still answers 61xx after ${rounds} GET RESPONSE rounds`,
        'the card keeps answering 61xx; remove and re-insert it, and report the card if it persists',
      );
    }
    const le = response.sw & 0xff || 256;
    response = decodeResponseApdu(
      await transport.transmit(encodeCommandApdu({ cla, ins: INS_GET_RESPONSE, p1: 0, p2: 0, le }, 'short')),
    );
    total += response.data.length;
    if (total > maxResponse) {
      throw new DecodeError(
        'APDU_RESPONSE_TOO_LONG',
        `card response exceeds ${maxResponse} bytes`,
        'the card keeps answering 61xx; remove and re-insert it, and report the card if it persists',
      );
    }
    chunks.push(response.data);
  }
  const data = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    data.set(c, off);
    off += c.length;
  }
  return { data, sw: response.sw };
}
