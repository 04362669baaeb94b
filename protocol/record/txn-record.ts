import { DecodeError } from '../errors.js';
import { buildMap, type MapReader } from '../cbor/index.js';
import type { SignatureAlgorithm } from '../crypto/index.js';
import { signatureAlgorithmFromCode } from '../crypto/index.js';
import { toHex, bytesEqual } from '../bytes.js';
import { CARD_ID_LENGTH, HASH_LENGTH, HOST_NONCE_LENGTH } from '../commands/application.js';
import { MAX_AMOUNT, MAX_COUNTER, type SignTxnRequest } from '../commands/messages.js';
import { BODY_TYPE, decodeEnvelope, signBody, verifyEnvelope } from './envelope.js';
import { suiteHash, ZERO_HASH } from './hash.js';

/** Cardholder verification the card performed for a record (docs/protocol.md §7.2 key 13). */
export const CVM = { NONE: 0, OFFLINE_PIN: 1 } as const;
export type Cvm = (typeof CVM)[keyof typeof CVM];

export const RECORD_VERSION = 1;

/**
 * What a record does to the purse (docs/protocol.md §7.2 key 14): a sale (key 14 absent: every record
 * signed before voids existed is one, byte for byte) or a reversal, the card's void of the sale it
 * names in key 15 (VOID_TXN, §4.9): the same amount given back, continuing the card's chain.
 */
export const RECORD_KIND = { SALE: 1, REVERSAL: 2 } as const;
export type RecordKind = (typeof RECORD_KIND)[keyof typeof RECORD_KIND];

/** The fields of a signed offline transaction record. */
export interface TxnRecordFields {
  cardId: Uint8Array;
  counter: number;
  amount: number;
  currency: number;
  merchantId: string;
  terminalId: string;
  time: number;
  hostNonce: Uint8Array;
  balanceAfter: number;
  prevHash: Uint8Array;
  algorithm: number;
  cvm: Cvm;
  /** Present only on a reversal (kind 2): the counter of the sale it voids, always `counter − 1`. */
  reverses?: number;
}

/** A record as received: its fields, the exact signed body, the signature and the envelope bytes. */
export interface SignedTxnRecord extends TxnRecordFields {
  body: Uint8Array;
  signature: Uint8Array;
  envelope: Uint8Array;
  /** Suite hash of the body: what the next record's prevHash must be. */
  hash: Uint8Array;
}

const NAMES: Readonly<Record<string, string>> = {
  0: 'type',
  1: 'version',
  2: 'cardId',
  3: 'counter',
  4: 'amount',
  5: 'currency',
  6: 'merchantId',
  7: 'terminalId',
  8: 'time',
  9: 'hostNonce',
  10: 'balanceAfter',
  11: 'prevHash',
  12: 'algorithm',
  13: 'cvm',
  14: 'kind',
  15: 'reverses',
};

/** Is this record a reversal (a void of the sale `reverses` names)? */
export const isReversal = (r: Pick<TxnRecordFields, 'reverses'>): r is { reverses: number } => r.reverses !== undefined;

export function encodeTxnRecordBody(f: TxnRecordFields) {
  return buildMap([
    [0, BODY_TYPE.TXN_RECORD],
    [1, RECORD_VERSION],
    [2, f.cardId],
    [3, f.counter],
    [4, f.amount],
    [5, f.currency],
    [6, f.merchantId],
    [7, f.terminalId],
    [8, f.time],
    [9, f.hostNonce],
    [10, f.balanceAfter],
    [11, f.prevHash],
    [12, f.algorithm],
    [13, f.cvm],
    // A sale writes no kind: its body is exactly what version 1 cards have always signed.
    ...(f.reverses !== undefined
      ? ([
          [14, RECORD_KIND.REVERSAL],
          [15, f.reverses],
        ] as const)
      : []),
  ]);
}

/** The card's side: build and sign a record. */
export function signTxnRecord(
  algorithm: SignatureAlgorithm,
  privateKey: Uint8Array,
  f: TxnRecordFields,
): SignedTxnRecord {
  const { envelope } = signBody(algorithm, privateKey, encodeTxnRecordBody(f));
  return decodeTxnRecord(envelope); // one parse path for what we make and what we receive
}

function readFields(r: MapReader): TxnRecordFields {
  const version = r.uint(1);
  if (version !== RECORD_VERSION) {
    throw new DecodeError(
      'RECORD_VERSION',
      `transaction record version ${version} is not supported`,
      'update cardpost to read newer records',
    );
  }
  const f: TxnRecordFields = {
    cardId: r.bytes(2, { length: CARD_ID_LENGTH }),
    counter: r.uint(3, { min: 1, max: MAX_COUNTER }),
    amount: r.uint(4, { min: 1, max: MAX_AMOUNT }),
    currency: r.uint(5, { min: 1, max: 999 }),
    merchantId: r.text(6, { minLength: 1, maxLength: 32 }),
    terminalId: r.text(7, { minLength: 1, maxLength: 32 }),
    time: r.uint(8, { max: MAX_AMOUNT }),
    hostNonce: r.bytes(9, { length: HOST_NONCE_LENGTH }),
    balanceAfter: r.uint(10, { max: MAX_AMOUNT }),
    prevHash: r.bytes(11, { length: HASH_LENGTH }),
    algorithm: r.uint(12, { min: 1, max: 255 }),
    cvm: r.oneOf(13, [CVM.NONE, CVM.OFFLINE_PIN]),
  };
  // Kind 1 (sale) is written by omission, so each record has one encoding; a reversal names its sale.
  const kind = r.opt.oneOf(14, [RECORD_KIND.REVERSAL]);
  const reverses = r.opt.uint(15, { min: 1, max: MAX_COUNTER });
  r.done();
  if ((kind === undefined) !== (reverses === undefined))
    throw new DecodeError(
      'RECORD_REVERSAL',
      'a reversal record needs both its kind (key 14) and the counter it reverses (key 15), a sale neither',
      'the card does not follow the protocol',
    );
  if (reverses !== undefined) {
    if (reverses !== f.counter - 1 || f.cvm !== CVM.NONE)
      throw new DecodeError(
        'RECORD_REVERSAL',
        `a reversal with counter ${f.counter} must reverse counter ${f.counter - 1} (it names ${reverses}) and carry no cardholder verification`,
        'the card does not follow the protocol',
      );
    f.reverses = reverses;
  }
  signatureAlgorithmFromCode(f.algorithm); // unknown suites are refused here, not at verify time
  if (f.counter === 1 && !bytesEqual(f.prevHash, ZERO_HASH)) {
    throw new DecodeError(
      'RECORD_CHAIN_GENESIS',
      'the first record of a card must have an all-zero prevHash',
      'the card does not follow the protocol',
    );
  }
  return f;
}

/** Strict parse of a record envelope (signature NOT yet checked: use verifyTxnRecord). */
export function decodeTxnRecord(envelope: Uint8Array): SignedTxnRecord {
  const env = decodeEnvelope(envelope, BODY_TYPE.TXN_RECORD, 'transaction record', NAMES);
  const fields = readFields(env.fields);
  return {
    ...fields,
    body: env.body,
    signature: env.signature,
    envelope: envelope.slice(),
    hash: suiteHash(fields.algorithm, env.body),
  };
}

/** Verify a record's signature under the card's public key (from its verified certificate). */
export function verifyTxnRecord(record: SignedTxnRecord, cardPublicKey: Uint8Array): boolean {
  return verifyEnvelope(record.algorithm, cardPublicKey, record);
}

/** `<cardId hex>:<counter>`: the identity of a record in logs, APIs and the bank. */
export function recordId(r: { cardId: Uint8Array; counter: number }): string {
  return `${toHex(r.cardId)}:${r.counter}`;
}

export type ChainCheck = { ok: true } | { ok: false; reason: 'gap' | 'fork' | 'replay' | 'wrong-card'; detail: string };

/**
 * Does `record` continue the chain whose last known link is `prev` (counter and hash)?
 * `prev` undefined means "nothing known yet": only counter 1 links to genesis; a later record is
 * accepted as a new starting point by callers that allow it, so this reports a gap.
 */
export function checkChainLink(
  prev: { cardId: Uint8Array; counter: number; hash: Uint8Array } | undefined,
  record: SignedTxnRecord,
): ChainCheck {
  if (!prev) {
    return record.counter === 1
      ? { ok: true }
      : { ok: false, reason: 'gap', detail: `first record seen has counter ${record.counter}` };
  }
  if (!bytesEqual(prev.cardId, record.cardId))
    return { ok: false, reason: 'wrong-card', detail: 'record is for another card' };
  if (record.counter <= prev.counter)
    return { ok: false, reason: 'replay', detail: `counter ${record.counter} is not after ${prev.counter}` };
  if (record.counter !== prev.counter + 1)
    return { ok: false, reason: 'gap', detail: `counters ${prev.counter + 1}..${record.counter - 1} are missing` };
  if (!bytesEqual(record.prevHash, prev.hash))
    return {
      ok: false,
      reason: 'fork',
      detail: `record ${recordId(record)} does not link to the previous record's hash`,
    };
  return { ok: true };
}

/** Host check: the card signed exactly the sale that was asked (docs/protocol.md §4.3). */
export function recordAnswersRequest(record: TxnRecordFields, request: SignTxnRequest): string | undefined {
  if (isReversal(record)) return `it is a reversal of counter ${record.reverses}, not a sale`;
  if (record.amount !== request.amount) return `amount ${record.amount} instead of ${request.amount}`;
  if (record.currency !== request.currency) return `currency ${record.currency} instead of ${request.currency}`;
  if (record.merchantId !== request.merchantId) return 'merchant id differs';
  if (record.terminalId !== request.terminalId) return 'terminal id differs';
  if (record.time !== request.time) return 'time differs';
  if (!bytesEqual(record.hostNonce, request.hostNonce)) return 'host nonce differs';
  return undefined;
}
