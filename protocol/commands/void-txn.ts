import { MapReader, buildMap, type CborMap, type CborValue } from '../cbor/index.js';
import { bytesEqual } from '../bytes.js';
import { HOST_NONCE_LENGTH } from './application.js';
import { MAX_AMOUNT, MAX_COUNTER } from './messages.js';

/**
 * VOID_TXN (docs/protocol.md §4.9): the host asks the card, still at the counter, to void its last
 * sale. The request names the sale by its counter and repeats what the host believes it was (amount,
 * merchant, terminal), so a void can only undo the sale the host means. One encoder and one validating
 * reader, used by host and card alike.
 */
export interface VoidTxnRequest {
  /** The counter of the sale to void: the card's last record. */
  counter: number;
  /** The sale's amount: a void gives back all of it, never more, never less. */
  amount: number;
  merchantId: string;
  terminalId: string;
  /** Host clock, as for SIGN_TXN. */
  time: number;
  /** Fresh per void: a host that lost the answer re-sends the same request and gets the same record. */
  hostNonce: Uint8Array;
}

export const encodeVoidTxnRequest = (q: VoidTxnRequest): CborMap =>
  buildMap([
    [1, q.counter],
    [2, q.amount],
    [3, q.merchantId],
    [4, q.terminalId],
    [5, q.time],
    [6, q.hostNonce],
  ]);

export function readVoidTxnRequest(v: CborValue): VoidTxnRequest {
  const r = new MapReader(v, 'VOID_TXN request', {
    names: { 1: 'counter', 2: 'amount', 3: 'merchantId', 4: 'terminalId', 5: 'time', 6: 'hostNonce' },
  });
  const q: VoidTxnRequest = {
    counter: r.uint(1, { min: 1, max: MAX_COUNTER }),
    amount: r.uint(2, { min: 1, max: MAX_AMOUNT }),
    merchantId: r.text(3, { minLength: 1, maxLength: 32 }),
    terminalId: r.text(4, { minLength: 1, maxLength: 32 }),
    time: r.uint(5, { max: MAX_AMOUNT }),
    hostNonce: r.bytes(6, { length: HOST_NONCE_LENGTH }),
  };
  r.done();
  return q;
}

/**
 * Host and card check: does this reversal record answer this VOID_TXN request? undefined when it does,
 * else what differs (the card answers NONCE_REUSED to a repeated nonce with other data).
 */
export function reversalAnswersRequest(
  record: {
    reverses?: number;
    amount: number;
    merchantId: string;
    terminalId: string;
    time: number;
    hostNonce: Uint8Array;
  },
  q: VoidTxnRequest,
): string | undefined {
  if (record.reverses === undefined) return 'it is a sale, not a reversal';
  if (record.reverses !== q.counter) return `it reverses counter ${record.reverses}, not ${q.counter}`;
  if (record.amount !== q.amount) return `amount ${record.amount} instead of ${q.amount}`;
  if (record.merchantId !== q.merchantId) return 'merchant id differs';
  if (record.terminalId !== q.terminalId) return 'terminal id differs';
  if (record.time !== q.time) return 'time differs';
  if (!bytesEqual(record.hostNonce, q.hostNonce)) return 'host nonce differs';
  return undefined;
}
