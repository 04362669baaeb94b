import type { Db } from './database.js';
import { guardWrite } from './store-errors.js';

/**
 * A top-up's states (table `topups`, its CHECK lists exactly these; test/unit/store-schema.test.ts):
 * - `requested`: the row is on disk and the bank has been (or is being) asked for a token under `bankKey`;
 *   the bank may hold a token for it (its answer lost): the same key is sent again to fetch it.
 * - `token_stored`: the bank's token is on disk, not yet known applied: it is LOADed at the card's next
 *   session (host/card-services/pending-topups.ts) and never asked for again.
 * - `loaded`: the card applied it (LOAD answered, or its load counter shows it was applied).
 * - `failed`: nothing was applied and nothing will be: the bank refused it, or the card refused the token.
 */
export const TOPUP_STATES = ['requested', 'token_stored', 'loaded', 'failed'] as const;
export type TopupState = (typeof TOPUP_STATES)[number];
/**
 * How the holder paid: cash into the drawer, from an account, or nothing (amount 0: a pure sync); or
 * `refund`: the load credits a refund of a sale (table `refunds`, the bank's POST /v1/refunds), not a top-up.
 */
export const TOPUP_METHODS = ['cash', 'account', 'sync', 'refund'] as const;
export type TopupMethod = (typeof TOPUP_METHODS)[number];

export interface TopupRow {
  topupId: string;
  requestKey: string | null;
  cardId: string;
  reader: string | null;
  amount: number;
  currency: number;
  method: TopupMethod;
  /** The Idempotency-Key sent to the bank (the same on every retry). */
  bankKey: string;
  loadSeq: number;
  state: TopupState;
  token: Uint8Array | null;
  authority: Uint8Array | null;
  settledCounter: number | null;
  balanceAfter: number | null;
  offlineCountAfter: number | null;
  offlineAmountAfter: number | null;
  errorCode: string | null;
  errorText: string | null;
  createdAt: number;
  updatedAt: number;
  loadedAt: number | null;
}

export interface NewTopup {
  topupId: string;
  requestKey?: string;
  cardId: string;
  reader?: string;
  amount: number;
  currency: number;
  method: TopupMethod;
  bankKey: string;
  loadSeq: number;
}

const COLUMNS = `topup_id AS topupId, request_key AS requestKey, card_id AS cardId, reader, amount, currency, method,
  bank_key AS bankKey, load_seq AS loadSeq, state, token, authority, settled_counter AS settledCounter,
  balance_after AS balanceAfter, offline_count_after AS offlineCountAfter, offline_amount_after AS offlineAmountAfter,
  error_code AS errorCode, error_text AS errorText, created_at AS createdAt, updated_at AS updatedAt, loaded_at AS loadedAt`;

type Raw = Omit<TopupRow, 'token' | 'authority'> & { token: Buffer | null; authority: Buffer | null };
const row = (r: Raw | undefined): TopupRow | undefined =>
  r && {
    ...r,
    token: r.token ? new Uint8Array(r.token) : null,
    authority: r.authority ? new Uint8Array(r.authority) : null,
  };

/**
 * Top-ups (table `topups`, migration 4). Every write is on the main connection (synchronous=FULL): a
 * row is on disk before the bank is asked, and its token before the card is asked to LOAD it, so a
 * top-up interrupted anywhere is found again, never lost and never asked for twice.
 */
export class Topups {
  private readonly s;

  constructor(
    db: Db,
    private readonly clock: () => number,
  ) {
    this.s = {
      insert:
        db.prepare(`INSERT INTO topups (topup_id, request_key, card_id, reader, amount, currency, method, bank_key, load_seq, state, created_at, updated_at)
        VALUES (@topupId, @requestKey, @cardId, @reader, @amount, @currency, @method, @bankKey, @loadSeq, 'requested', @now, @now)`),
      byId: db.prepare<[string], Raw>(`SELECT ${COLUMNS} FROM topups WHERE topup_id = ?`),
      byKey: db.prepare<[string], Raw>(`SELECT ${COLUMNS} FROM topups WHERE request_key = ?`),
      unfinished: db.prepare<[string], Raw>(
        `SELECT ${COLUMNS} FROM topups WHERE card_id = ? AND state IN ('requested', 'token_stored') ORDER BY load_seq, created_at`,
      ),
      allUnfinished: db.prepare<[], Raw>(
        `SELECT ${COLUMNS} FROM topups WHERE state IN ('requested', 'token_stored') ORDER BY created_at`,
      ),
      recent: db.prepare<[number], Raw>(`SELECT ${COLUMNS} FROM topups ORDER BY created_at DESC, topup_id LIMIT ?`),
      storeToken: db.prepare(
        `UPDATE topups SET state = 'token_stored', token = @token, authority = @authority, settled_counter = @settledCounter, updated_at = @now
         WHERE topup_id = @topupId AND state = 'requested'`,
      ),
      loaded: db.prepare(
        `UPDATE topups SET state = 'loaded', balance_after = @balance, offline_count_after = @offlineCount, offline_amount_after = @offlineAmount,
         error_code = @errorCode, error_text = @errorText, loaded_at = @now, updated_at = @now WHERE topup_id = @topupId AND state = 'token_stored'`,
      ),
      failed: db.prepare(
        `UPDATE topups SET state = 'failed', error_code = @errorCode, error_text = @errorText, updated_at = @now
         WHERE topup_id = @topupId AND state IN ('requested', 'token_stored')`,
      ),
      note: db.prepare(`UPDATE topups SET error_code = ?, error_text = ?, updated_at = ? WHERE topup_id = ?`),
      cashTotals: db.prepare<[number, number], { currency: number; count: number; amount: number }>(
        `SELECT currency, COUNT(*) AS count, SUM(amount) AS amount FROM topups
         WHERE method = 'cash' AND state = 'loaded' AND loaded_at >= ? AND loaded_at < ? GROUP BY currency ORDER BY currency`,
      ),
      unsettledOfCard: db.prepare<[string], { n: number }>(
        `SELECT COUNT(*) AS n FROM records WHERE card_id = ? AND status IN ('pending', 'sending')`,
      ),
    };
  }

  create(t: NewTopup): TopupRow {
    guardWrite('the top-up', () =>
      this.s.insert.run({ ...t, requestKey: t.requestKey ?? null, reader: t.reader ?? null, now: this.clock() }),
    );
    return this.get(t.topupId)!;
  }

  get(topupId: string): TopupRow | undefined {
    return row(this.s.byId.get(topupId));
  }

  byRequestKey(key: string): TopupRow | undefined {
    return row(this.s.byKey.get(key));
  }

  /** The card's top-ups not yet loaded or failed, oldest load first. */
  unfinished(cardId: string): TopupRow[] {
    return this.s.unfinished.all(cardId).map((r) => row(r)!);
  }

  allUnfinished(): TopupRow[] {
    return this.s.allUnfinished.all().map((r) => row(r)!);
  }

  recent(limit: number): TopupRow[] {
    return this.s.recent.all(limit).map((r) => row(r)!);
  }

  /** The bank's token, durable before LOAD. */
  storeToken(topupId: string, t: { token: Uint8Array; authority: Uint8Array; settledCounter: number }): void {
    guardWrite('the top-up token', () => this.s.storeToken.run({ topupId, ...t, now: this.clock() }));
  }

  markLoaded(
    topupId: string,
    after: { balance: number; offlineCount: number; offlineAmount: number },
    notice?: { code: string; text: string },
  ): void {
    guardWrite('the top-up', () =>
      this.s.loaded.run({
        topupId,
        ...after,
        errorCode: notice?.code ?? null,
        errorText: notice?.text ?? null,
        now: this.clock(),
      }),
    );
  }

  markFailed(topupId: string, errorCode: string, errorText: string): void {
    guardWrite('the top-up', () => this.s.failed.run({ topupId, errorCode, errorText, now: this.clock() }));
  }

  /** Why an unfinished top-up is waiting (shown with it); its state is unchanged. */
  note(topupId: string, errorCode: string, errorText: string): void {
    guardWrite('the top-up', () => this.s.note.run(errorCode, errorText, this.clock(), topupId));
  }

  /** Cash taken for loaded top-ups in [fromMs, toMs), per currency (the drawer's top-up figure). */
  cashTotals(fromMs: number, toMs: number): { currency: number; count: number; amount: number }[] {
    return this.s.cashTotals.all(fromMs, toMs);
  }

  /** How many of the card's records wait to be settled (pending or in a batch in flight). */
  unsettledRecordsOfCard(cardId: string): number {
    return this.s.unsettledOfCard.get(cardId)?.n ?? 0;
  }
}
