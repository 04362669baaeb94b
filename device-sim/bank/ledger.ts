/**
 * The bank's ledger: one SQLite file (WAL, synchronous=FULL: a settled record survives power loss
 * the moment its transaction commits). All writes of one request happen in one IMMEDIATE
 * transaction, together with the stored idempotent response, so a crash leaves both or neither.
 */
import Database from 'better-sqlite3';
import { CardpostError } from '../../protocol/errors.js';
import { REFUND_SCHEMA, RefundBook } from './refund-book.js';

/** 2: settled_records.reverses (voids, docs/bank-api.md §4.4) and the refunds table (§15). */
const SCHEMA_VERSION = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS settled_records (
  card_id      TEXT    NOT NULL,           -- lowercase hex, 16 chars
  counter      INTEGER NOT NULL,
  envelope     BLOB    NOT NULL,           -- the record envelope exactly as received
  hash         BLOB    NOT NULL,           -- suite hash of the body (what counter+1's prevHash must be)
  prev_hash    BLOB    NOT NULL,
  amount       INTEGER NOT NULL,
  currency     INTEGER NOT NULL,
  merchant_id  TEXT    NOT NULL,
  terminal_id  TEXT    NOT NULL,
  record_time  INTEGER NOT NULL,
  batch_id     TEXT    NOT NULL,
  settled_at   INTEGER NOT NULL,
  reverses     INTEGER,                    -- a reversal (void): the counter of the sale it gives back; NULL for a sale
  PRIMARY KEY (card_id, counter)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS settled_by_terminal ON settled_records (terminal_id, settled_at);

CREATE TABLE IF NOT EXISTS batches (
  terminal_id  TEXT    NOT NULL,
  batch_id     TEXT    NOT NULL,
  received_at  INTEGER NOT NULL,
  records      INTEGER NOT NULL,
  accepted     INTEGER NOT NULL,
  PRIMARY KEY (terminal_id, batch_id)
) WITHOUT ROWID;

-- Stored responses of idempotent requests (draft-ietf-httpapi-idempotency-key-header).
CREATE TABLE IF NOT EXISTS idempotency (
  terminal_id  TEXT    NOT NULL,
  scope        TEXT    NOT NULL,           -- 'batches' | 'topups'
  key          TEXT    NOT NULL,
  request_hash BLOB    NOT NULL,           -- SHA-256 of the request body
  status       INTEGER NOT NULL,
  response     TEXT    NOT NULL,           -- the response body, byte for byte
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (terminal_id, scope, key)
) WITHOUT ROWID;

-- Proof of card misbehaviour: the settled record and the conflicting one, both kept.
CREATE TABLE IF NOT EXISTS evidence (
  id                   INTEGER PRIMARY KEY,
  kind                 TEXT    NOT NULL,   -- 'double-spend' | 'chain-broken'
  card_id              TEXT    NOT NULL,
  counter              INTEGER NOT NULL,
  settled_envelope     BLOB    NOT NULL,   -- the ledger's record it conflicts with
  conflicting_envelope BLOB    NOT NULL,   -- the rejected record, as received
  terminal_id          TEXT    NOT NULL,
  batch_id             TEXT    NOT NULL,
  detected_at          INTEGER NOT NULL,
  detail               TEXT    NOT NULL,
  UNIQUE (kind, card_id, counter, conflicting_envelope)
);

CREATE TABLE IF NOT EXISTS revoked_cards (
  card_id     TEXT    PRIMARY KEY,
  reason      TEXT    NOT NULL,
  revoked_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS revocation_list (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  sequence    INTEGER NOT NULL,
  issued_at   INTEGER NOT NULL,
  envelope    BLOB    NOT NULL
);

-- Card certificates the bank has verified (used when a batch does not carry one).
CREATE TABLE IF NOT EXISTS card_certificates (
  card_id     TEXT    PRIMARY KEY,
  certificate BLOB    NOT NULL,
  first_seen  INTEGER NOT NULL,
  not_after   INTEGER
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS topups (
  card_id             TEXT    NOT NULL,
  load_seq            INTEGER NOT NULL,
  amount              INTEGER NOT NULL,
  currency            INTEGER NOT NULL,
  valid_until_counter INTEGER NOT NULL,
  issued_at           INTEGER NOT NULL,
  terminal_id         TEXT    NOT NULL,
  token               BLOB    NOT NULL,
  PRIMARY KEY (card_id, load_seq)
) WITHOUT ROWID;

-- Lost and stolen cards (docs/bank-api.md §13): who reported, when, and what the holder had left.
CREATE TABLE IF NOT EXISTS lost_cards (
  card_id            TEXT    PRIMARY KEY,
  reason             TEXT    NOT NULL,     -- 'lost' | 'stolen'
  reported_at        INTEGER NOT NULL,     -- bank time; records signed after it do not settle
  reporter_kind      TEXT    NOT NULL,     -- 'terminal' | 'issuer' (the audit trail of who blocked the card)
  reporter_id        TEXT    NOT NULL,     -- the certificate subject: terminal id or back-office name
  revoked_by_report  INTEGER NOT NULL,     -- 1: this report revoked the card (0: it already was, e.g. a double spend)
  balance_at_report  INTEGER,              -- balance after the newest settled record then (NULL: none)
  counter_at_report  INTEGER NOT NULL      -- that record's counter (0: none)
) WITHOUT ROWID;
`;

export interface SettledLink {
  hash: Uint8Array;
  prevHash: Uint8Array;
  settledAt: number;
  batchId: string;
}

export interface SettledRow {
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
  /** A reversal: the counter of the sale it voids (docs/protocol.md §7.2 key 15); absent for a sale. */
  reverses?: number;
}

export interface EvidenceRow {
  id: number;
  kind: 'double-spend' | 'chain-broken';
  cardId: string;
  counter: number;
  settledEnvelope: Uint8Array;
  conflictingEnvelope: Uint8Array;
  terminalId: string;
  batchId: string;
  detectedAt: number;
  detail: string;
}

export interface StoredResponse {
  requestHash: Uint8Array;
  status: number;
  response: string;
}

export interface TopupRow {
  cardId: string;
  loadSeq: number;
  amount: number;
  currency: number;
  validUntilCounter: number;
  issuedAt: number;
  terminalId: string;
  token: Uint8Array;
}

export interface LostCardRow {
  cardId: string;
  reason: string;
  reportedAt: number;
  reporterKind: 'terminal' | 'issuer';
  reporterId: string;
  revokedByReport: boolean;
  balanceAtReport: number | null;
  counterAtReport: number;
}

export interface CurrencyTotal {
  currency: number;
  count: number;
  amount: number | string;
}

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** A sum as a JSON-safe value: a number while exact, else its decimal string. */
export function jsonAmount(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

type Row = Record<string, unknown>;

function settledFromRow(r: Row): SettledRow {
  return {
    cardId: r['card_id'] as string,
    counter: r['counter'] as number,
    envelope: u8(r['envelope'] as Buffer),
    hash: u8(r['hash'] as Buffer),
    prevHash: u8(r['prev_hash'] as Buffer),
    amount: r['amount'] as number,
    currency: r['currency'] as number,
    merchantId: r['merchant_id'] as string,
    terminalId: r['terminal_id'] as string,
    recordTime: r['record_time'] as number,
    batchId: r['batch_id'] as string,
    settledAt: r['settled_at'] as number,
    ...(r['reverses'] !== null && r['reverses'] !== undefined ? { reverses: r['reverses'] as number } : {}),
  };
}

function lostFromRow(r: Row): LostCardRow {
  return {
    cardId: r['card_id'] as string,
    reason: r['reason'] as string,
    reportedAt: r['reported_at'] as number,
    reporterKind: r['reporter_kind'] as LostCardRow['reporterKind'],
    reporterId: r['reporter_id'] as string,
    revokedByReport: r['revoked_by_report'] === 1,
    balanceAtReport: r['balance_at_report'] as number | null,
    counterAtReport: r['counter_at_report'] as number,
  };
}

export class Ledger {
  private readonly db: Database.Database;
  private readonly st;
  /** Refunds of settled sales (docs/bank-api.md §15). */
  readonly refunds: RefundBook;

  constructor(path: string) {
    try {
      this.db = new Database(path);
    } catch (e) {
      throw new CardpostError(
        'BANK_DB_OPEN',
        `cannot open the bank ledger ${path}: ${(e as Error).message}`,
        'check the directory exists and is writable',
        { cause: e },
      );
    }
    const mode = this.db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && path !== ':memory:') {
      this.db.close();
      throw new CardpostError(
        'BANK_DB_WAL',
        `the ledger could not switch to WAL (journal_mode=${String(mode)})`,
        'put the ledger on a local file system',
      );
    }
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      this.db.close();
      throw new CardpostError(
        'BANK_DB_VERSION',
        `the ledger has schema version ${version}, newer than this bank (${SCHEMA_VERSION})`,
        'use a newer cardpost or another ledger file',
      );
    }
    // Version 1 ledgers: the reversal column is added in place (NULL: every record they hold is a sale).
    const cols = this.db.prepare("SELECT name FROM pragma_table_info('settled_records')").all() as Row[];
    if (cols.length > 0 && !cols.some((c) => c['name'] === 'reverses'))
      this.db.exec('ALTER TABLE settled_records ADD COLUMN reverses INTEGER');
    // Version 2 ledgers: the card certificate's notAfter, so a renewed certificate replaces the old one.
    const certCols = this.db.prepare("SELECT name FROM pragma_table_info('card_certificates')").all() as Row[];
    if (certCols.length > 0 && !certCols.some((c) => c['name'] === 'not_after'))
      this.db.exec('ALTER TABLE card_certificates ADD COLUMN not_after INTEGER');
    this.db.exec(SCHEMA);
    this.db.exec(REFUND_SCHEMA);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    this.refunds = new RefundBook(this.db);

    const db = this.db;
    this.st = {
      getSettled: db.prepare('SELECT * FROM settled_records WHERE card_id = ? AND counter = ?'),
      // A record and its two chain neighbours in one lookup, without the envelopes (settle.ts's hot path).
      neighbourhood: db.prepare(
        'SELECT counter, hash, prev_hash, settled_at, batch_id FROM settled_records WHERE card_id = ? AND counter BETWEEN ? AND ?',
      ),
      insertSettled:
        db.prepare(`INSERT INTO settled_records (card_id, counter, envelope, hash, prev_hash, amount, currency, merchant_id,
        terminal_id, record_time, batch_id, settled_at, reverses) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      reversalOf: db.prepare('SELECT * FROM settled_records WHERE card_id = ? AND counter = ? AND reverses = ?'),
      maxCounter: db.prepare('SELECT MAX(counter) AS c FROM settled_records WHERE card_id = ?'),
      // The first settled counter whose successor is not settled (the end of the chain from counter 1, when 1 is settled).
      chainEnd: db.prepare(`SELECT MIN(s.counter) AS c FROM settled_records s WHERE s.card_id = ?
        AND NOT EXISTS (SELECT 1 FROM settled_records t WHERE t.card_id = s.card_id AND t.counter = s.counter + 1)`),
      countSettled: db.prepare('SELECT COUNT(*) AS n FROM settled_records'),
      listSettled: db.prepare('SELECT * FROM settled_records WHERE card_id = ? ORDER BY counter'),
      insertBatch: db.prepare(
        'INSERT INTO batches (terminal_id, batch_id, received_at, records, accepted) VALUES (?, ?, ?, ?, ?)',
      ),
      getIdem: db.prepare(
        'SELECT request_hash, status, response FROM idempotency WHERE terminal_id = ? AND scope = ? AND key = ?',
      ),
      putIdem: db.prepare(
        'INSERT INTO idempotency (terminal_id, scope, key, request_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertEvidence:
        db.prepare(`INSERT OR IGNORE INTO evidence (kind, card_id, counter, settled_envelope, conflicting_envelope, terminal_id,
        batch_id, detected_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      listEvidence: db.prepare('SELECT * FROM evidence ORDER BY id'),
      hasEvidence: db.prepare('SELECT 1 FROM evidence WHERE card_id = ? AND counter = ? AND kind = ? LIMIT 1'),
      isRevoked: db.prepare('SELECT 1 FROM revoked_cards WHERE card_id = ?'),
      getRevoked: db.prepare('SELECT reason, revoked_at FROM revoked_cards WHERE card_id = ?'),
      revoke: db.prepare('INSERT OR IGNORE INTO revoked_cards (card_id, reason, revoked_at) VALUES (?, ?, ?)'),
      listRevoked: db.prepare('SELECT card_id FROM revoked_cards ORDER BY card_id'),
      getCrl: db.prepare('SELECT sequence, issued_at, envelope FROM revocation_list WHERE id = 1'),
      putCrl: db.prepare(
        'INSERT INTO revocation_list (id, sequence, issued_at, envelope) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, issued_at = excluded.issued_at, envelope = excluded.envelope',
      ),
      getCardCert: db.prepare('SELECT certificate FROM card_certificates WHERE card_id = ?'),
      putCardCert: db.prepare(
        `INSERT INTO card_certificates (card_id, certificate, first_seen, not_after) VALUES (?, ?, ?, ?)
        ON CONFLICT (card_id) DO UPDATE SET certificate = excluded.certificate, first_seen = excluded.first_seen,
          not_after = excluded.not_after
        WHERE card_certificates.not_after IS NULL OR excluded.not_after > card_certificates.not_after`,
      ),
      getTopup: db.prepare('SELECT * FROM topups WHERE card_id = ? AND load_seq = ?'),
      putTopup:
        db.prepare(`INSERT INTO topups (card_id, load_seq, amount, currency, valid_until_counter, issued_at, terminal_id, token)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      newestSettled: db.prepare('SELECT * FROM settled_records WHERE card_id = ? ORDER BY counter DESC LIMIT 1'),
      getLost: db.prepare('SELECT * FROM lost_cards WHERE card_id = ?'),
      listLost: db.prepare('SELECT * FROM lost_cards ORDER BY reported_at, card_id'),
      putLost:
        db.prepare(`INSERT INTO lost_cards (card_id, reason, reported_at, reporter_kind, reporter_id, revoked_by_report,
        balance_at_report, counter_at_report) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      totals: db
        .prepare(
          `SELECT currency, COUNT(*) AS n, SUM(amount) AS total FROM settled_records
        WHERE terminal_id = ? AND settled_at >= ? AND settled_at < ? AND reverses IS NULL GROUP BY currency ORDER BY currency`,
        )
        .safeIntegers(true),
      reversalTotals: db
        .prepare(
          `SELECT currency, COUNT(*) AS n, SUM(amount) AS total FROM settled_records
        WHERE terminal_id = ? AND settled_at >= ? AND settled_at < ? AND reverses IS NOT NULL GROUP BY currency ORDER BY currency`,
        )
        .safeIntegers(true),
      totalsRows: db
        .prepare(
          'SELECT currency, amount FROM settled_records WHERE terminal_id = ? AND settled_at >= ? AND settled_at < ? AND reverses IS NULL',
        )
        .safeIntegers(true),
    };
  }

  /** Run `fn` in one IMMEDIATE transaction (write lock taken up front); rolled back if it throws. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Hashes of the settled records counter−1, counter and counter+1 of a card (those that exist). */
  neighbourhood(cardId: string, counter: number): Map<number, SettledLink> {
    const out = new Map<number, SettledLink>();
    for (const r of this.st.neighbourhood.all(cardId, counter - 1, counter + 1) as Row[]) {
      out.set(r['counter'] as number, {
        hash: new Uint8Array(r['hash'] as Buffer),
        prevHash: new Uint8Array(r['prev_hash'] as Buffer),
        settledAt: r['settled_at'] as number,
        batchId: r['batch_id'] as string,
      });
    }
    return out;
  }

  getSettled(cardId: string, counter: number): SettledRow | undefined {
    const r = this.st.getSettled.get(cardId, counter) as Row | undefined;
    return r ? settledFromRow(r) : undefined;
  }

  insertSettled(r: SettledRow): void {
    this.st.insertSettled.run(
      r.cardId,
      r.counter,
      buf(r.envelope),
      buf(r.hash),
      buf(r.prevHash),
      r.amount,
      r.currency,
      r.merchantId,
      r.terminalId,
      r.recordTime,
      r.batchId,
      r.settledAt,
      r.reverses ?? null,
    );
  }

  /** The settled reversal of the sale (cardId, counter), if the card voided it (always the record counter + 1). */
  reversalOf(cardId: string, counter: number): SettledRow | undefined {
    const r = this.st.reversalOf.get(cardId, counter + 1, counter) as Row | undefined;
    return r ? settledFromRow(r) : undefined;
  }

  highestCounter(cardId: string): number {
    return ((this.st.maxCounter.get(cardId) as Row)['c'] as number | null) ?? 0;
  }

  /** The card counter up to which every record of the card, from counter 1, is settled (0 if counter 1 is not). */
  settledPrefix(cardId: string): number {
    if (!this.getSettled(cardId, 1)) return 0;
    return ((this.st.chainEnd.get(cardId) as Row)['c'] as number | null) ?? 0;
  }

  settledCount(): number {
    return (this.st.countSettled.get() as Row)['n'] as number;
  }

  settledOfCard(cardId: string): SettledRow[] {
    return (this.st.listSettled.all(cardId) as Row[]).map(settledFromRow);
  }

  insertBatch(terminalId: string, batchId: string, at: number, records: number, accepted: number): void {
    this.st.insertBatch.run(terminalId, batchId, at, records, accepted);
  }

  getStoredResponse(terminalId: string, scope: string, key: string): StoredResponse | undefined {
    const r = this.st.getIdem.get(terminalId, scope, key) as Row | undefined;
    return r
      ? {
          requestHash: u8(r['request_hash'] as Buffer),
          status: r['status'] as number,
          response: r['response'] as string,
        }
      : undefined;
  }

  putStoredResponse(
    terminalId: string,
    scope: string,
    key: string,
    requestHash: Uint8Array,
    status: number,
    response: string,
    at: number,
  ): void {
    this.st.putIdem.run(terminalId, scope, key, buf(requestHash), status, response, at);
  }

  insertEvidence(e: Omit<EvidenceRow, 'id'>): void {
    this.st.insertEvidence.run(
      e.kind,
      e.cardId,
      e.counter,
      buf(e.settledEnvelope),
      buf(e.conflictingEnvelope),
      e.terminalId,
      e.batchId,
      e.detectedAt,
      e.detail,
    );
  }

  evidence(): EvidenceRow[] {
    return (this.st.listEvidence.all() as Row[]).map((r) => ({
      id: r['id'] as number,
      kind: r['kind'] as EvidenceRow['kind'],
      cardId: r['card_id'] as string,
      counter: r['counter'] as number,
      settledEnvelope: u8(r['settled_envelope'] as Buffer),
      conflictingEnvelope: u8(r['conflicting_envelope'] as Buffer),
      terminalId: r['terminal_id'] as string,
      batchId: r['batch_id'] as string,
      detectedAt: r['detected_at'] as number,
      detail: r['detail'] as string,
    }));
  }

  hasEvidence(cardId: string, counter: number, kind: EvidenceRow['kind']): boolean {
    return this.st.hasEvidence.get(cardId, counter, kind) !== undefined;
  }

  isRevoked(cardId: string): boolean {
    return this.st.isRevoked.get(cardId) !== undefined;
  }

  /** Why and when the card was revoked; undefined when it is not. */
  revocation(cardId: string): { reason: string; revokedAt: number } | undefined {
    const r = this.st.getRevoked.get(cardId) as Row | undefined;
    return r ? { reason: r['reason'] as string, revokedAt: r['revoked_at'] as number } : undefined;
  }

  /** true if the card was not revoked before. */
  revoke(cardId: string, reason: string, at: number): boolean {
    return this.st.revoke.run(cardId, reason, at).changes === 1;
  }

  revokedCards(): string[] {
    return (this.st.listRevoked.all() as Row[]).map((r) => r['card_id'] as string);
  }

  getRevocationList(): { sequence: number; issuedAt: number; envelope: Uint8Array } | undefined {
    const r = this.st.getCrl.get() as Row | undefined;
    return r
      ? { sequence: r['sequence'] as number, issuedAt: r['issued_at'] as number, envelope: u8(r['envelope'] as Buffer) }
      : undefined;
  }

  putRevocationList(sequence: number, issuedAt: number, envelope: Uint8Array): void {
    this.st.putCrl.run(sequence, issuedAt, buf(envelope));
  }

  getCardCertificate(cardId: string): Uint8Array | undefined {
    const r = this.st.getCardCert.get(cardId) as Row | undefined;
    return r ? u8(r['certificate'] as Buffer) : undefined;
  }

  /** Files a card certificate unless the one on file ends as late or later (newestCertificates). */
  putCardCertificate(cardId: string, certificate: Uint8Array, notAfter: number, at: number): void {
    this.st.putCardCert.run(cardId, buf(certificate), at, notAfter);
  }

  getTopup(cardId: string, loadSeq: number): TopupRow | undefined {
    const r = this.st.getTopup.get(cardId, loadSeq) as Row | undefined;
    return r
      ? {
          cardId: r['card_id'] as string,
          loadSeq: r['load_seq'] as number,
          amount: r['amount'] as number,
          currency: r['currency'] as number,
          validUntilCounter: r['valid_until_counter'] as number,
          issuedAt: r['issued_at'] as number,
          terminalId: r['terminal_id'] as string,
          token: u8(r['token'] as Buffer),
        }
      : undefined;
  }

  putTopup(t: TopupRow): void {
    this.st.putTopup.run(
      t.cardId,
      t.loadSeq,
      t.amount,
      t.currency,
      t.validUntilCounter,
      t.issuedAt,
      t.terminalId,
      buf(t.token),
    );
  }

  /** Every load the bank authorised onto a card (top-ups, syncs, refunds), loaded or not. */
  loadsOf(cardId: string): { amount: number; issuedAt: number; token: Uint8Array }[] {
    const rows = this.db
      .prepare('SELECT amount, issued_at, token FROM topups WHERE card_id = ? ORDER BY load_seq')
      .all(cardId) as { amount: number; issued_at: number; token: Buffer }[];
    return rows.map((r) => ({ amount: r.amount, issuedAt: r.issued_at, token: u8(r.token) }));
  }

  /** The settled record of the card with the highest counter (the newest balance the bank knows). */
  newestSettled(cardId: string): SettledRow | undefined {
    const r = this.st.newestSettled.get(cardId) as Row | undefined;
    return r ? settledFromRow(r) : undefined;
  }

  getLostCard(cardId: string): LostCardRow | undefined {
    const r = this.st.getLost.get(cardId) as Row | undefined;
    return r ? lostFromRow(r) : undefined;
  }

  lostCards(): LostCardRow[] {
    return (this.st.listLost.all() as Row[]).map(lostFromRow);
  }

  putLostCard(l: LostCardRow): void {
    this.st.putLost.run(
      l.cardId,
      l.reason,
      l.reportedAt,
      l.reporterKind,
      l.reporterId,
      l.revokedByReport ? 1 : 0,
      l.balanceAtReport,
      l.counterAtReport,
    );
  }

  /** Accepted reversals (voids) of one terminal settled in [from, to), per currency. */
  reversalTotals(terminalId: string, from: number, to: number): CurrencyTotal[] {
    return (this.st.reversalTotals.all(terminalId, from, to) as Row[]).map((r) => ({
      currency: Number(r['currency'] as bigint),
      count: Number(r['n'] as bigint),
      amount: jsonAmount(r['total'] as bigint),
    }));
  }

  /** Accepted sales (not reversals) of one terminal settled in [from, to), per currency; exact sums. */
  totals(terminalId: string, from: number, to: number): CurrencyTotal[] {
    try {
      return (this.st.totals.all(terminalId, from, to) as Row[]).map((r) => ({
        currency: Number(r['currency'] as bigint),
        count: Number(r['n'] as bigint),
        amount: jsonAmount(r['total'] as bigint),
      }));
    } catch (e) {
      if (!(e instanceof Error && /integer overflow/i.test(e.message))) throw e;
      // SUM overflowed 64 bits: add up exactly in JS (slower, streams the rows)
      const acc = new Map<number, { count: number; amount: bigint }>();
      for (const r of this.st.totalsRows.iterate(terminalId, from, to) as IterableIterator<Row>) {
        const c = Number(r['currency'] as bigint);
        const a = acc.get(c) ?? { count: 0, amount: 0n };
        a.count++;
        a.amount += r['amount'] as bigint;
        acc.set(c, a);
      }
      return [...acc]
        .sort((x, y) => x[0] - y[0])
        .map(([currency, a]) => ({ currency, count: a.count, amount: jsonAmount(a.amount) }));
    }
  }
}
