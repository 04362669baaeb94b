/**
 * The clearing ledger on one SQLite file (better-sqlite3): the single-machine backend behind the same
 * ClearingLedger interface as PostgreSQL, with the same schema shape and the same settlement code
 * (settle-batch.ts). better-sqlite3 is synchronous; the async interface is kept by serialising every
 * call of this ledger through one queue, so a batch's BEGIN IMMEDIATE … COMMIT never interleaves with
 * another call on the connection, even while a test hook holds the transaction open.
 */
import Database from 'better-sqlite3';
import { CardpostError } from '../../protocol/errors.js';
import { checkBatchShape, checkCardId, settleInTransaction } from './settle-batch.js';
import { SqliteTx } from './sqlite-tx.js';
import { SQLITE_SCHEMA } from './sqlite-schema.js';
import {
  EVIDENCE_ORDER,
  EVIDENCE_SELECT,
  SETTLED_COLUMNS,
  evidenceFromRow,
  revocationFromRow,
  settledFromRow,
  u8,
  type Row,
} from './rows.js';
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

export interface SqliteLedgerOptions {
  /** The ledger file (created if missing); ':memory:' for a throwaway one. */
  path: string;
  hooks?: LedgerTestHooks;
}

/** Another process held the file's write lock past busy_timeout: worth a retry, not a bug (503). */
function busy(e: unknown): unknown {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY')
    ? new CardpostError(
        'CLEARING_DB_UNAVAILABLE',
        `the clearing ledger is busy: ${(e as Error).message}`,
        'another API process holds the SQLite file; retry the batch with the same id (for many processes use PostgreSQL)',
        { cause: e },
      )
    : e;
}

export class SqliteLedger implements ClearingLedger {
  private readonly db: Database.Database;
  private readonly hooks: LedgerTestHooks;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(opts: SqliteLedgerOptions) {
    try {
      this.db = new Database(opts.path);
    } catch (e) {
      throw new CardpostError(
        'CLEARING_DB_REFUSED',
        `cannot open the clearing ledger ${opts.path}: ${(e as Error).message}`,
        'check the directory exists and is writable',
        { cause: e },
      );
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL'); // a settled batch survives power loss once its COMMIT returns
    this.db.pragma('busy_timeout = 5000');
    // files from before certificate_not_after (a renewed certificate replaces the old one) get it in place
    const cards = this.db.prepare("SELECT name FROM pragma_table_info('cards')").all() as { name: string }[];
    if (cards.length > 0 && !cards.some((c) => c.name === 'certificate_not_after'))
      this.db.exec('ALTER TABLE cards ADD COLUMN certificate_not_after INTEGER');
    this.db.exec(SQLITE_SCHEMA);
    this.hooks = opts.hooks ?? {};
  }

  static async open(opts: SqliteLedgerOptions): Promise<SqliteLedger> {
    return new SqliteLedger(opts);
  }

  /** Run `fn` after every earlier call of this ledger has finished. */
  private serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(() => {
      if (!this.db.open)
        throw new CardpostError('CLEARING_CLOSED', 'the clearing ledger is closed', 'open another ledger to go on');
      return fn();
    });
    this.queue = run.catch(() => {});
    return run;
  }

  async settleBatch(batch: BatchToSettle): Promise<SettleOutcome> {
    checkBatchShape(batch);
    return this.serial(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = await settleInTransaction(new SqliteTx(this.db), batch, this.hooks);
        this.db.exec('COMMIT');
        return out;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw busy(e);
      }
    });
  }

  async revokeCard(cardId: string, reason: string, at: number): Promise<boolean> {
    checkCardId(cardId);
    return this.serial(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const tx = new SqliteTx(this.db);
        await tx.lockCards([cardId]);
        const done = await tx.revoke(cardId, reason, at);
        this.db.exec('COMMIT');
        return done;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  private all(sql: string, ...args: unknown[]): Promise<Row[]> {
    return this.serial(() => this.db.prepare(sql).all(...args) as Row[]);
  }

  async storedAnswer(terminalId: string, batchId: string): Promise<StoredAnswer | undefined> {
    const r = (
      await this.all(
        'SELECT body_hash, answer, created_at FROM batch_keys WHERE terminal_id = ? AND batch_id = ? AND answer IS NOT NULL',
        terminalId,
        batchId,
      )
    )[0];
    return r
      ? { bodyHash: u8(r['body_hash']), answer: r['answer'] as string, settledAt: r['created_at'] as number }
      : undefined;
  }
  async settledRecord(cardId: string, counter: number): Promise<SettledRecord | undefined> {
    const r = (
      await this.all(
        `SELECT ${SETTLED_COLUMNS} FROM settled_records WHERE card_id = ? AND counter = ?`,
        cardId,
        counter,
      )
    )[0];
    return r ? settledFromRow(r) : undefined;
  }
  async settledRecords(cardId: string): Promise<SettledRecord[]> {
    return (
      await this.all(`SELECT ${SETTLED_COLUMNS} FROM settled_records WHERE card_id = ? ORDER BY counter`, cardId)
    ).map(settledFromRow);
  }
  async settledPrefix(cardId: string): Promise<number> {
    const r = await this.all(
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM settled_records WHERE card_id = @c AND counter = 1) THEN
         (SELECT MIN(s.counter) FROM settled_records s WHERE s.card_id = @c AND NOT EXISTS
           (SELECT 1 FROM settled_records t WHERE t.card_id = s.card_id AND t.counter = s.counter + 1))
       ELSE 0 END AS c`,
      { c: cardId },
    );
    return Number(r[0]?.['c'] ?? 0);
  }
  async evidence(cardId: string): Promise<Evidence[]> {
    return (await this.all(`${EVIDENCE_SELECT} WHERE card_id = ? ${EVIDENCE_ORDER}`, cardId)).map(evidenceFromRow);
  }
  async hasEvidence(cardId: string, counter: number, kind: EvidenceKind): Promise<boolean> {
    return (
      (
        await this.all(
          'SELECT 1 FROM evidence WHERE card_id = ? AND counter = ? AND kind = ? LIMIT 1',
          cardId,
          counter,
          kind,
        )
      ).length > 0
    );
  }
  async revocation(cardId: string): Promise<Revocation | undefined> {
    const r = (
      await this.all(
        'SELECT card_id, reason, revoked_at, settles_signed_until FROM revocations WHERE card_id = ?',
        cardId,
      )
    )[0];
    return r ? revocationFromRow(r) : undefined;
  }
  async revokedCards(): Promise<string[]> {
    return (await this.all('SELECT card_id FROM revocations ORDER BY card_id')).map((r) => r['card_id'] as string);
  }
  async cardCertificate(cardId: string): Promise<Uint8Array | undefined> {
    const r = (await this.all('SELECT certificate FROM cards WHERE card_id = ?', cardId))[0];
    return r && r['certificate'] ? u8(r['certificate']) : undefined;
  }
  async cardCertificates(cardIds: readonly string[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    const rows = await this.serial(() => {
      const stmt = this.db.prepare(
        'SELECT card_id, certificate FROM cards WHERE card_id = ? AND certificate IS NOT NULL',
      );
      return cardIds.flatMap((id) => stmt.all(id) as Row[]);
    });
    for (const r of rows) out.set(r['card_id'] as string, u8(r['certificate']));
    return out;
  }
  async totals(terminalId: string, from: number, to: number) {
    // integers summed exactly in JS (SQLite's SUM overflows past 2^63; amounts are ≤ 2^53−1 each)
    const rows = await this.serial(
      () =>
        this.db
          .prepare(
            `SELECT reverses IS NOT NULL AS reversal, currency, amount FROM settled_records
             WHERE terminal_id = ? AND settled_at >= ? AND settled_at < ?`,
          )
          .all(terminalId, from, to) as Row[],
    );
    const acc = new Map<string, { count: number; amount: bigint }>();
    for (const r of rows) {
      const k = `${r['reversal']}:${r['currency']}`;
      const a = acc.get(k) ?? { count: 0, amount: 0n };
      a.count++;
      a.amount += BigInt(r['amount'] as number);
      acc.set(k, a);
    }
    const pick = (reversal: number): CurrencyTotal[] =>
      [...acc]
        .filter(([k]) => k.startsWith(`${reversal}:`))
        .map(([k, a]) => ({ currency: Number(k.split(':')[1]), count: a.count, amount: jsonAmount(a.amount) }))
        .sort((x, y) => x.currency - y.currency);
    return { sales: pick(0), reversals: pick(1) };
  }
  async settledCount(): Promise<number> {
    return Number((await this.all('SELECT COUNT(*) AS n FROM settled_records'))[0]?.['n'] ?? 0);
  }
  async close(): Promise<void> {
    await this.queue;
    if (this.db.open) this.db.close();
  }
}
