/**
 * The bank's refunds (docs/bank-api.md §15): one row per refund id of a terminal, bounded by what is
 * left of the settled sale it refunds. A row is written in the same ledger transaction as the top-up
 * token that credits the card (table `topups`, the same load sequence), so a refund is authorised once,
 * with one token, or not at all.
 */
import type Database from 'better-sqlite3';

export const REFUND_SCHEMA = `
CREATE TABLE IF NOT EXISTS refunds (
  terminal_id  TEXT    NOT NULL,
  refund_id    TEXT    NOT NULL,             -- the terminal's refund id (its idempotency: one refund, one token)
  card_id      TEXT    NOT NULL,
  counter      INTEGER NOT NULL,             -- the refunded sale
  amount       INTEGER NOT NULL,
  currency     INTEGER NOT NULL,
  merchant_id  TEXT    NOT NULL,             -- the sale's merchant, debited
  load_seq     INTEGER NOT NULL,             -- the card load (topups row) that credits the holder
  state        TEXT    NOT NULL CHECK (state IN ('authorised', 'cancelled')),
  issued_at    INTEGER NOT NULL,
  cancelled_at INTEGER,                      -- the sale's void settled before the card loaded the refund
  PRIMARY KEY (terminal_id, refund_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refunds_by_sale ON refunds (card_id, counter);
CREATE INDEX IF NOT EXISTS refunds_by_terminal ON refunds (terminal_id, issued_at);
`;

export type RefundState = 'authorised' | 'cancelled';

export interface RefundRow {
  terminalId: string;
  refundId: string;
  cardId: string;
  counter: number;
  amount: number;
  currency: number;
  merchantId: string;
  loadSeq: number;
  state: RefundState;
  issuedAt: number;
  cancelledAt: number | null;
}

type Row = Record<string, unknown>;

const fromRow = (r: Row): RefundRow => ({
  terminalId: r['terminal_id'] as string,
  refundId: r['refund_id'] as string,
  cardId: r['card_id'] as string,
  counter: r['counter'] as number,
  amount: r['amount'] as number,
  currency: r['currency'] as number,
  merchantId: r['merchant_id'] as string,
  loadSeq: r['load_seq'] as number,
  state: r['state'] as RefundState,
  issuedAt: r['issued_at'] as number,
  cancelledAt: (r['cancelled_at'] as number | null) ?? null,
});

export class RefundBook {
  private readonly st;

  constructor(db: Database.Database) {
    this.st = {
      get: db.prepare('SELECT * FROM refunds WHERE terminal_id = ? AND refund_id = ?'),
      put: db.prepare(`INSERT INTO refunds (terminal_id, refund_id, card_id, counter, amount, currency, merchant_id, load_seq,
        state, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'authorised', ?)`),
      ofSale: db.prepare('SELECT * FROM refunds WHERE card_id = ? AND counter = ? ORDER BY issued_at, refund_id'),
      atLoad: db.prepare("SELECT * FROM refunds WHERE card_id = ? AND load_seq = ? AND state = 'authorised'"),
      cancel: db.prepare(
        "UPDATE refunds SET state = 'cancelled', cancelled_at = ? WHERE card_id = ? AND counter = ? AND state = 'authorised'",
      ),
      dropToken: db.prepare('DELETE FROM topups WHERE card_id = ? AND load_seq = ?'),
      totals: db
        .prepare(
          `SELECT currency, COUNT(*) AS n, SUM(amount) AS total FROM refunds
           WHERE terminal_id = ? AND state = 'authorised' AND issued_at >= ? AND issued_at < ? GROUP BY currency ORDER BY currency`,
        )
        .safeIntegers(true),
    };
  }

  get(terminalId: string, refundId: string): RefundRow | undefined {
    const r = this.st.get.get(terminalId, refundId) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  put(r: Omit<RefundRow, 'state' | 'cancelledAt'>): void {
    this.st.put.run(
      r.terminalId,
      r.refundId,
      r.cardId,
      r.counter,
      r.amount,
      r.currency,
      r.merchantId,
      r.loadSeq,
      r.issuedAt,
    );
  }

  /** Every refund of the sale, cancelled ones too. */
  ofSale(cardId: string, counter: number): RefundRow[] {
    return (this.st.ofSale.all(cardId, counter) as Row[]).map(fromRow);
  }

  /** What the authorised refunds of the sale add up to. */
  refunded(cardId: string, counter: number): number {
    return this.ofSale(cardId, counter)
      .filter((r) => r.state === 'authorised')
      .reduce((a, r) => a + r.amount, 0);
  }

  /** The authorised refund whose token is the card's load `loadSeq`, if that load is a refund. */
  atLoad(cardId: string, loadSeq: number): RefundRow | undefined {
    const r = this.st.atLoad.get(cardId, loadSeq) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  /**
   * The sale's void settled: its refunds are cancelled. Their tokens can never be loaded (the card
   * refuses a refund of a sale it voided, docs/protocol.md §4.5), so their loads are freed for the
   * card's next top-up. Returns the refunds cancelled.
   */
  cancelForVoid(cardId: string, counter: number, at: number): RefundRow[] {
    const open = this.ofSale(cardId, counter).filter((r) => r.state === 'authorised');
    if (open.length === 0) return [];
    this.st.cancel.run(at, cardId, counter);
    for (const r of open) this.st.dropToken.run(cardId, r.loadSeq);
    return open;
  }

  /** Authorised refunds of one terminal issued in [from, to), per currency. */
  totals(terminalId: string, from: number, to: number): { currency: number; count: number; amount: number }[] {
    return (this.st.totals.all(terminalId, from, to) as Row[]).map((r) => ({
      currency: Number(r['currency'] as bigint),
      count: Number(r['n'] as bigint),
      amount: Number(r['total'] as bigint),
    }));
  }
}
