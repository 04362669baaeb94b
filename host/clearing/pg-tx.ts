/**
 * The statements of one settlement transaction on PostgreSQL (LedgerTx of settle-batch.ts), on one
 * checked-out connection. Every statement is parameterised and named (pg prepares it once per
 * connection). READ COMMITTED is enough and intended: each statement reads a fresh snapshot, so once
 * a card's row lock is ours the next statement sees everything the previous holder committed.
 */
import type pg from 'pg';
import type { ChainLink, LedgerTx } from './settle-batch.js';
import type { Evidence, Revocation, SettledRecord, StoredAnswer } from './ledger.js';
import { SETTLED_COLUMNS, buf, revocationFromRow, settledFromRow, u8, type Row } from './rows.js';

export class PgTx implements LedgerTx {
  constructor(private readonly c: pg.PoolClient) {}

  private q(name: string, text: string, values: unknown[]): Promise<pg.QueryResult<Row>> {
    return this.c.query<Row>({ name: `clearing_${name}`, text, values });
  }

  async claimKey(terminalId: string, batchId: string, bodyHash: Uint8Array, now: number) {
    // ON CONFLICT DO NOTHING waits for a concurrent writer of the same key to commit or roll back.
    const ins = await this.q(
      'claim_key',
      `INSERT INTO batch_keys (terminal_id, batch_id, body_hash, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (terminal_id, batch_id) DO NOTHING`,
      [terminalId, batchId, buf(bodyHash), now],
    );
    if (ins.rowCount === 1) return undefined;
    const r = (
      await this.q(
        'stored_key',
        'SELECT body_hash, answer, created_at FROM batch_keys WHERE terminal_id = $1 AND batch_id = $2',
        [terminalId, batchId],
      )
    ).rows[0];
    if (!r || typeof r['answer'] !== 'string')
      throw new Error(`batch key ${terminalId}/${batchId} exists without its answer`); // a committed key always has one
    return { bodyHash: u8(r['body_hash']), answer: r['answer'], settledAt: r['created_at'] as number } as StoredAnswer;
  }

  async lockCards(cardIds: readonly string[]): Promise<void> {
    if (cardIds.length === 0) return;
    // New cards are inserted in card-id order too (a concurrent insert of the same id waits on the unique index).
    await this.q(
      'insert_cards',
      'INSERT INTO cards (card_id) SELECT id FROM unnest($1::text[]) AS id ORDER BY id ON CONFLICT (card_id) DO NOTHING',
      [cardIds],
    );
    await this.q(
      'lock_cards',
      'SELECT card_id FROM cards WHERE card_id = ANY($1::text[]) ORDER BY card_id FOR UPDATE',
      [cardIds],
    );
  }

  async neighbourhood(cardId: string, counter: number): Promise<Map<number, ChainLink>> {
    const out = new Map<number, ChainLink>();
    const res = await this.q(
      'neighbourhood',
      'SELECT counter, hash, prev_hash, settled_at, batch_id FROM settled_records WHERE card_id = $1 AND counter BETWEEN $2 AND $3',
      [cardId, counter - 1, counter + 1],
    );
    for (const r of res.rows)
      out.set(r['counter'] as number, {
        hash: u8(r['hash']),
        prevHash: u8(r['prev_hash']),
        settledAt: r['settled_at'] as number,
        batchId: r['batch_id'] as string,
      });
    return out;
  }

  async settledRecord(cardId: string, counter: number): Promise<SettledRecord | undefined> {
    const r = (
      await this.q(
        'settled_one',
        `SELECT ${SETTLED_COLUMNS} FROM settled_records WHERE card_id = $1 AND counter = $2`,
        [cardId, counter],
      )
    ).rows[0];
    return r ? settledFromRow(r) : undefined;
  }

  async insertSettled(s: SettledRecord): Promise<void> {
    await this.q(
      'insert_settled',
      `INSERT INTO settled_records (${SETTLED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        s.cardId,
        s.counter,
        buf(s.envelope),
        buf(s.hash),
        buf(s.prevHash),
        s.amount,
        s.currency,
        s.merchantId,
        s.terminalId,
        s.recordTime,
        s.batchId,
        s.settledAt,
        s.reverses ?? null,
      ],
    );
  }

  async insertEvidence(e: Evidence, conflictingHash: Uint8Array): Promise<void> {
    await this.q(
      'insert_evidence',
      `INSERT INTO evidence (card_id, counter, kind, conflicting_hash, settled_envelope, conflicting_envelope, terminal_id,
         batch_id, detected_at, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
      [
        e.cardId,
        e.counter,
        e.kind,
        buf(conflictingHash),
        buf(e.settledEnvelope),
        buf(e.conflictingEnvelope),
        e.terminalId,
        e.batchId,
        e.detectedAt,
        e.detail,
      ],
    );
  }

  async revocation(cardId: string): Promise<Revocation | undefined> {
    const r = (
      await this.q(
        'revocation',
        'SELECT card_id, reason, revoked_at, settles_signed_until FROM revocations WHERE card_id = $1',
        [cardId],
      )
    ).rows[0];
    return r ? revocationFromRow(r) : undefined;
  }

  async revoke(cardId: string, reason: string, at: number): Promise<boolean> {
    const res = await this.q(
      'revoke',
      'INSERT INTO revocations (card_id, reason, revoked_at) VALUES ($1, $2, $3) ON CONFLICT (card_id) DO NOTHING',
      [cardId, reason, at],
    );
    return res.rowCount === 1;
  }

  async putCertificate(cardId: string, certificate: Uint8Array, at: number): Promise<void> {
    await this.q(
      'put_certificate',
      'UPDATE cards SET certificate = $2, certificate_at = $3 WHERE card_id = $1 AND certificate IS NULL',
      [cardId, buf(certificate), at],
    );
  }

  async storeAnswer(terminalId: string, batchId: string, answer: string, accepted: number, records: number) {
    await this.q(
      'store_answer',
      'UPDATE batch_keys SET answer = $3, accepted = $4, records = $5 WHERE terminal_id = $1 AND batch_id = $2',
      [terminalId, batchId, answer, accepted, records],
    );
  }
}
