import type { Db } from './database.js';
import { guardWrite } from './store-errors.js';

/**
 * A void's states (table `voids`, migration 5; its CHECK lists exactly these):
 * - `signing`: the row and its nonce are on disk and VOID_TXN is (or was) asked of the card; its answer may
 *   have been lost: the same request is sent again (the card answers the same reversal), or the reversal
 *   is found in the card's journal by its nonce (host/sale/void-sale.ts);
 * - `voided`: the card's reversal record is stored (`reversalId`); it settles with or after its sale;
 * - `failed`: the card refused the void: nothing was given back (the sale stands; refund it instead).
 */
export const VOID_STATES = ['signing', 'voided', 'failed'] as const;
export type VoidState = (typeof VOID_STATES)[number];

export interface VoidRow {
  voidId: string;
  saleId: string;
  recordId: string;
  cardId: string;
  counter: number;
  amount: number;
  currency: number;
  merchantId: string;
  terminalId: string;
  requestTime: number;
  hostNonce: Uint8Array;
  state: VoidState;
  reversalId: string | null;
  errorCode: string | null;
  errorText: string | null;
  createdAt: number;
  updatedAt: number;
}

export type NewVoid = Omit<VoidRow, 'state' | 'reversalId' | 'errorCode' | 'errorText' | 'createdAt' | 'updatedAt'>;

const COLUMNS = `void_id AS voidId, sale_id AS saleId, record_id AS recordId, card_id AS cardId, counter, amount, currency,
  merchant_id AS merchantId, terminal_id AS terminalId, request_time AS requestTime, host_nonce AS hostNonce, state,
  reversal_id AS reversalId, error_code AS errorCode, error_text AS errorText, created_at AS createdAt, updated_at AS updatedAt`;

type Raw = Omit<VoidRow, 'hostNonce'> & { hostNonce: Buffer };
const row = (r: Raw | undefined): VoidRow | undefined => r && { ...r, hostNonce: new Uint8Array(r.hostNonce) };

/** Voids (table `voids`). Every write is on the main connection (synchronous=FULL). */
export class Voids {
  private readonly s;

  constructor(
    db: Db,
    private readonly clock: () => number,
  ) {
    this.s = {
      insert:
        db.prepare(`INSERT INTO voids (void_id, sale_id, record_id, card_id, counter, amount, currency, merchant_id,
        terminal_id, request_time, host_nonce, state, created_at, updated_at) VALUES (@voidId, @saleId, @recordId, @cardId,
        @counter, @amount, @currency, @merchantId, @terminalId, @requestTime, @hostNonce, 'signing', @now, @now)`),
      bySale: db.prepare<[string], Raw>(`SELECT ${COLUMNS} FROM voids WHERE sale_id = ?`),
      byId: db.prepare<[string], Raw>(`SELECT ${COLUMNS} FROM voids WHERE void_id = ?`),
      signingOfCard: db.prepare<[string], Raw>(
        `SELECT ${COLUMNS} FROM voids WHERE card_id = ? AND state = 'signing' ORDER BY created_at`,
      ),
      between: db.prepare<[number, number], Raw>(
        `SELECT ${COLUMNS} FROM voids WHERE created_at >= ? AND created_at < ? ORDER BY created_at, void_id`,
      ),
      voided: db.prepare(
        `UPDATE voids SET state = 'voided', reversal_id = @reversalId, error_code = NULL, error_text = NULL, updated_at = @now
         WHERE void_id = @voidId AND state = 'signing'`,
      ),
      failed: db.prepare(
        `UPDATE voids SET state = 'failed', error_code = @errorCode, error_text = @errorText, updated_at = @now
         WHERE void_id = @voidId AND state = 'signing'`,
      ),
      note: db.prepare(`UPDATE voids SET error_code = ?, error_text = ?, updated_at = ? WHERE void_id = ?`),
    };
  }

  create(v: NewVoid): VoidRow {
    guardWrite('the void', () => this.s.insert.run({ ...v, now: this.clock() }));
    return this.get(v.voidId)!;
  }

  get(voidId: string): VoidRow | undefined {
    return row(this.s.byId.get(voidId));
  }

  ofSale(saleId: string): VoidRow | undefined {
    return row(this.s.bySale.get(saleId));
  }

  /** The card's voids whose answer is not known yet (their reversal may be on the card). */
  signing(cardId: string): VoidRow[] {
    return this.s.signingOfCard.all(cardId).map((r) => row(r)!);
  }

  /** Voids asked for in [fromMs, toMs) (host clock), every state: the day close counts the `voided` ones. */
  between(fromMs: number, toMs: number): VoidRow[] {
    return this.s.between.all(fromMs, toMs).map((r) => row(r)!);
  }

  markVoided(voidId: string, reversalId: string): void {
    guardWrite('the void', () => this.s.voided.run({ voidId, reversalId, now: this.clock() }));
  }

  markFailed(voidId: string, errorCode: string, errorText: string): void {
    guardWrite('the void', () => this.s.failed.run({ voidId, errorCode, errorText, now: this.clock() }));
  }

  note(voidId: string, errorCode: string, errorText: string): void {
    guardWrite('the void', () => this.s.note.run(errorCode, errorText, this.clock(), voidId));
  }
}
