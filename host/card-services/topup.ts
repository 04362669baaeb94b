import { randomUUID } from 'node:crypto';
import { MAX_AMOUNT } from '../../protocol/commands/index.js';
import { TransportError, type CardReader } from '../../protocol/transport.js';
import type { TrustStore } from '../../protocol/record/index.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import { CardOpener, withCard } from '../sale/card-opening.js';
import { BankError, type BankClient } from '../settlement/bank-client.js';
import type { CardSession } from '../session/card-session.js';
import type { HostStore } from '../store/host-store.js';
import type { TopupRow } from '../store/topups.js';
import { applyStoredToken } from './pending-topups.js';
import { loadRefusal } from './load-refusal.js';
import {
  snapshotOfTopup,
  TopupError,
  type TopupFaultHooks,
  type TopupSnapshot,
  type TopupStart,
} from './topup-types.js';

type Log = { info(o: object, msg: string): void; warn(o: object, msg: string): void };

export interface TopupServiceOptions {
  store: HostStore;
  hub: ReaderHub;
  bank: Pick<BankClient, 'topup' | 'health'> & Partial<Pick<BankClient, 'refund'>>;
  trust: TrustStore;
  merchantId: string;
  terminalId: string;
  /** The counter's currency, when neither the request nor the card names one. */
  currency: number;
  /** Ask the settlement worker to send what is pending now ("settle now"). */
  settleNow: () => void;
  /** A sale may use this reader (one is waiting for a card there, or for any reader). */
  saleMayUse: (reader: string) => boolean;
  /** A sale is live with this id (its row is the engine's, not ours to settle). */
  saleIsLive: (saleId: string) => boolean;
  /** A record was stored by this service's card sessions (the settlement worker is told). */
  recordStored?: () => void;
  /** How long to wait for the card's pending records to settle before a top-up or sync (ms). */
  settleWaitMs?: number;
  /** How many times the bank is asked with the same Idempotency-Key before the answer counts as lost. */
  bankAttempts?: number;
  now?: () => number;
  log?: Log;
  faults?: TopupFaultHooks;
}

/**
 * Top-up and online sync at the counter (docs/host-api.md §5.6): with the card in a reader and the bank
 * reachable, the card's pending records are settled first, the bank is asked for a token (the row is
 * on disk first, under the Idempotency-Key it is asked with), the token is stored, and only then does
 * the card LOAD it. A top-up cut off anywhere stays on disk: the same request (same Idempotency-Key)
 * finishes it, and a stored token is LOADed at the card's next session by whoever opens it
 * (pending-topups.ts, hooked into card-opening.ts). LOAD is one-shot by loadSeq: never applied twice.
 */
export class TopupService {
  readonly faults: TopupFaultHooks;
  private readonly opener: CardOpener;
  private readonly now: () => number;

  constructor(private readonly o: TopupServiceOptions) {
    this.faults = o.faults ?? {};
    this.now = o.now ?? Date.now;
    this.opener = new CardOpener({
      store: o.store,
      trust: o.trust,
      merchantId: o.merchantId,
      terminalId: o.terminalId,
      online: () => true,
      now: this.now,
      ...(o.log ? { log: o.log } : {}),
      hooks: {
        recovered: () => undefined,
        stored: () => o.recordStored?.(),
        isLive: o.saleIsLive,
        rowSettled: () => undefined,
        liveSaleRecord: () => undefined,
        journalGap: () => undefined,
      },
    });
  }

  get(topupId: string): TopupSnapshot | undefined {
    const r = this.o.store.topups.get(topupId);
    return r && snapshotOfTopup(r);
  }

  recent(limit: number): TopupSnapshot[] {
    return this.o.store.topups.recent(limit).map(snapshotOfTopup);
  }

  /**
   * Top up (or sync, amount 0) the card in a reader. Resolves with the top-up `loaded`; throws a
   * TopupError when it was refused (nothing charged) or interrupted (kept, `topupId` says which).
   */
  async topup(req: TopupStart): Promise<TopupSnapshot> {
    const q = checkTopupStart(req);
    const known = q.requestKey !== undefined ? this.o.store.topups.byRequestKey(q.requestKey) : undefined;
    if (known) {
      if (known.amount !== q.amount || (q.currency !== undefined && known.currency !== q.currency))
        throw new TopupError(
          'TOPUP_KEY_REUSED',
          `Idempotency-Key ${q.requestKey} was used for another top-up (${known.topupId})`,
          'use a new Idempotency-Key for each new top-up',
          known.topupId,
        );
      if (known.state === 'loaded' || known.state === 'failed') return snapshotOfTopup(known);
    }
    const reader = this.readerFor(q.reader ?? known?.reader ?? undefined);
    await this.mustBeOnline();
    return withCard(this.o.hub, reader, (r) => this.onCard(r, q, known));
  }

  /** Sync the card in a reader (a top-up of 0). */
  sync(reader?: string, requestKey?: string): Promise<TopupSnapshot> {
    return this.topup({ amount: 0, ...(reader ? { reader } : {}), ...(requestKey ? { requestKey } : {}) });
  }

  /**
   * Within a card session already open (automatic sync, auto-sync.ts): sync the card. The bank must
   * answer; the caller has checked no sale waits on the reader.
   */
  syncInSession(session: CardSession, reader: string): Promise<TopupSnapshot> {
    return this.runOnSession(session, reader, { amount: 0, method: 'sync' }, undefined);
  }

  /**
   * Within an open session: carry a queued refund (host/card-services/refunds.ts) by the card's next load.
   * The card's unfinished loads go first, then its records are settled (the bank refunds only a settled
   * sale), then the load is stored linked to the refund (one transaction) and asked for under the refund id.
   */
  async refundInSession(session: CardSession, reader: string, refundId: string): Promise<TopupSnapshot | undefined> {
    const { store } = this.o;
    await this.finishPending(session);
    if (store.refunds.get(refundId)?.state !== 'queued') return undefined;
    await this.settleFirst(session.cardId);
    const refund = store.refunds.get(refundId)!;
    const info = await session.client.getInfo();
    const topupId = randomUUID();
    const base = { topupId, cardId: session.cardId, reader, amount: refund.amount, currency: refund.currency };
    store.refunds.linkTopup(refundId, () => {
      store.topups.create({ ...base, method: 'refund', bankKey: `refund:${refundId}`, loadSeq: info.loadCounter + 1 });
      return topupId;
    });
    await this.finish(session, store.topups.get(topupId)!);
    return snapshotOfTopup(store.topups.get(topupId)!);
  }

  /** Finish the card's unfinished loads (a token to LOAD, an answer lost), oldest first. */
  async finishPending(session: CardSession): Promise<void> {
    for (const old of this.o.store.topups.unfinished(session.cardId)) await this.finish(session, old);
  }

  /** Open the card for a session outside any sale (journal recovery and stored tokens first). */
  open(reader: CardReader): Promise<CardSession> {
    return this.opener.openAndRecover(reader, null).then((x) => x.session);
  }

  private async onCard(
    reader: CardReader,
    q: ReturnType<typeof checkTopupStart>,
    known: TopupRow | undefined,
  ): Promise<TopupSnapshot> {
    const session = await this.open(reader);
    if (known && known.cardId !== session.cardId)
      throw new TopupError(
        'TOPUP_WRONG_CARD',
        `top-up ${known.topupId} is for card ••${known.cardId.slice(-4)}, the reader holds ••${session.cardId.slice(-4)}`,
        'put the card the top-up was started with in the reader',
        known.topupId,
      );
    return this.runOnSession(session, reader.name, q, known);
  }

  private async runOnSession(
    session: CardSession,
    reader: string,
    q: { amount: number; currency?: number; method: TopupRow['method']; requestKey?: string },
    known: TopupRow | undefined,
  ): Promise<TopupSnapshot> {
    const { store } = this.o;
    const cardId = session.cardId;
    // An earlier top-up of this card the bank may hold a token for: finish it first (same key), so
    // that no two top-ups ever ask for the same load.
    for (const old of store.topups.unfinished(cardId)) {
      if (old.topupId === known?.topupId) continue;
      await this.finish(session, old);
    }
    let row = known ? store.topups.get(known.topupId)! : undefined;
    if (!row) {
      const info = await session.client.getInfo();
      // What the card would refuse is refused before the bank is asked: a token the card refuses keeps
      // its load number at the bank, and nothing could be loaded after it (docs/security.md §7).
      const cannot = loadRefusal(info, session.certificate.limits, q.amount, q.currency);
      if (cannot) throw cannot;
      await this.settleFirst(cardId);
      const topupId = randomUUID();
      row = store.topups.create({
        topupId,
        ...(q.requestKey !== undefined ? { requestKey: q.requestKey } : {}),
        cardId,
        reader,
        amount: q.amount,
        currency: q.currency ?? info.currency ?? this.o.currency,
        method: q.method,
        bankKey: topupId,
        loadSeq: info.loadCounter + 1,
      });
    }
    await this.finish(session, row);
    return snapshotOfTopup(store.topups.get(row.topupId)!);
  }

  /** Take one stored top-up as far as it goes: the bank's token (same key), then LOAD. */
  private async finish(session: CardSession, row: TopupRow): Promise<void> {
    const { store } = this.o;
    if (row.state === 'requested') {
      let answer;
      const retry = this.o.bankAttempts !== undefined ? { attempts: this.o.bankAttempts } : {};
      const refund = row.method === 'refund' ? store.refunds.byTopup(row.topupId) : undefined;
      try {
        answer =
          refund && this.o.bank.refund
            ? await this.o.bank.refund({ ...refund, cardId: row.cardId, loadSeq: row.loadSeq }, retry)
            : await this.o.bank.topup(
                row.bankKey,
                { cardId: row.cardId, loadSeq: row.loadSeq, amount: row.amount, currency: row.currency },
                retry,
              );
      } catch (e) {
        if (e instanceof BankError && e.outcome === 'refused') {
          store.topups.markFailed(row.topupId, e.code, e.message);
          throw new TopupError(
            'TOPUP_BANK_REFUSED',
            `the bank refused top-up ${row.topupId}: ${e.message}`,
            e.hint,
            row.topupId,
          );
        }
        const why = e instanceof Error ? e.message : String(e);
        store.topups.note(row.topupId, 'TOPUP_BANK_UNCERTAIN', why);
        throw new TopupError(
          'TOPUP_BANK_UNCERTAIN',
          `top-up ${row.topupId}: the bank's answer was lost (${why}); the top-up is kept, nothing is loaded yet`,
          'send the same request again (same Idempotency-Key, or `cardpost card topup --resume ID`) when the bank answers: it is asked with the same key, so it is authorised once',
          row.topupId,
        );
      }
      store.topups.storeToken(row.topupId, {
        token: answer.token.envelope,
        authority: answer.authority.envelope,
        settledCounter: answer.settledCounter,
      });
      this.faults.afterTokenStored?.(row.topupId);
    }
    const stored = store.topups.get(row.topupId)!;
    if (stored.state !== 'token_stored') return;
    try {
      const out = await applyStoredToken(session.client, store, stored, this.o.log);
      if (out.outcome === 'failed') {
        const failed = store.topups.get(row.topupId)!;
        throw new TopupError(
          'TOPUP_CARD_REFUSED',
          `the card refused top-up ${row.topupId}: ${failed.errorText ?? failed.errorCode ?? ''}`,
          'nothing was loaded; see the card error in the top-up, and ask the bank/issuer if it repeats',
          row.topupId,
        );
      }
    } catch (e) {
      if (!(e instanceof TransportError)) throw e;
      store.topups.note(row.topupId, 'TOPUP_CARD_REMOVED', e.message);
      throw new TopupError(
        'TOPUP_CARD_REMOVED',
        `the card left the reader before top-up ${row.topupId} was confirmed; its token is kept`,
        'put the card back: the top-up is applied (or confirmed) at its next tap on this counter, never twice',
        row.topupId,
      );
    }
  }

  /**
   * The bank resets offline totals only as far as it holds the card's chain (settledCounter): send
   * this card's pending records first and wait a bounded time. If they do not settle, refuse: nothing
   * is asked of the bank, nothing charged.
   */
  private async settleFirst(cardId: string): Promise<void> {
    const wait = this.o.settleWaitMs ?? 10_000;
    const until = this.now() + wait;
    let poked = 0;
    while (this.o.store.topups.unsettledRecordsOfCard(cardId) > 0) {
      if (this.now() >= until)
        throw new TopupError(
          'TOPUP_SETTLE_PENDING',
          `card ••${cardId.slice(-4)} has payments the bank has not settled yet (waited ${Math.round(wait / 1000)} s)`,
          'nothing was charged: try again when the queue has settled (cardpost settle; see the status)',
        );
      if (this.now() - poked >= 1000) {
        poked = this.now();
        this.o.settleNow();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async mustBeOnline(): Promise<void> {
    const h = await this.o.bank.health();
    if (!h.ok)
      throw new TopupError(
        'TOPUP_OFFLINE',
        'the bank is not reachable: a top-up or sync needs it',
        'nothing was charged: try again when the counter is online (the status shows it)',
      );
  }

  private readerFor(name: string | undefined): string {
    const { hub } = this.o;
    if (name !== undefined) {
      if (!hub.get(name))
        throw new TopupError(
          'READER_UNKNOWN',
          `no reader named "${name}" is connected`,
          'list the readers with `cardpost readers`',
        );
    } else {
      const withCard = hub.readersList().filter((r) => r.cardPresent);
      if (withCard.length !== 1)
        throw new TopupError(
          withCard.length === 0 ? 'TOPUP_NO_CARD' : 'TOPUP_READER_REQUIRED',
          withCard.length === 0 ? 'no reader holds a card' : 'several readers hold a card',
          withCard.length === 0 ? 'insert or tap the card, then top up' : 'name the reader (`--reader NAME`, `reader`)',
        );
      name = withCard[0]!.name;
    }
    if (this.o.saleMayUse(name))
      throw new TopupError('READER_BUSY', `a sale is using ${name}`, 'finish or cancel the sale first');
    if (!hub.get(name)!.cardPresent)
      throw new TopupError('TOPUP_NO_CARD', `no card in ${name}`, 'insert or tap the card, then top up');
    return name;
  }
}

/** The request checked: a typed TOPUP_INVALID (400) for anything malformed. */
export function checkTopupStart(req: TopupStart): {
  amount: number;
  currency?: number;
  reader?: string;
  method: TopupRow['method'];
  requestKey?: string;
} {
  const bad = (what: string): never => {
    throw new TopupError('TOPUP_INVALID', `top-up: ${what}`, 'see docs/host-api.md §5.6 for the request');
  };
  const r = req as unknown as Record<string, unknown>;
  if (typeof r !== 'object' || r === null) bad('expected an object');
  if (!Number.isSafeInteger(r['amount']) || (r['amount'] as number) < 0 || (r['amount'] as number) > MAX_AMOUNT)
    bad('amount must be a whole number of minor units, 0 (a sync) or more');
  const amount = r['amount'] as number;
  const currency = r['currency'];
  if (currency !== undefined && (!Number.isInteger(currency) || (currency as number) < 1 || (currency as number) > 999))
    bad('currency must be an ISO 4217 numeric code (1…999)');
  const method = r['method'];
  if (method !== undefined && method !== 'cash' && method !== 'account') bad('method must be "cash" or "account"');
  if (amount > 0 && method === undefined) bad('say how the holder pays: method "cash" or "account"');
  const reader = r['reader'];
  if (reader !== undefined && (typeof reader !== 'string' || reader.length === 0 || reader.length > 200))
    bad('reader must be a reader name');
  const key = r['requestKey'];
  if (key !== undefined && (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)))
    bad('Idempotency-Key must be 1–255 printable characters');
  return {
    amount,
    ...(currency !== undefined ? { currency: currency as number } : {}),
    ...(reader !== undefined ? { reader: reader as string } : {}),
    method: amount === 0 ? 'sync' : (method as 'cash' | 'account'),
    ...(key !== undefined ? { requestKey: key as string } : {}),
  };
}
