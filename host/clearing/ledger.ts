/**
 * The issuer's clearing ledger (docs/clearing.md "Ledger interface"): what settling one batch needs
 * from storage, as one async interface that the PostgreSQL backend (pg-ledger.ts, many API processes
 * in front of one database) and the SQLite backend (sqlite-ledger.ts, one machine) implement with the
 * same semantics. The per-record decisions live once, in settle-batch.ts; a backend only supplies the
 * transaction and its statements (LedgerTx).
 *
 * Records arrive VERIFIED: decoding, terminal, certificate chain, limits and the card signature are
 * checked before, outside the transaction, by stateless verifiers. The ledger decides only what needs
 * the ledger: duplicate, double spend, revocation, time window, chain continuity, reversals.
 */
import type { BatchResponse, RecordResult } from '../../protocol/bank/verdicts.js';

/** A record whose signature and certificate a verifier has checked (docs/bank-api.md §4.3, up to BAD_SIGNATURE). */
export interface VerifiedRecord {
  /** 16 lowercase hex digits. */
  cardId: string;
  counter: number;
  /** The record envelope exactly as received (kept as evidence and for later reads). */
  envelope: Uint8Array;
  /** The record's suite hash (what counter+1's prevHash must be) and its own prevHash. */
  hash: Uint8Array;
  prevHash: Uint8Array;
  amount: number;
  currency: number;
  merchantId: string;
  /** The terminal the record names; the verifier refused it (WRONG_TERMINAL) unless it is the batch's. */
  terminalId: string;
  /** The record's time (card signing time, Unix seconds). */
  time: number;
  /** A reversal (void): the counter of the sale it gives back. */
  reverses?: number;
  /** The card certificate from the batch the verifier used: filed with a card that has none (newestCertificates). */
  certificateFromBatch?: Uint8Array;
  /** That certificate's notAfter (Unix seconds): the later one stays on file (newestCertificates). */
  certificateNotAfter?: number;
}

/** One entry of a batch, at its position: a verified record, or a verdict the verifier reached already. */
export type BatchItem = { index: number; record: VerifiedRecord } | { index: number; refused: RecordResult };

export interface BatchToSettle {
  /** The authenticated terminal (idempotency keys are scoped to it). */
  terminalId: string;
  /** 32 lowercase hex digits: the Idempotency-Key. */
  batchId: string;
  /** SHA-256 of the exact request body: same key + other body is refused. */
  bodyHash: Uint8Array;
  items: readonly BatchItem[];
  /** Bank time of settlement (Unix seconds); the stored answer's settledAt. */
  now: number;
  /** Records older than now − windowSeconds are RECORD_EXPIRED. */
  windowSeconds: number;
}

export type SettleOutcome =
  /** This call did the work and committed it with its answer. `newlyRevoked`: cards revoked by it (re-sign the list). */
  | { kind: 'settled'; answer: string; response: BatchResponse; newlyRevoked: string[] }
  /** The key was settled before with this body: the stored answer, byte for byte; nothing was done. */
  | { kind: 'replayed'; answer: string };

export interface SettledRecord {
  cardId: string;
  counter: number;
  envelope: Uint8Array;
  hash: Uint8Array;
  prevHash: Uint8Array;
  amount: number;
  currency: number;
  merchantId: string;
  terminalId: string;
  recordTime: number;
  batchId: string;
  settledAt: number;
  reverses?: number;
}

export type EvidenceKind = 'double-spend' | 'chain-broken';

export interface Evidence {
  kind: EvidenceKind;
  cardId: string;
  counter: number;
  /** The ledger's record the conflicting one clashes with. */
  settledEnvelope: Uint8Array;
  conflictingEnvelope: Uint8Array;
  terminalId: string;
  batchId: string;
  detectedAt: number;
  detail: string;
}

export interface Revocation {
  cardId: string;
  reason: string;
  revokedAt: number;
  /**
   * Records signed at or before this time still settle (a lost/stolen report: the holder paid before
   * telling anyone, docs/bank-api.md §13); null: nothing settles any more (a double spend, the operator).
   */
  settlesSignedUntil: number | null;
}

export interface CurrencyTotal {
  currency: number;
  count: number;
  /** Exact: a number while ≤ 2^53−1, else its decimal string (docs/bank-api.md §1). */
  amount: number | string;
}

export interface StoredAnswer {
  bodyHash: Uint8Array;
  answer: string;
  settledAt: number;
}

/** Where the settlement of a batch can be paused by a test (an injected hook, never a sleep). */
export type PausePoint = 'key-claimed' | 'cards-locked' | 'record-done' | 'before-commit';

export interface LedgerTestHooks {
  /**
   * Awaited at each pause point inside the batch's transaction, between statements. A test blocks here
   * to hold locks while another connection runs, or throws to make the batch fail half-way (atomicity).
   */
  pause?: (point: PausePoint, at: { terminalId: string; batchId: string; index?: number }) => Promise<void>;
}

export interface ClearingLedger {
  /** Settle one batch in ONE transaction (the order of work: docs/clearing.md). Throws IDEMPOTENCY_KEY_REUSED for a used key with another body. */
  settleBatch(batch: BatchToSettle): Promise<SettleOutcome>;

  /** The answer stored for a batch key, if it was settled. */
  storedAnswer(terminalId: string, batchId: string): Promise<StoredAnswer | undefined>;
  settledRecord(cardId: string, counter: number): Promise<SettledRecord | undefined>;
  /** Every settled record of a card, by counter. */
  settledRecords(cardId: string): Promise<SettledRecord[]>;
  /** The counter up to which every record of the card from counter 1 is settled (0 if counter 1 is not): gaps end it. */
  settledPrefix(cardId: string): Promise<number>;
  /** Evidence kept against a card, oldest first. */
  evidence(cardId: string): Promise<Evidence[]>;
  hasEvidence(cardId: string, counter: number, kind: EvidenceKind): Promise<boolean>;
  revocation(cardId: string): Promise<Revocation | undefined>;
  /** Revoked card ids, sorted (what the signed revocation list carries). */
  revokedCards(): Promise<string[]>;
  /** A card certificate the bank verified before (the verifier's fallback when a batch carries none). */
  cardCertificate(cardId: string): Promise<Uint8Array | undefined>;
  /** The certificates on file for these cards, in one query (a verifier's read before a batch). */
  cardCertificates(cardIds: readonly string[]): Promise<Map<string, Uint8Array>>;
  /** The operator revokes a card (under its lock, like a batch would). false if it was revoked already. */
  revokeCard(cardId: string, reason: string, at: number): Promise<boolean>;
  /** Accepted sales and reversals of one terminal settled in [from, to), per currency (docs/bank-api.md §8). */
  totals(terminalId: string, from: number, to: number): Promise<{ sales: CurrencyTotal[]; reversals: CurrencyTotal[] }>;
  /** Number of settled records (for invariants and tests). */
  settledCount(): Promise<number>;
  close(): Promise<void>;
}

/** A sum as a JSON-safe value: a number while exact, else its decimal string. */
export function jsonAmount(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}
