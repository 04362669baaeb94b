/**
 * The types of the host's queue database, shared by its modules (card-chains.ts, record-queue.ts,
 * batches.ts, sales.ts, audit-log.ts) and their facade (host-store.ts). Each state column has a CHECK
 * constraint whose values are the const arrays below (migrations.ts; test/unit/store-schema.test.ts
 * holds the two equal).
 */
import type { RecordVerdict as BankRecordVerdict } from '../../protocol/bank/verdicts.js';
import type { SaleState } from '../sale/sale-types.js';

/** `held`: kept as evidence and never sent to the bank by the host (a record that does not answer its sale). */
export const RECORD_STATUSES = ['pending', 'sending', 'settled', 'duplicate', 'rejected', 'held'] as const;
export type RecordStatus = (typeof RECORD_STATUSES)[number];

export const RECORD_ORIGINS = ['sale', 'recovered'] as const;
export type RecordOrigin = (typeof RECORD_ORIGINS)[number];

/** A settlement batch: sent and not answered (re-sent byte for byte until it is), or answered. */
export const BATCH_STATES = ['sending', 'answered'] as const;
export type BatchState = (typeof BATCH_STATES)[number];

/** What a card's chain head rests on: a verified record, or an unsigned GET_INFO observation. */
export const HEAD_SOURCES = ['record', 'observed'] as const;
export type HeadSource = (typeof HEAD_SOURCES)[number];

/**
 * The values of `SaleState` (host/sale/sale-types.ts), as the CHECK of `sales.state` lists them.
 * `satisfies` keeps every entry a SaleState; SALE_STATES_COMPLETE fails to compile when SaleState
 * gains a state this list lacks. A new state then needs a migration that rebuilds `sales` (as 3 does).
 */
export const SALE_STATES = [
  'waiting_card',
  'reading_card',
  'pin',
  'signing',
  'stored',
  'done',
  'cancelled',
  'timed_out',
  'failed',
  'unconfirmed',
] as const satisfies readonly SaleState[];
type MissingSaleStates = Exclude<SaleState, (typeof SALE_STATES)[number]>;
/** Compiles only while SALE_STATES lists every SaleState (`true` is assignable to `never` otherwise not). */
export const SALE_STATES_COMPLETE: [MissingSaleStates] extends [never] ? true : MissingSaleStates = true;

export type StoreOutcome = { recordId: string; seq: number; already: boolean } | { forkOf: string };

export interface StoreRecordOptions {
  origin: RecordOrigin;
  saleId?: string;
  /** Keep the record out of settlement, with why (status 'held', an audit line). */
  hold?: { reason: string; detail: string };
}

/** One stored record, as the queue and the API show it. */
export interface QueuedRecord {
  seq: number;
  recordId: string;
  cardId: string;
  counter: number;
  amount: number;
  currency: number;
  merchantId: string;
  terminalId: string;
  recordTime: number;
  balanceAfter: number;
  cvm: number;
  origin: RecordOrigin;
  saleId: string | null;
  status: RecordStatus;
  batchId: string | null;
  reason: string | null;
  detail: string | null;
  storedAt: number;
  settledAt: number | null;
  /** A reversal (a void, docs/protocol.md §4.9): the counter of the sale it gives back; null for a sale. */
  reverses: number | null;
}

export interface ChainHeadRow {
  counter: number;
  hash: Uint8Array;
  source: HeadSource;
}

export interface CurrencyTotal {
  currency: number;
  count: number;
  amount: number;
}

/** Records not yet final at the bank (pending or in a batch in flight). */
export interface UnsettledSummary {
  count: number;
  byCurrency: CurrencyTotal[];
  oldestStoredAt: number | null;
}

/** A batch as kept: its id and the request body bytes (protocol/bank/batch.ts), re-sent unchanged until answered. */
export interface BatchRow {
  batchId: string;
  body: Uint8Array;
  records: number;
  attempts: number;
  createdAt: number;
}

/**
 * The bank's answer for one record of a batch (docs/bank-api.md §4.2), as the store applies it: the
 * decoded verdict of protocol/bank/verdicts.ts. The reason is kept as text (the `reason` column also
 * holds why the host holds a record), so any reason string is accepted here.
 */
export type RecordVerdict = Omit<BankRecordVerdict, 'reason'> & { reason?: string };

export interface SaleRow {
  saleId: string;
  requestKey: string | null;
  amount: number;
  currency: number;
  reader: string | null;
  state: string;
  recordId: string | null;
  paidOnline: number | null;
  errorCode: string | null;
  errorText: string | null;
  /** The card SIGN_TXN was sent to: the sale may be paid from then on, whatever happened to the answer. */
  signCardId: string | null;
  /** The merchant and terminal ids the sale asked the card to sign with (null in rows from before they were kept). */
  merchantId: string | null;
  terminalId: string | null;
  createdAt: number;
  updatedAt: number;
}

export const u8 = (b: Buffer | Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
export const b64url = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
