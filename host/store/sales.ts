import { StoreError, type Db } from './database.js';
import { guardWrite } from './store-errors.js';
import type { SaleRow } from './store-types.js';

const SALE_COLUMNS = `sale_id AS saleId, request_key AS requestKey, amount, currency, reader, state, record_id AS recordId, paid_online AS paidOnline,
  error_code AS errorCode, error_text AS errorText, sign_card_id AS signCardId, merchant_id AS merchantId, terminal_id AS terminalId, created_at AS createdAt, updated_at AS updatedAt`;

export interface NewSale {
  saleId: string;
  requestKey?: string;
  hostNonce: Uint8Array;
  amount: number;
  currency: number;
  reader?: string;
  /** One of SALE_STATES (store-types.ts): the column's CHECK refuses anything else. */
  state: string;
  merchantId?: string;
  terminalId?: string;
}

export interface SaleUpdate {
  /** One of SALE_STATES (store-types.ts). */
  state: string;
  reader?: string;
  recordId?: string;
  paidOnline?: boolean;
  errorCode?: string;
  errorText?: string;
  signCardId?: string;
}

/**
 * Sales (table `sales`). Their states go through the bookkeeping connection (no fsync of their own,
 * database.ts): a sale is read back from its record after a crash. The one exception is the signing
 * mark, synced like a record before the card is asked to sign.
 */
export class Sales {
  private readonly s;

  constructor(
    db: Db,
    book: Db,
    private readonly clock: () => number,
  ) {
    this.s = {
      insertSale:
        book.prepare(`INSERT INTO sales (sale_id, request_key, host_nonce, amount, currency, reader, state, merchant_id, terminal_id, created_at, updated_at)
        VALUES (@saleId, @requestKey, @hostNonce, @amount, @currency, @reader, @state, @merchantId, @terminalId, @now, @now)`),
      saleByNonce: book.prepare<[Uint8Array], SaleRow>(`SELECT ${SALE_COLUMNS} FROM sales WHERE host_nonce = ?`),
      // On the main connection (synchronous=FULL): durable before the card is asked to sign.
      markSigning: db.prepare(`UPDATE sales SET state = 'signing', sign_card_id = ?, updated_at = ? WHERE sale_id = ?`),
      updateSale:
        book.prepare(`UPDATE sales SET state = @state, reader = COALESCE(@reader, reader), record_id = COALESCE(@recordId, record_id), paid_online = COALESCE(@paidOnline, paid_online),
        error_code = @errorCode, error_text = @errorText, sign_card_id = @signCardId, updated_at = @now WHERE sale_id = @saleId`),
      saleById: book.prepare<[string], SaleRow>(`SELECT ${SALE_COLUMNS} FROM sales WHERE sale_id = ?`),
      saleByKey: book.prepare<[string], SaleRow>(`SELECT ${SALE_COLUMNS} FROM sales WHERE request_key = ?`),
      recentSales: book.prepare<[number], SaleRow>(
        `SELECT ${SALE_COLUMNS} FROM sales ORDER BY created_at DESC, sale_id LIMIT ?`,
      ),
    };
  }

  createSale(s: NewSale): SaleRow {
    const now = this.clock();
    guardWrite(
      'the new sale',
      () =>
        this.s.insertSale.run({
          saleId: s.saleId,
          requestKey: s.requestKey ?? null,
          hostNonce: s.hostNonce,
          amount: s.amount,
          currency: s.currency,
          reader: s.reader ?? null,
          state: s.state,
          merchantId: s.merchantId ?? null,
          terminalId: s.terminalId ?? null,
          now,
        }),
      'no sale was started',
    );
    return this.s.saleById.get(s.saleId)!;
  }

  updateSale(saleId: string, u: SaleUpdate): void {
    guardWrite("the sale's state", () =>
      this.s.updateSale.run({
        saleId,
        state: u.state,
        reader: u.reader ?? null,
        recordId: u.recordId ?? null,
        paidOnline: u.paidOnline === undefined ? null : u.paidOnline ? 1 : 0,
        errorCode: u.errorCode ?? null,
        errorText: u.errorText ?? null,
        signCardId: u.signCardId ?? null,
        now: this.clock(),
      }),
    );
  }

  /**
   * The sale is about to ask the card to sign: from this commit on it may be paid whatever happens
   * to the answer. Synced to disk like a record (not bookkeeping), so a crash or power loss can
   * never make it read back as "not paid"; throws StoreError if it cannot be written: STORE_UNAVAILABLE
   * when the file is locked or failing (a retry may work), STORE_WRITE_FAILED for anything else.
   */
  markSigning(saleId: string, cardId: string): void {
    try {
      guardWrite(
        'the mark that the card is about to be asked to pay',
        () => this.s.markSigning.run(cardId, this.clock(), saleId),
        'nothing was charged',
      );
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError(
        'STORE_WRITE_FAILED',
        `the queue database could not be written before the card was asked to pay (${(e as Error).message}); nothing was charged`,
        'check the disk (space, errors) and that no other program holds the queue file, then start the sale again',
      );
    }
  }

  sale(saleId: string): SaleRow | undefined {
    return this.s.saleById.get(saleId);
  }
  /** The sale that asked the card to sign with this nonce (a recovered record finds its sale). */
  saleByNonce(hostNonce: Uint8Array): SaleRow | undefined {
    return this.s.saleByNonce.get(hostNonce);
  }
  saleByRequestKey(key: string): SaleRow | undefined {
    return this.s.saleByKey.get(key);
  }
  recentSales(limit = 50): SaleRow[] {
    return this.s.recentSales.all(Math.min(limit, 500));
  }
}
