/**
 * `GET /v1/cards/{cardId}/block-order` (docs/bank-api.md §14): the bank's signed block order for a
 * revoked card (protocol/record/block-order.ts, docs/protocol.md §7.6) and the authority certificate
 * that signed it, which a counter hands to the card in BLOCK_CARD (§4.8).
 */
import { toHex } from '../bytes.js';
import { MAX_AMOUNT, MAX_COUNTER } from '../commands/messages.js';
import { CardpostError, EncodeError } from '../errors.js';
import {
  BLOCK_REASON,
  decodeBlockOrder,
  decodeCertificate,
  type BlockOrder,
  type BlockReason,
  type Certificate,
} from '../record/index.js';
import { fromBase64url, toBase64url } from './terminal-auth.js';
import { AnswerReader, BankDecodeError } from './json.js';

/** The card id of the path: 16 hex digits (answered in lower case). */
export const BLOCK_ORDER_CARD_ID = /^[0-9a-fA-F]{16}$/;
const DOCS_BLOCK = 'see docs/bank-api.md §14';

/** The words of the answer's `reason` for each block reason of the order (key 3). */
export const BLOCK_REASON_NAMES = {
  lost: BLOCK_REASON.LOST,
  stolen: BLOCK_REASON.STOLEN,
  fraud: BLOCK_REASON.FRAUD,
  withdrawn: BLOCK_REASON.WITHDRAWN,
} as const satisfies Record<string, BlockReason>;
export type BlockReasonName = keyof typeof BLOCK_REASON_NAMES;

export function blockReasonName(reason: BlockReason): BlockReasonName {
  return (Object.keys(BLOCK_REASON_NAMES) as BlockReasonName[]).find((n) => BLOCK_REASON_NAMES[n] === reason)!;
}

/** The path of the block order of `cardId` (16 hex digits). EncodeError otherwise. */
export function blockOrderPath(cardId: string): string {
  if (!BLOCK_ORDER_CARD_ID.test(cardId))
    throw new EncodeError('BLOCK_ORDER_CARD_INVALID', 'cardId must be 16 hex digits', DOCS_BLOCK);
  return `/v1/cards/${cardId.toLowerCase()}/block-order`;
}

export interface BlockOrderAnswerFields {
  /** 16 lowercase hex digits. */
  cardId: string;
  reason: BlockReasonName;
  /** When the bank revoked the card (the order's issuedAt). */
  issuedAt: number;
  /** The sequence of a revocation list that carries the card (the order's listSequence). */
  revocationSequence: number;
  /** The block order envelope. */
  order: Uint8Array;
  /** The kind 4 certificate envelope of the order's signer. */
  authority: Uint8Array;
}

export interface BlockOrderAnswer extends Omit<BlockOrderAnswerFields, 'order' | 'authority'> {
  order: BlockOrder;
  authority: Certificate;
}

/** The answer's text, in the fixed key order of §14. */
export function encodeBlockOrderAnswer(a: BlockOrderAnswerFields): string {
  return JSON.stringify({
    cardId: a.cardId,
    reason: a.reason,
    issuedAt: a.issuedAt,
    revocationSequence: a.revocationSequence,
    order: toBase64url(a.order),
    authority: toBase64url(a.authority),
  });
}

/**
 * A parsed JSON answer as a BlockOrderAnswer (ANSWER_SCHEMA): the order a version 1 block order whose
 * card, reason, time and sequence are the answer's, the authority a certificate; ANSWER_MISMATCH for an
 * order of another card than the one asked for. Signatures are not checked here (the caller and the
 * card check them).
 */
export function decodeBlockOrderAnswer(v: unknown, expect: { cardId: string }): BlockOrderAnswer {
  const r = new AnswerReader(v, 'the block-order answer');
  const cardId = r.text('cardId', /^[0-9a-f]{16}$/);
  const reason = r.text('reason');
  if (!Object.hasOwn(BLOCK_REASON_NAMES, reason))
    throw r.bad('reason', `is not one of ${Object.keys(BLOCK_REASON_NAMES).join(', ')}`);
  const f = {
    cardId,
    reason: reason as BlockReasonName,
    issuedAt: r.int('issuedAt', 0, MAX_AMOUNT),
    revocationSequence: r.int('revocationSequence', 1, MAX_COUNTER),
  };
  const decoded = <T>(field: string, decode: (b: Uint8Array) => T): T => {
    const bytes = fromBase64url(r.text(field));
    if (!bytes || bytes.length === 0) throw r.bad(field, 'is not base64url');
    try {
      return decode(bytes);
    } catch (e) {
      if (e instanceof BankDecodeError || !(e instanceof CardpostError)) throw e;
      throw r.bad(field, `does not decode (${e.code}: ${e.message})`);
    }
  };
  const order = decoded('order', decodeBlockOrder);
  const authority = decoded('authority', decodeCertificate);
  const same: [string, unknown, unknown][] = [
    ['cardId', toHex(order.cardId), f.cardId],
    ['reason', order.reason, BLOCK_REASON_NAMES[f.reason]],
    ['issuedAt', order.issuedAt, f.issuedAt],
    ['revocationSequence', order.listSequence, f.revocationSequence],
  ];
  for (const [name, inOrder, inAnswer] of same) {
    if (inOrder !== inAnswer) throw r.bad(name, `is ${String(inAnswer)}, the order says ${String(inOrder)}`);
  }
  if (f.cardId !== expect.cardId.toLowerCase())
    throw new BankDecodeError(
      'ANSWER_MISMATCH',
      `the block-order answer is for card ${f.cardId}, not ${expect.cardId.toLowerCase()}`,
      'the bank answered another request; report it to the bank',
    );
  return { ...f, order, authority };
}
