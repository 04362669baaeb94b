import { toHex } from '../../protocol/bytes.js';
import { CVM, type SignedTxnRecord } from '../../protocol/record/index.js';
import type { QueuedRecord } from '../store/host-store.js';
import { maskCard } from './sale-machine.js';
import type { Receipt } from './sale-types.js';

/** What a receipt says of a signed record, whether the record is at hand (a live sale) or read back from the queue. */
interface ReceiptFacts {
  recordId: string;
  amount: number;
  currency: number;
  merchantId: string;
  terminalId: string;
  time: number;
  cardIdHex: string;
  counter: number;
  balanceAfter: number;
  cvm: number;
}

/** The one receipt builder: the card id masked, "PIN verified" from the record's CVM, never from what the host asked. */
export function buildReceipt(saleId: string, f: ReceiptFacts, online: boolean): Receipt {
  return {
    saleId,
    recordId: f.recordId,
    amount: f.amount,
    currency: f.currency,
    merchantId: f.merchantId,
    terminalId: f.terminalId,
    time: f.time,
    card: maskCard(f.cardIdHex),
    counter: f.counter,
    balanceAfter: f.balanceAfter,
    pinVerified: f.cvm === CVM.OFFLINE_PIN,
    online,
  };
}

export const receiptOfRecord = (saleId: string, recordId: string, r: SignedTxnRecord, online: boolean): Receipt =>
  buildReceipt(saleId, { ...r, recordId, cardIdHex: toHex(r.cardId) }, online);

export const receiptOfQueued = (saleId: string, r: QueuedRecord, online: boolean): Receipt =>
  buildReceipt(saleId, { ...r, time: r.recordTime, cardIdHex: r.cardId }, online);
