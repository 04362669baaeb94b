/**
 * The settlement of one batch inside its transaction, written once for every backend. The order of
 * work is the contract of docs/clearing.md: the idempotency row first, then the batch's cards locked
 * in card-id order, then each record under those locks (sales before reversals, as the simulated bank
 * does: docs/bank-api.md §4.4), then the stored answer. A backend supplies only the statements (LedgerTx).
 */
import { bytesEqual } from '../../protocol/bytes.js';
import { reversalProblem } from '../../protocol/bank/reversal.js';
import { newestCertificates } from '../../protocol/bank/verify-records.js';
import { CardpostError } from '../../protocol/errors.js';
import {
  REJECT_REASON,
  encodeBatchResponse,
  type BatchResponse,
  type RecordResult,
  type RejectReason,
} from '../../protocol/bank/verdicts.js';
import {
  jsonAmount,
  type BatchItem,
  type BatchToSettle,
  type Evidence,
  type LedgerTestHooks,
  type Revocation,
  type SettleOutcome,
  type SettledRecord,
  type StoredAnswer,
  type VerifiedRecord,
} from './ledger.js';

/** Future tolerance of a record's time (as the simulated bank). */
export const RECORD_FUTURE_SKEW_S = 300;

/** A settled record's link in its card's hash chain. */
export interface ChainLink {
  hash: Uint8Array;
  prevHash: Uint8Array;
  settledAt: number;
  batchId: string;
}

/** The statements of one open transaction; every call runs inside it. */
export interface LedgerTx {
  /** Write the key row (terminal, batch id, body hash) unless it exists; the existing row when it does (after waiting for its writer). */
  claimKey(terminalId: string, batchId: string, bodyHash: Uint8Array, now: number): Promise<StoredAnswer | undefined>;
  /**
   * Lock the cards' rows, creating missing ones, in the order given (sorted by the caller). A card
   * gets its certificate from `certificates` when it has none on file or that one ends later.
   */
  lockCards(cardIds: readonly string[], certificates?: CardCertificates): Promise<void>;
  /** The settled records counter−1 … counter+1 of a card. */
  neighbourhood(cardId: string, counter: number): Promise<Map<number, ChainLink>>;
  settledRecord(cardId: string, counter: number): Promise<SettledRecord | undefined>;
  insertSettled(r: SettledRecord): Promise<void>;
  /** Ignored when the same conflicting record is already kept as this kind of evidence. */
  insertEvidence(e: Evidence, conflictingHash: Uint8Array): Promise<void>;
  revocation(cardId: string): Promise<Revocation | undefined>;
  /** true when the card was not revoked before. */
  revoke(cardId: string, reason: string, at: number): Promise<boolean>;
  storeAnswer(terminalId: string, batchId: string, answer: string, accepted: number, records: number): Promise<void>;
  /**
   * Optional, once the cards are locked: read in one go what the batch's records will ask (these
   * keys, and the revocations of these cards), so that those reads are answered from memory. Sound
   * because every writer of a card's rows holds its lock, which this batch now does.
   */
  prefetch?(keys: readonly { cardId: string; counter: number }[], cardIds: readonly string[]): Promise<void>;
  /** Optional: write what the transaction deferred (settled rows), before the answer is stored. */
  flush?(): Promise<void>;
}

const CARD_ID = /^[0-9a-f]{16}$/;
const BATCH_ID = /^[0-9a-f]{32}$/;
const iso = (t: number): string => new Date(t * 1000).toISOString().replace('.000Z', 'Z');

/** The card certificates of a batch to file (newestCertificates), with the time they are filed. */
export interface CardCertificates {
  byCard: ReadonlyMap<string, { certificate: Uint8Array; notAfter: number }>;
  at: number;
}

function cardCertificatesOf(items: readonly BatchItem[]): CardCertificates['byCard'] {
  return newestCertificates(
    items.flatMap((it) =>
      'record' in it
        ? [
            {
              cardId: it.record.cardId,
              certificate: it.record.certificateFromBatch,
              notAfter: it.record.certificateNotAfter ?? 0,
            },
          ]
        : [],
    ),
  );
}

/** Refuse a card id that is not 16 lowercase hex digits (the operator's input reaches here through the service). */
export function checkCardId(cardId: string): void {
  if (!CARD_ID.test(cardId))
    throw new CardpostError(
      'CARD_ID_INVALID',
      `card id "${cardId}" is not 16 lowercase hex digits`,
      'give the card id as printed on the card statement, e.g. 0011223344556677',
    );
}

/** Refuse a batch the caller built wrongly before any transaction starts (a bug in the verifier, not bad input). */
export function checkBatchShape(b: BatchToSettle): void {
  const bad = (what: string): never => {
    throw new CardpostError(
      'CLEARING_BATCH_INVALID',
      `the batch handed to the ledger is not well formed: ${what}`,
      'a verifier bug: the ledger takes batches built by the verifier (host/clearing/ledger.ts BatchToSettle)',
    );
  };
  if (!BATCH_ID.test(b.batchId)) bad('batchId must be 32 lowercase hex digits');
  if (b.terminalId === '') bad('terminalId is empty');
  if (b.bodyHash.length !== 32) bad('bodyHash must be a SHA-256 (32 bytes)');
  if (b.items.length === 0) bad('no items');
  if (!Number.isSafeInteger(b.now) || !(b.windowSeconds > 0)) bad('now and windowSeconds must be positive integers');
  const seen = new Set<number>();
  for (const it of b.items) {
    if (!Number.isInteger(it.index) || it.index < 0 || it.index >= b.items.length || seen.has(it.index))
      bad(`index ${it.index} is not a unique position 0…${b.items.length - 1}`);
    seen.add(it.index);
    if ('record' in it) {
      const r = it.record;
      if (!CARD_ID.test(r.cardId)) bad(`item ${it.index}: card id must be 16 lowercase hex digits`);
      if (!Number.isSafeInteger(r.counter) || r.counter < 1) bad(`item ${it.index}: counter must be ≥ 1`);
      if (r.terminalId !== b.terminalId) bad(`item ${it.index}: the record names another terminal`);
      if (!Number.isSafeInteger(r.amount) || r.amount < 0) bad(`item ${it.index}: amount must be a safe integer ≥ 0`);
    }
  }
}

/** The whole batch, inside the transaction `tx`. Throws IDEMPOTENCY_KEY_REUSED (the caller rolls back). */
export async function settleInTransaction(
  tx: LedgerTx,
  b: BatchToSettle,
  hooks: LedgerTestHooks = {},
): Promise<SettleOutcome> {
  const at = { terminalId: b.terminalId, batchId: b.batchId };
  const pause = async (point: Parameters<NonNullable<LedgerTestHooks['pause']>>[0], index?: number) => {
    if (hooks.pause) await hooks.pause(point, index === undefined ? at : { ...at, index });
  };

  // 1. the idempotency row first: a concurrent request with the same key waits here for our outcome
  const stored = await tx.claimKey(b.terminalId, b.batchId, b.bodyHash, b.now);
  if (stored) {
    if (!bytesEqual(stored.bodyHash, b.bodyHash))
      throw new CardpostError(
        'IDEMPOTENCY_KEY_REUSED',
        `batch ${b.batchId} was settled before with a different request body`,
        'a retry must send the identical body; new work needs a new batch id',
      );
    return { kind: 'replayed', answer: stored.answer };
  }
  await pause('key-claimed');

  // 2. the batch's cards, locked in card-id order: two batches over the same cards never deadlock
  const cards = [...new Set(b.items.flatMap((it) => ('record' in it ? [it.record.cardId] : [])))].sort();
  await tx.lockCards(cards, { byCard: cardCertificatesOf(b.items), at: b.now });
  await pause('cards-locked');
  if (tx.prefetch) {
    const keys = b.items.flatMap((it) => {
      if (!('record' in it)) return [];
      const { cardId, counter, reverses } = it.record;
      const around = [counter - 1, counter, counter + 1, ...(reverses !== undefined ? [reverses] : [])];
      return around.filter((n) => n >= 1).map((n) => ({ cardId, counter: n }));
    });
    await tx.prefetch(keys, cards);
  }

  // 3. each record under the locks; sales first, so a void settles with its sale in one batch
  const results: RecordResult[] = [];
  const newlyRevoked: string[] = [];
  const sales = new Map<number, bigint>();
  const reversed = new Map<number, bigint>();
  let reversedCount = 0;
  const ordered = [
    ...b.items.filter((it) => !('record' in it) || it.record.reverses === undefined),
    ...b.items.filter((it) => 'record' in it && it.record.reverses !== undefined),
  ];
  for (const it of ordered) {
    if ('refused' in it) {
      results.push({ ...it.refused, index: it.index });
      continue;
    }
    const r = await settleOne(tx, b, it.record);
    const recordId = `${it.record.cardId}:${it.record.counter}`;
    results.push({ index: it.index, recordId, ...r.verdict });
    if (r.revoked) newlyRevoked.push(it.record.cardId);
    if (r.verdict.verdict === 'accepted') {
      const { currency, amount } = it.record;
      if (it.record.reverses === undefined) sales.set(currency, (sales.get(currency) ?? 0n) + BigInt(amount));
      else {
        reversedCount++;
        reversed.set(currency, (reversed.get(currency) ?? 0n) + BigInt(amount));
      }
    }
    await pause('record-done', it.index);
  }
  results.sort((x, y) => x.index - y.index);

  // 4. the answer, stored in the same transaction as the work it describes
  const counts = { accepted: 0, duplicate: 0, rejected: 0 };
  for (const x of results) counts[x.verdict]++;
  const perCurrency = (m: Map<number, bigint>) =>
    Object.fromEntries([...m].sort((x, y) => x[0] - y[0]).map(([c, a]) => [String(c), jsonAmount(a)]));
  const response: BatchResponse = {
    batchId: b.batchId,
    terminalId: b.terminalId,
    settledAt: b.now,
    results,
    counts,
    accepted: { count: counts.accepted, amount: perCurrency(sales) },
    ...(reversedCount > 0 ? { reversed: { count: reversedCount, amount: perCurrency(reversed) } } : {}),
  };
  const answer = encodeBatchResponse(response);
  if (tx.flush) await tx.flush();
  await tx.storeAnswer(b.terminalId, b.batchId, answer, counts.accepted, results.length);
  await pause('before-commit');
  return { kind: 'settled', answer, response, newlyRevoked: [...new Set(newlyRevoked)] };
}

type Decided = { verdict: Omit<RecordResult, 'index' | 'recordId'>; revoked?: boolean };
const rejected = (reason: RejectReason, detail: string): Decided => ({
  verdict: { verdict: 'rejected', reason, detail },
});

/** One record's verdict (docs/bank-api.md §4.3, from DOUBLE_SPEND on), with its writes. */
async function settleOne(tx: LedgerTx, b: BatchToSettle, rec: VerifiedRecord): Promise<Decided> {
  const { cardId, counter } = rec;
  const around = await tx.neighbourhood(cardId, counter);
  const existing = around.get(counter);
  const evidence = (kind: Evidence['kind'], settledEnvelope: Uint8Array, detail: string) =>
    tx.insertEvidence(
      {
        kind,
        cardId,
        counter,
        settledEnvelope,
        conflictingEnvelope: rec.envelope,
        terminalId: b.terminalId,
        batchId: b.batchId,
        detectedAt: b.now,
        detail,
      },
      rec.hash,
    );

  if (existing) {
    if (bytesEqual(existing.hash, rec.hash))
      return {
        verdict: { verdict: 'duplicate', detail: `settled ${iso(existing.settledAt)} in batch ${existing.batchId}` },
      };
    // Two different records with one (card, counter): evidence and revocation commit with this batch or not at all.
    const detail = `card ${cardId} signed two different records with counter ${counter}; the card is revoked`;
    const settled = (await tx.settledRecord(cardId, counter))!;
    await evidence('double-spend', settled.envelope, detail);
    const revoked = await tx.revoke(cardId, `double spend at counter ${counter}`, b.now);
    return { ...rejected(REJECT_REASON.DOUBLE_SPEND, detail), revoked };
  }
  const revocation = await tx.revocation(cardId);
  if (revocation && !(revocation.settlesSignedUntil !== null && rec.time <= revocation.settlesSignedUntil))
    return rejected(REJECT_REASON.REVOKED, `card ${cardId} is on the revocation list`);
  if (rec.time < b.now - b.windowSeconds)
    return rejected(
      REJECT_REASON.RECORD_EXPIRED,
      `record time ${iso(rec.time)} is older than the ${Math.round(b.windowSeconds / 86400)}-day settlement window`,
    );
  if (rec.time > b.now + RECORD_FUTURE_SKEW_S)
    return rejected(
      REJECT_REASON.RECORD_EXPIRED,
      `record time ${iso(rec.time)} is more than ${RECORD_FUTURE_SKEW_S} s in the future`,
    );
  // Chain neighbours, read under the card's lock: a gap is fine, a link that does not match is a fork.
  const prev = counter > 1 ? around.get(counter - 1) : undefined;
  const next = around.get(counter + 1);
  let broken: { neighbour: number; detail: string } | undefined;
  if (prev && !bytesEqual(prev.hash, rec.prevHash))
    broken = { neighbour: counter - 1, detail: `prevHash does not match the settled record ${cardId}:${counter - 1}` };
  else if (next && !bytesEqual(next.prevHash, rec.hash))
    broken = {
      neighbour: counter + 1,
      detail: `the settled record ${cardId}:${counter + 1} does not link to this record`,
    };
  if (!broken && rec.reverses !== undefined) {
    const sale = await tx.settledRecord(cardId, rec.reverses);
    const why = reversalProblem(cardId, { ...rec, reverses: rec.reverses }, sale, b.terminalId);
    if (why) return rejected(why.reason, why.detail);
  }
  if (broken) {
    await evidence('chain-broken', (await tx.settledRecord(cardId, broken.neighbour))!.envelope, broken.detail);
    return rejected(REJECT_REASON.CHAIN_BROKEN, broken.detail);
  }

  await tx.insertSettled({
    cardId,
    counter,
    envelope: rec.envelope,
    hash: rec.hash,
    prevHash: rec.prevHash,
    amount: rec.amount,
    currency: rec.currency,
    merchantId: rec.merchantId,
    terminalId: b.terminalId,
    recordTime: rec.time,
    batchId: b.batchId,
    settledAt: b.now,
    ...(rec.reverses !== undefined ? { reverses: rec.reverses } : {}),
  });
  return rec.reverses === undefined
    ? { verdict: { verdict: 'accepted' } }
    : { verdict: { verdict: 'accepted', detail: `reversal of ${cardId}:${rec.reverses}: the sale is voided` } };
}
