import type { CardpostError } from '../../protocol/errors.js';
import type { BatchAnswer } from './bank-client.js';

/**
 * How the settlement worker reaches whoever settles its batches: the bank's HTTP API (BankClient,
 * docs/bank-api.md) or an acquirer over ISO 8583 (Iso8583Link, docs/iso8583.md). Both take the batch
 * exactly as the queue stored it (the JSON of bank-api.md §4.1) and give one verdict per record, in
 * order; a failure whose outcome is unknown is a BankError with `outcome: 'unknown'`, and the worker
 * re-sends the same batch, which the other end answers from its store.
 */
export interface SettlementLink {
  /** Where it settles, for logs and the settlement status. */
  readonly url: string;
  /** The most records one batch may hold on this link (the worker's batch size is capped to it). */
  readonly maxBatchRecords?: number;
  health(): Promise<{ ok: boolean; time?: number; problem?: CardpostError }>;
  submitBatch(batchId: string, body: Uint8Array, expectedRecords: number): Promise<BatchAnswer>;
}
