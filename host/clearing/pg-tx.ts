/**
 * The statements of one settlement transaction on PostgreSQL (LedgerTx of settle-batch.ts), on one
 * checked-out connection. Every statement is parameterised and named (pg prepares it once per
 * connection). READ COMMITTED is enough and intended: each statement reads a fresh snapshot, so once
 * a card's row lock is ours the next statement sees everything the previous holder committed.
 */
import type pg from 'pg';
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

const keyOf = (cardId: string, counter: number): string => `${cardId}:${counter}`;

/** Rows of values as one array per column (what unnest takes). */
const columnsOf = (rows: unknown[][]): unknown[][] => rows[0]!.map((_, col) => rows.map((r) => r[col]));

export class PgTx implements LedgerTx {
  /**
   * After prefetch: the (card, counter) keys whose row or absence is known, those rows, the cards'
   * revocations, and the writes deferred to flush (one multi-row statement instead of one per
   * record: round trips were most of the database's cost per record).
   */
  private known: Set<string> | undefined;
  private readonly rows = new Map<string, SettledRecord>();
  private readonly revocations = new Map<string, Revocation | null>();
  private readonly pending: SettledRecord[] = [];

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

  async lockCards(cardIds: readonly string[], certificates?: CardCertificates): Promise<void> {
    if (cardIds.length === 0) return;
    // New cards are inserted in card-id order too (a concurrent insert of the same id waits on the
    // unique index), with their certificates: an UPDATE later would write every new row twice. A row
    // this transaction inserted is invisible to every other transaction until commit, and cards are
    // never deleted, so it is ours already; only the cards that existed are locked (a row lock is a
    // write too: xmax and a WAL record). No deadlock although the two steps each go in id order: a
    // transaction waits on an insert only while it is still inserting (or on one that filed a
    // certificate, which is past its locks), and FOR UPDATE never waits on an insert it cannot see,
    // so a cycle of waits would need a cycle in id order (docs/clearing.md §1).
    // Every certificate travels in the INSERT, also those of cards that exist (most of a bank's
    // batches): one statement costs less than asking first which cards are new.
    const byId = certificates?.byCard;
    const inserted = await this.q(
      'insert_cards',
      `INSERT INTO cards (card_id, certificate, certificate_at, certificate_not_after)
       SELECT id, cert, CASE WHEN cert IS NULL THEN NULL ELSE $4::bigint END, not_after
       FROM unnest($1::text[], $2::bytea[], $3::bigint[]) AS v(id, cert, not_after) ORDER BY id
       ON CONFLICT (card_id) DO NOTHING RETURNING card_id`,
      [
        cardIds,
        cardIds.map((id) => (byId?.has(id) ? buf(byId.get(id)!.certificate) : null)),
        cardIds.map((id) => byId?.get(id)?.notAfter ?? null),
        certificates?.at ?? null,
      ],
    );
    if (inserted.rowCount === cardIds.length) return;
    const ours = new Set(inserted.rows.map((r) => r['card_id'] as string));
    const locked = await this.q(
      'lock_cards',
      `SELECT card_id, certificate IS NULL AS bare, certificate_not_after FROM cards
       WHERE card_id = ANY($1::text[]) ORDER BY card_id FOR UPDATE`,
      [cardIds.filter((id) => !ours.has(id))],
    );
    // an existing card gets the batch's certificate when it has none (an operator revoked it before
    // any batch) or when the batch's ends later (renewed): rare, so one UPDATE for those only
    const newer = locked.rows.flatMap((r) => {
      const c = byId?.get(r['card_id'] as string);
      const onFile = r['certificate_not_after'] as number | null;
      return c && (r['bare'] === true || onFile === null || c.notAfter > onFile)
        ? [{ id: r['card_id'] as string, c }]
        : [];
    });
    if (newer.length > 0)
      await this.q(
        'file_certificates',
        `UPDATE cards SET certificate = v.certificate, certificate_at = $4, certificate_not_after = v.not_after
         FROM unnest($1::text[], $2::bytea[], $3::bigint[]) AS v(card_id, certificate, not_after)
         WHERE cards.card_id = v.card_id`,
        [
          newer.map((n) => n.id),
          newer.map((n) => buf(n.c.certificate)),
          newer.map((n) => n.c.notAfter),
          certificates!.at,
        ],
      );
  }

  async neighbourhood(cardId: string, counter: number): Promise<Map<number, ChainLink>> {
    const out = new Map<number, ChainLink>();
    const around = [counter - 1, counter, counter + 1];
    if (this.known && around.every((n) => n < 1 || this.known!.has(keyOf(cardId, n)))) {
      for (const n of around) {
        const r = this.rows.get(keyOf(cardId, n));
        if (r) out.set(n, { hash: r.hash, prevHash: r.prevHash, settledAt: r.settledAt, batchId: r.batchId });
      }
      return out;
    }
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
    if (this.known?.has(keyOf(cardId, counter))) return this.rows.get(keyOf(cardId, counter));
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
    if (this.known) {
      this.known.add(keyOf(s.cardId, s.counter));
      this.rows.set(keyOf(s.cardId, s.counter), s);
      this.pending.push(s);
      return;
    }
    await this.q(
      'insert_settled',
      `INSERT INTO settled_records (${SETTLED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      settledValues(s),
    );
  }

  async insertEvidence(e: Evidence, conflictingHash: Uint8Array): Promise<void> {
    await this.q(
      'insert_evidence',
      `INSERT INTO evidence (${EVIDENCE_INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
      evidenceValues(e, conflictingHash),
    );
  }

  async revocation(cardId: string): Promise<Revocation | undefined> {
    if (this.revocations.has(cardId)) return this.revocations.get(cardId) ?? undefined;
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
    if (res.rowCount === 1 && this.revocations.has(cardId))
      this.revocations.set(cardId, { cardId, reason, revokedAt: at, settlesSignedUntil: null });
    return res.rowCount === 1;
  }

  async storeAnswer(terminalId: string, batchId: string, answer: string, accepted: number, records: number) {
    await this.q(
      'store_answer',
      'UPDATE batch_keys SET answer = $3, accepted = $4, records = $5 WHERE terminal_id = $1 AND batch_id = $2',
      [terminalId, batchId, answer, accepted, records],
    );
  }

  async prefetch(keys: readonly { cardId: string; counter: number }[], cardIds: readonly string[]): Promise<void> {
    const found = await this.q(
      'prefetch_settled',
      `SELECT ${SETTLED_COLUMNS} FROM settled_records
       WHERE (card_id, counter) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`,
      [keys.map((k) => k.cardId), keys.map((k) => k.counter)],
    );
    this.known = new Set(keys.map((k) => keyOf(k.cardId, k.counter)));
    for (const r of found.rows) {
      const s = settledFromRow(r);
      this.rows.set(keyOf(s.cardId, s.counter), s);
    }
    const revoked = await this.q(
      'prefetch_revocations',
      'SELECT card_id, reason, revoked_at, settles_signed_until FROM revocations WHERE card_id = ANY($1::text[])',
      [cardIds],
    );
    for (const id of cardIds) this.revocations.set(id, null);
    for (const r of revoked.rows) this.revocations.set(r['card_id'] as string, revocationFromRow(r));
  }

  async flush(): Promise<void> {
    const p = this.pending.splice(0);
    if (p.length > 0)
      await this.q(
        'flush_settled',
        `INSERT INTO settled_records (${SETTLED_COLUMNS})
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bigint[], $7::int[],
           $8::text[], $9::text[], $10::bigint[], $11::text[], $12::bigint[], $13::bigint[])`,
        columnsOf(p.map(settledValues)),
      );
  }
}
