/**
 * What every front end of the clearing service calls (docs/clearing.md "Front ends"): the HTTP API of
 * docs/bank-api.md and the ISO 8583 acquirer front end both settle through this one contract, so a
 * record is verified and ledgered the same way whichever link brought it.
 *
 * `settle` verifies outside any transaction (terminal of each record, certificate chain, limits, card
 * signature: on a pool of verifier workers) and then settles the batch in ONE ledger transaction. It
 * is idempotent on (terminalId, batchId): the same body gets the stored answer byte for byte
 * (`replayed`), another body throws IDEMPOTENCY_KEY_REUSED.
 */
import type { BatchResponse } from '../../protocol/bank/verdicts.js';
import type { CurrencyTotal } from './ledger.js';

export interface SettleBatchRequest {
  /** The authenticated terminal (records naming another are WRONG_TERMINAL). */
  terminalId: string;
  /** 32 lowercase hex digits; the idempotency key, scoped to the terminal. */
  batchId: string;
  /** SHA-256 of what identifies the request's content (the HTTP body; for ISO: see the acquirer). */
  bodyHash: Uint8Array;
  /** Signed record envelopes, base64url (RFC 4648 §5, no padding), at most 1000. */
  records: readonly string[];
  /** Card certificate envelopes, base64url. */
  certificates: readonly string[];
}

export interface SettledBatch {
  /** The answer exactly as stored (encodeBatchResponse): what a replay returns byte for byte. */
  answer: string;
  response: BatchResponse;
  replayed: boolean;
}

export interface ClearingCore {
  settle(req: SettleBatchRequest): Promise<SettledBatch>;
  /** Accepted sales and reversals of a terminal settled in [from, to), per currency. */
  totals(terminalId: string, from: number, to: number): Promise<{ sales: CurrencyTotal[]; reversals: CurrencyTotal[] }>;
  /** Bank time, Unix seconds. */
  now(): number;
}
