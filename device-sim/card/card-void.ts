import { bytesEqual } from '../../protocol/bytes.js';
import {
  LIFECYCLE,
  MAX_COUNTER,
  encodeRecordResponse,
  reversalAnswersRequest,
  type CardStatusName,
  type Lifecycle,
  type VoidTxnRequest,
} from '../../protocol/commands/index.js';
import type { CborMap } from '../../protocol/cbor/index.js';
import { CVM, isReversal, signTxnRecord, type SignedTxnRecord, type TopupToken } from '../../protocol/record/index.js';
import { signatureAlgorithmFromCode } from '../../protocol/crypto/index.js';
import type { Nvm } from './nvm.js';
import { K, readIdentity, readPurse, readVoidable, writePurse, writeVoidable } from './card-state.js';

export type VoidOutcome = { status: CardStatusName; result?: CborMap };

/**
 * VOID_TXN as the card executes it (docs/protocol.md §4.9). The card voids only its last record, a
 * sale, while no LOAD has happened since (NVM `voidable` names it): so a sale is voided at most once
 * (the reversal becomes the last record and clears `voidable`), the card needs no search of its
 * journal (which forgets), and once a top-up, sync or refund has been loaded after a sale the sale can
 * only be refunded, which the bank bounds. In one NVM transaction: counter + 1, balance + amount,
 * offline totals back to what they were before the sale, the signed reversal into the journal as the
 * last record, `voidable` cleared.
 */
export function voidTxn(
  nvm: Nvm,
  cfg: { journalCapacity: number },
  q: VoidTxnRequest,
  lifecycle: Lifecycle,
  journalRecord: (counter: number) => SignedTxnRecord | undefined,
): VoidOutcome {
  // The stored life cycle, as LOAD: giving money back needs no PIN, but a card that never became active paid nothing.
  if (lifecycle === LIFECYCLE.BLANK || lifecycle === LIFECYCLE.PERSONALISED) return { status: 'WRONG_STATE' };
  if (lifecycle === LIFECYCLE.TERMINATED) return { status: 'TERMINATED' };
  const id = readIdentity(nvm)!;
  const purse = readPurse(nvm);
  const last = journalRecord(purse.counter);

  // A host that lost the answer re-sends the same request: the same reversal, nothing new.
  if (last && isReversal(last) && bytesEqual(last.hostNonce, q.hostNonce))
    return reversalAnswersRequest(last, q) === undefined
      ? { status: 'OK', result: encodeRecordResponse(last.envelope) }
      : { status: 'NONCE_REUSED' };
  if (last && isReversal(last) && last.reverses === q.counter) return { status: 'ALREADY_VOIDED' };

  const voidable = readVoidable(nvm);
  if (!last || voidable === 0 || voidable !== q.counter || last.counter !== q.counter || isReversal(last))
    return { status: 'VOID_NOT_ALLOWED' };
  if (last.amount !== q.amount || last.merchantId !== q.merchantId || last.terminalId !== q.terminalId)
    return { status: 'VOID_MISMATCH' };
  if (purse.balance + last.amount > id.limits.maxBalance) return { status: 'BALANCE_LIMIT' };
  if (purse.counter >= MAX_COUNTER) return { status: 'COUNTER_EXHAUSTED' };

  const record = signTxnRecord(signatureAlgorithmFromCode(id.algorithm), id.privateKey, {
    cardId: id.cardId,
    counter: purse.counter + 1,
    amount: last.amount,
    currency: last.currency,
    merchantId: q.merchantId,
    terminalId: q.terminalId,
    time: q.time,
    hostNonce: q.hostNonce,
    balanceAfter: purse.balance + last.amount,
    prevHash: purse.lastHash,
    algorithm: id.algorithm,
    cvm: CVM.NONE,
    reverses: last.counter,
  });
  nvm.transaction((tx) => {
    writePurse(tx, purse, {
      ...purse,
      counter: record.counter,
      balance: record.balanceAfter,
      // The sale is undone: it no longer counts against the offline limits. A LOAD clears `voidable`,
      // so no sync has run since the sale and the totals still hold it (the floor is only a guard).
      offlineAmount: Math.max(0, purse.offlineAmount - last.amount),
      offlineCount: Math.max(0, purse.offlineCount - 1),
      lastHash: record.hash,
    });
    tx.set(K.journal(record.counter % cfg.journalCapacity), record.envelope);
    writeVoidable(tx, voidable, 0);
  });
  return { status: 'OK', result: encodeRecordResponse(record.envelope) };
}

/**
 * LOAD of a refund token (docs/protocol.md §4.5): refused when the card voided the sale it refunds, or
 * cannot show it did not. A sale is voided only by the record right after it, so that one record says.
 */
export function refundTokenRefusal(
  token: Pick<TopupToken, 'refundOf'>,
  counter: number,
  journalRecord: (counter: number) => SignedTxnRecord | undefined,
): CardStatusName | undefined {
  const sale = token.refundOf;
  if (sale === undefined || counter === sale) return undefined; // nothing after the sale yet: the LOAD ends its void window
  if (counter < sale) return 'REFUND_UNPROVABLE'; // a sale this card has not signed
  const next = journalRecord(sale + 1);
  if (!next) return 'REFUND_UNPROVABLE';
  return isReversal(next) && next.reverses === sale ? 'REFUND_OF_VOIDED' : undefined;
}
