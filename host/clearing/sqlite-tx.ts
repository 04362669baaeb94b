/**
 * The statements of one settlement transaction on SQLite (LedgerTx of settle-batch.ts): the same
 * statements as pg-tx.ts in SQLite's dialect, run synchronously inside BEGIN IMMEDIATE.
 */
import type Database from 'better-sqlite3';
import type { CardCertificates, ChainLink, LedgerTx } from './settle-batch.js';
import type { Evidence, Revocation, SettledRecord, StoredAnswer } from './ledger.js';
import {
  EVIDENCE_INSERT_COLUMNS,
  SETTLED_COLUMNS,
  buf,
  evidenceValues,
  revocationFromRow,
  settledFromRow,
  settledValues,
  u8,
  type Row,
} from './rows.js';

/** LedgerTx over the open IMMEDIATE transaction (the whole file is write-locked: cards need no row locks). */
export class SqliteTx implements LedgerTx {
  constructor(private readonly db: Database.Database) {}
  private one(sql: string, ...args: unknown[]): Row | undefined {
    return this.db.prepare(sql).get(...args) as Row | undefined;
  }
  private run(sql: string, ...args: unknown[]): number {
    return this.db.prepare(sql).run(...args).changes;
  }

  async claimKey(terminalId: string, batchId: string, bodyHash: Uint8Array, now: number) {
    const n = this.run(
      'INSERT OR IGNORE INTO batch_keys (terminal_id, batch_id, body_hash, created_at) VALUES (?, ?, ?, ?)',
      terminalId,
      batchId,
      buf(bodyHash),
      now,
    );
    if (n === 1) return undefined;
    const r = this.one(
      'SELECT body_hash, answer, created_at FROM batch_keys WHERE terminal_id = ? AND batch_id = ?',
      terminalId,
      batchId,
    );
    if (!r || typeof r['answer'] !== 'string')
      throw new Error(`batch key ${terminalId}/${batchId} exists without its answer`);
    return { bodyHash: u8(r['body_hash']), answer: r['answer'], settledAt: r['created_at'] as number } as StoredAnswer;
  }
  async lockCards(cardIds: readonly string[], certificates?: CardCertificates): Promise<void> {
    // BEGIN IMMEDIATE holds the database's one write lock: the rows only need to exist, and a card
    // gets the batch's certificate when it has none or that one ends later (as on PostgreSQL).
    const bare = this.db.prepare('INSERT OR IGNORE INTO cards (card_id) VALUES (?)');
    const filed = this.db.prepare(
      `INSERT INTO cards (card_id, certificate, certificate_at, certificate_not_after) VALUES (?, ?, ?, ?)
       ON CONFLICT (card_id) DO UPDATE SET certificate = excluded.certificate, certificate_at = excluded.certificate_at,
         certificate_not_after = excluded.certificate_not_after
       WHERE cards.certificate IS NULL OR cards.certificate_not_after IS NULL
         OR excluded.certificate_not_after > cards.certificate_not_after`,
    );
    for (const id of cardIds) {
      const c = certificates?.byCard.get(id);
      if (c) filed.run(id, buf(c.certificate), certificates!.at, c.notAfter);
      else bare.run(id);
    }
  }

  async neighbourhood(cardId: string, counter: number): Promise<Map<number, ChainLink>> {
    const out = new Map<number, ChainLink>();
    const rows = this.db
      .prepare(
        'SELECT counter, hash, prev_hash, settled_at, batch_id FROM settled_records WHERE card_id = ? AND counter BETWEEN ? AND ?',
      )
      .all(cardId, counter - 1, counter + 1) as Row[];
    for (const r of rows)
      out.set(r['counter'] as number, {
        hash: u8(r['hash']),
        prevHash: u8(r['prev_hash']),
        settledAt: r['settled_at'] as number,
        batchId: r['batch_id'] as string,
      });
    return out;
  }
  async settledRecord(cardId: string, counter: number): Promise<SettledRecord | undefined> {
    const r = this.one(
      `SELECT ${SETTLED_COLUMNS} FROM settled_records WHERE card_id = ? AND counter = ?`,
      cardId,
      counter,
    );
    return r ? settledFromRow(r) : undefined;
  }
  async insertSettled(s: SettledRecord): Promise<void> {
    this.run(
      `INSERT INTO settled_records (${SETTLED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ...settledValues(s),
    );
  }
  async insertEvidence(e: Evidence, conflictingHash: Uint8Array): Promise<void> {
    this.run(
      `INSERT OR IGNORE INTO evidence (${EVIDENCE_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ...evidenceValues(e, conflictingHash),
    );
  }
  async revocation(cardId: string): Promise<Revocation | undefined> {
    const r = this.one(
      'SELECT card_id, reason, revoked_at, settles_signed_until FROM revocations WHERE card_id = ?',
      cardId,
    );
    return r ? revocationFromRow(r) : undefined;
  }
  async revoke(cardId: string, reason: string, at: number): Promise<boolean> {
    return (
      this.run(
        'INSERT OR IGNORE INTO revocations (card_id, reason, revoked_at) VALUES (?, ?, ?)',
        cardId,
        reason,
        at,
      ) === 1
    );
  }
  async storeAnswer(terminalId: string, batchId: string, answer: string, accepted: number, records: number) {
    this.run(
      'UPDATE batch_keys SET answer = ?, accepted = ?, records = ? WHERE terminal_id = ? AND batch_id = ?',
      answer,
      accepted,
      records,
      terminalId,
      batchId,
    );
  }
}
