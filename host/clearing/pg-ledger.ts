/**
 * The clearing ledger on PostgreSQL (node-postgres `pg`; why this driver: docs/clearing.md). Any number
 * of API/verifier processes open one each against the same database; a batch is one transaction on one
 * pooled connection (settle-batch.ts does the work, pg-tx.ts holds the statements).
 */
import pg from 'pg';
import { CardpostError } from '../../protocol/errors.js';
import { pgMigrationsFrom, pgSchemaStatements, PG_SCHEMA_VERSION } from './pg-schema.js';
import { PgTx } from './pg-tx.js';
import {
  EVIDENCE_ORDER,
  EVIDENCE_SELECT,
  SETTLED_COLUMNS,
  evidenceFromRow,
  revocationFromRow,
  settledFromRow,
  u8,
} from './rows.js';
import { checkBatchShape, checkCardId, settleInTransaction } from './settle-batch.js';
import {
  jsonAmount,
  type BatchToSettle,
  type ClearingLedger,
  type CurrencyTotal,
  type Evidence,
  type EvidenceKind,
  type LedgerTestHooks,
  type Revocation,
  type SettleOutcome,
  type SettledRecord,
  type StoredAnswer,
} from './ledger.js';

export interface PgLedgerOptions {
  /** e.g. postgres://clearing@db.internal:5432/clearing; or give `pool`. */
  connectionString?: string;
  /** Extra pool settings (host, port, user, database, max, ssl …). */
  pool?: Omit<pg.PoolConfig, 'types'>;
  /** Create the tables as PARTITION BY HASH (card_id) with this many partitions (first open only). Default 1. */
  partitions?: number;
  /** Test-only pause points inside the batch transaction. */
  hooks?: LedgerTestHooks;
}

// int8 columns hold counters, amounts (≤ 2^53−1) and Unix times: numbers. numeric (SUM) stays a string: exact.
const INT8_OID = 20;
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** Errors where the transaction may simply run again (CockroachDB and YugabyteDB raise 40001 routinely). */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 3;

/** A failure of the database or the connection to it (not a bug of ours, not a test hook's throw). */
function isDbFailure(e: unknown): boolean {
  if (e instanceof pg.DatabaseError) return true;
  const code = (e as { code?: unknown }).code;
  return (typeof code === 'string' && /^E[A-Z]+$/.test(code)) || /Connection terminated|connection/i.test(String(e));
}

function unavailable(e: unknown): CardpostError {
  if (e instanceof CardpostError) return e;
  const code = (e as { code?: string }).code ?? '';
  return new CardpostError(
    'CLEARING_DB_UNAVAILABLE',
    `the clearing database failed: ${(e as Error).message}${code ? ` (${code})` : ''}`,
    'check PostgreSQL is up and reachable; retry the batch with the same id: a batch commits with its answer or not at all',
    { cause: e },
  );
}

/**
 * At open: a server that is down or not yet accepting connections is worth waiting for
 * (CLEARING_DB_UNAVAILABLE); anything else (an unknown role or database, no permission, a broken
 * schema) will not change by waiting (CLEARING_DB_REFUSED).
 */
function openFailure(e: unknown): CardpostError {
  if (e instanceof CardpostError) return e;
  const code = (e as { code?: unknown }).code;
  const sqlState = e instanceof pg.DatabaseError && typeof code === 'string' ? code : undefined;
  const waitable = sqlState ? /^(08|53|57P0)/.test(sqlState) : isDbFailure(e);
  if (waitable) return unavailable(e);
  return new CardpostError(
    'CLEARING_DB_REFUSED',
    `the clearing database refused this service: ${(e as Error).message}${sqlState ? ` (SQLSTATE ${sqlState})` : ''}`,
    'check the role, password and database in --postgres (or PG* variables) and that the role may create tables',
    { cause: e },
  );
}

export class PgLedger implements ClearingLedger {
  private closed = false;
  private retried = 0;

  /** Transactions run again after a serialization failure or deadlock (40001, 40P01): 0 while lock order holds. */
  get retriedTransactions(): number {
    return this.retried;
  }

  private constructor(
    private readonly pool: pg.Pool,
    private readonly hooks: LedgerTestHooks,
  ) {}

  /** Connect and create the schema if it is missing (concurrent openers are serialised by an advisory lock). */
  static async open(opts: PgLedgerOptions): Promise<PgLedger> {
    const pool = new pg.Pool({
      // A database that hangs (rather than goes away) must not hold a batch, and its terminal's
      // key, for ever: the terminal gets 503 and sends the batch again.
      connectionTimeoutMillis: 10_000,
      statement_timeout: 60_000,
      ...opts.pool,
      ...(opts.connectionString ? { connectionString: opts.connectionString } : {}),
      types: TYPES,
    });
    // An idle connection dropped by the server (restart, failover) must not crash the process.
    pool.on('error', () => {});
    const ledger = new PgLedger(pool, opts.hooks ?? {});
    try {
      await ledger.migrate(opts.partitions ?? 1);
    } catch (e) {
      await pool.end().catch(() => {});
      throw openFailure(e);
    }
    return ledger;
  }

  private async migrate(partitions: number): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query("SELECT pg_advisory_xact_lock(hashtext('cardpost clearing schema'))");
      // The partition count is chosen when the schema is created; later opens keep what is there.
      let found: number | undefined;
      const has = await c.query<{ has: boolean }>("SELECT to_regclass('clearing_schema') IS NOT NULL AS has");
      if (has.rows[0]?.has) {
        const existing = await c.query<{ partitions: number; version: number }>(
          'SELECT partitions, version FROM clearing_schema WHERE id = 1',
        );
        if (existing.rows[0]) ({ partitions, version: found } = existing.rows[0]);
      }
      if (found !== undefined && found > PG_SCHEMA_VERSION)
        throw new CardpostError(
          'CLEARING_DB_VERSION',
          `the clearing database has schema version ${found}, newer than this cardpost (${PG_SCHEMA_VERSION})`,
          'upgrade cardpost on every API process before pointing it at this database',
        );
      // A current schema is left alone: even CREATE INDEX IF NOT EXISTS locks its table (SHARE) and
      // ALTER TABLE locks it exclusively, so DDL on every start would stall the running processes'
      // batches each time one API process is replaced.
      if (found !== PG_SCHEMA_VERSION) {
        for (const s of pgSchemaStatements(partitions)) await c.query(s);
        if (found === undefined)
          await c.query('INSERT INTO clearing_schema (id, version, partitions) VALUES (1, $1, $2)', [
            PG_SCHEMA_VERSION,
            partitions,
          ]);
        else {
          for (const m of pgMigrationsFrom(found)) await c.query(m);
          await c.query('UPDATE clearing_schema SET version = $1 WHERE id = 1', [PG_SCHEMA_VERSION]);
        }
      }
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async settleBatch(batch: BatchToSettle): Promise<SettleOutcome> {
    checkBatchShape(batch);
    return this.transaction((tx) => settleInTransaction(tx, batch, this.hooks));
  }

  async revokeCard(cardId: string, reason: string, at: number): Promise<boolean> {
    checkCardId(cardId);
    return this.transaction(async (tx) => {
      await tx.lockCards([cardId]);
      return tx.revoke(cardId, reason, at);
    });
  }

  /** One READ COMMITTED transaction on one pooled connection, run again on 40001/40P01. */
  private async transaction<T>(work: (tx: PgTx) => Promise<T>): Promise<T> {
    this.assertOpen();
    for (let attempt = 1; ; attempt++) {
      let c: pg.PoolClient;
      try {
        c = await this.pool.connect();
      } catch (e) {
        throw unavailable(e);
      }
      let broken: unknown;
      // A server that goes away mid-transaction also emits 'error' on the client: the query's own
      // rejection reports it; without a listener the event would end the process.
      const ignore = (): void => {};
      c.on('error', ignore);
      try {
        await c.query('BEGIN ISOLATION LEVEL READ COMMITTED');
        const out = await work(new PgTx(c));
        // A replay wrote nothing; committing it is as cheap as rolling back and ends the transaction the same way.
        await c.query('COMMIT');
        return out;
      } catch (e) {
        broken = e;
        try {
          await c.query('ROLLBACK');
        } catch {
          broken = broken ?? new Error('rollback failed');
        }
        const code = (e as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) {
          this.retried++;
          continue;
        }
        throw isDbFailure(e) ? unavailable(e) : e;
      } finally {
        // a connection whose transaction failed at the protocol level is dropped, not reused
        c.off('error', ignore);
        c.release(broken instanceof CardpostError || broken === undefined ? undefined : (broken as Error));
      }
    }
  }

  private assertOpen(): void {
    if (this.closed)
      throw new CardpostError('CLEARING_CLOSED', 'the clearing ledger is closed', 'open another ledger to go on');
  }

  private async rows(text: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
    this.assertOpen();
    try {
      return (await this.pool.query<Record<string, unknown>>(text, values)).rows;
    } catch (e) {
      throw unavailable(e);
    }
  }

  async storedAnswer(terminalId: string, batchId: string): Promise<StoredAnswer | undefined> {
    const r = (
      await this.rows(
        'SELECT body_hash, answer, created_at FROM batch_keys WHERE terminal_id = $1 AND batch_id = $2 AND answer IS NOT NULL',
        [terminalId, batchId],
      )
    )[0];
    return r
      ? { bodyHash: u8(r['body_hash']), answer: r['answer'] as string, settledAt: r['created_at'] as number }
      : undefined;
  }

  async settledRecord(cardId: string, counter: number): Promise<SettledRecord | undefined> {
    const r = (
      await this.rows(`SELECT ${SETTLED_COLUMNS} FROM settled_records WHERE card_id = $1 AND counter = $2`, [
        cardId,
        counter,
      ])
    )[0];
    return r ? settledFromRow(r) : undefined;
  }

  async settledRecords(cardId: string): Promise<SettledRecord[]> {
    return (
      await this.rows(`SELECT ${SETTLED_COLUMNS} FROM settled_records WHERE card_id = $1 ORDER BY counter`, [cardId])
    ).map(settledFromRow);
  }

  async settledPrefix(cardId: string): Promise<number> {
    // the first settled counter whose successor is not settled, when counter 1 is settled
    const r = await this.rows(
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM settled_records WHERE card_id = $1 AND counter = 1) THEN
         (SELECT MIN(s.counter) FROM settled_records s WHERE s.card_id = $1 AND NOT EXISTS
           (SELECT 1 FROM settled_records t WHERE t.card_id = s.card_id AND t.counter = s.counter + 1))
       ELSE 0 END AS c`,
      [cardId],
    );
    return Number(r[0]?.['c'] ?? 0);
  }

  async evidence(cardId: string): Promise<Evidence[]> {
    return (await this.rows(`${EVIDENCE_SELECT} WHERE card_id = $1 ${EVIDENCE_ORDER}`, [cardId])).map(evidenceFromRow);
  }

  async hasEvidence(cardId: string, counter: number, kind: EvidenceKind): Promise<boolean> {
    const r = await this.rows('SELECT 1 FROM evidence WHERE card_id = $1 AND counter = $2 AND kind = $3 LIMIT 1', [
      cardId,
      counter,
      kind,
    ]);
    return r.length > 0;
  }

  async revocation(cardId: string): Promise<Revocation | undefined> {
    const r = (
      await this.rows('SELECT card_id, reason, revoked_at, settles_signed_until FROM revocations WHERE card_id = $1', [
        cardId,
      ])
    )[0];
    return r ? revocationFromRow(r) : undefined;
  }

  async revokedCards(): Promise<string[]> {
    return (await this.rows('SELECT card_id FROM revocations ORDER BY card_id')).map((r) => r['card_id'] as string);
  }

  async cardCertificate(cardId: string): Promise<Uint8Array | undefined> {
    const r = (await this.rows('SELECT certificate FROM cards WHERE card_id = $1', [cardId]))[0];
    return r && r['certificate'] ? u8(r['certificate']) : undefined;
  }

  async cardCertificates(cardIds: readonly string[]): Promise<Map<string, Uint8Array>> {
    if (cardIds.length === 0) return new Map();
    const rows = await this.rows(
      'SELECT card_id, certificate FROM cards WHERE card_id = ANY($1) AND certificate IS NOT NULL',
      [[...cardIds]],
    );
    return new Map(rows.map((r) => [r['card_id'] as string, u8(r['certificate'])]));
  }
  async totals(terminalId: string, from: number, to: number) {
    const rows = await this.rows(
      `SELECT reverses IS NOT NULL AS reversal, currency, COUNT(*) AS n, SUM(amount) AS total FROM settled_records
       WHERE terminal_id = $1 AND settled_at >= $2 AND settled_at < $3 GROUP BY 1, 2 ORDER BY 1, 2`,
      [terminalId, from, to],
    );
    const pick = (reversal: boolean): CurrencyTotal[] =>
      rows
        .filter((r) => r['reversal'] === reversal)
        .map((r) => ({
          currency: r['currency'] as number,
          count: Number(r['n']),
          amount: jsonAmount(BigInt(r['total'] as string)),
        }));
    return { sales: pick(false), reversals: pick(true) };
  }

  async settledCount(): Promise<number> {
    return Number((await this.rows('SELECT COUNT(*) AS n FROM settled_records'))[0]?.['n'] ?? 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
