import { EventEmitter } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { HOST_NONCE_LENGTH, isValidPin } from '../../protocol/commands/index.js';
import { recordId, type SignedTxnRecord } from '../../protocol/record/index.js';
import { TransportError, type CardReader } from '../../protocol/transport.js';
import { recordMismatchError } from '../session/card-session.js';
import { CardOpener, withCard } from './card-opening.js';
import { runSaleOnCard, type CardRunContext } from './card-run.js';
import type { SaleEngineEvents, SaleEngineOptions } from './engine-options.js';
import { FollowLeases } from './follow-lease.js';
import { signCardOf, snapshotOf, type LiveSale } from './live-sale.js';
import { checkOfflineLimits, SaleRefusedError } from './offline-limits.js';
import { ReaderDiagnostics, type CardSummary } from './reader-diagnostics.js';
import { receiptOfRecord } from './receipt.js';
import { SaleBook, describe } from './sale-book.js';
import { checkSaleRequest } from './sale-request.js';
import {
  FINAL_PHASES,
  isRunning,
  openSale,
  payingCard,
  transition,
  type SaleEffect,
  type SaleEvent,
  type SaleRules,
  type Transition,
} from './sale-machine.js';
import { realTimers, type SaleTimers } from './sale-timers.js';
import { toSaleError, type SaleSnapshot } from './sale-types.js';
import { Interrupted, readFailure } from './step-errors.js';

export type { CardSummary } from './reader-diagnostics.js';
export type { SaleEngineEvents, SaleEngineOptions, SaleFaultHooks, SaleTimeouts } from './engine-options.js';

/**
 * The sale flow at the counter: the API over the sale state machine (sale-machine.ts). One sale per
 * reader at a time. Every card session begins with journal recovery (card-opening.ts), and a sale's
 * record is committed to SQLite before the sale reaches `stored` and a receipt exists (card-run.ts).
 */
export class SaleEngine extends EventEmitter<SaleEngineEvents> {
  private readonly live = new Map<string, LiveSale>();
  private readonly timers: SaleTimers;
  private readonly rules: SaleRules;
  private readonly book: SaleBook;
  private readonly opener: CardOpener;
  private readonly leases: FollowLeases;
  private readonly diagnostics: ReaderDiagnostics;
  private readonly cardRun: CardRunContext;
  private closed = false;

  constructor(private readonly o: SaleEngineOptions) {
    super();
    this.timers = o.timers ?? realTimers(o.clock);
    this.rules = { cardMs: o.timeouts.cardMs };
    this.book = new SaleBook({
      store: o.store,
      ...(o.log ? { log: o.log } : {}),
      isLive: (id) => this.live.has(id),
      closed: () => this.closed,
    });
    this.opener = new CardOpener({
      store: o.store,
      trust: o.trust,
      merchantId: o.merchantId,
      terminalId: o.terminalId,
      online: o.online,
      now: () => this.timers.now(),
      ...(o.log ? { log: o.log } : {}),
      hooks: {
        recovered: (e) => this.emit('recovered', e),
        stored: (e) => this.emit('stored', e),
        isLive: (id) => this.live.has(id),
        rowSettled: (id) => {
          this.book.forget(id);
          const snap = this.get(id);
          if (snap) this.emit('sale', snap);
        },
        liveSaleRecord: (id, record, mismatch) => this.answerWaitingSale(id, record, mismatch),
        journalGap: (cardId) => {
          for (const s of this.live.values()) this.apply(s, { type: 'JOURNAL_GAP', cardId });
        },
      },
    });
    this.leases = new FollowLeases({
      timers: this.timers,
      ...(o.timeouts.followMs !== undefined ? { followMs: o.timeouts.followMs } : {}),
      expired: (id) => this.abandon(id),
    });
    this.diagnostics = new ReaderDiagnostics({
      hub: o.hub,
      opener: this.opener,
      saleMayUse: (name) => [...this.live.values()].some((s) => s.state.reader === name || s.state.reader === null),
    });
    this.cardRun = {
      store: o.store,
      opener: this.opener,
      merchantId: o.merchantId,
      terminalId: o.terminalId,
      timers: this.timers,
      pinMs: o.timeouts.pinMs,
      ...(o.faults?.afterSign ? { afterSign: o.faults.afterSign } : {}),
      ...(o.log ? { log: o.log } : {}),
      apply: (sale, e) => {
        this.apply(sale, e);
      },
      complete: (sale, record, fromJournal, stored) => this.complete(sale, record, fromJournal, stored),
      storedRecordOf: (sale) => this.storedRecordOf(sale),
    };
    o.hub.on('card', (reader) => this.onCard(reader));
    o.hub.on('cardRemoved', (reader) => this.onCardRemoved(reader));
  }

  // ------------------------------------------------------------------ public API

  /**
   * Start a sale. With a `requestKey` the call is idempotent: the same key returns the sale it
   * started before (a re-sent request from a terminal or a retried HTTP call never charges twice).
   */
  start(req: {
    amount: number;
    currency?: number;
    reader?: string;
    requestKey?: string;
    followed?: boolean;
  }): SaleSnapshot {
    if (req.requestKey !== undefined) {
      const known = this.byRequestKey(req.requestKey);
      if (known) {
        const otherReader = req.reader !== undefined && known.reader !== null && known.reader !== req.reader;
        if (known.amount !== req.amount || known.currency !== (req.currency ?? this.o.currency) || otherReader) {
          throw new SaleRefusedError(
            'SALE_KEY_REUSED',
            `request key ${req.requestKey} was used for another sale`,
            'use a new request key for each sale',
          );
        }
        return known;
      }
    }
    const currency = req.currency ?? this.o.currency;
    checkSaleRequest(req.amount, currency, req.reader, this.o.hub);
    for (const s of this.live.values()) {
      if (req.reader === undefined || s.state.reader === null || s.state.reader === req.reader) {
        throw new SaleRefusedError(
          'SALE_IN_PROGRESS',
          `sale ${s.saleId} is still ${s.state.phase.replace('_', ' ')}`,
          `finish or cancel it first (cardpost sale cancel ${s.saleId}, or Esc on the counter page)`,
        );
      }
    }
    const clockProblem = this.o.clockProblem?.();
    if (clockProblem)
      throw new SaleRefusedError(clockProblem.code, `no sale can be taken: ${clockProblem.message}`, clockProblem.hint);
    const now = this.timers.now();
    checkOfflineLimits(this.o.limits, req.amount, currency, this.o.store.unsettled(), now);
    const saleId = randomUUID();
    const nonce = Uint8Array.from(randomBytes(HOST_NONCE_LENGTH));
    this.o.store.createSale({
      saleId,
      hostNonce: nonce,
      amount: req.amount,
      currency,
      state: 'waiting_card',
      merchantId: this.o.merchantId,
      terminalId: this.o.terminalId,
      ...(req.requestKey !== undefined ? { requestKey: req.requestKey } : {}),
      ...(req.reader !== undefined ? { reader: req.reader } : {}),
    });
    const opened = openSale(req.reader ?? null, now, this.rules);
    const sale: LiveSale = {
      saleId,
      requestKey: req.requestKey ?? null,
      amount: req.amount,
      currency,
      nonce,
      time: Math.floor(now / 1000),
      createdAt: now,
      updatedAt: now,
      state: opened.state,
      abort: new AbortController(),
    };
    this.live.set(saleId, sale);
    if (req.followed) this.leases.add(saleId);
    this.carryOut(sale, opened);
    const ready = this.o.hub
      .readersList()
      .find((r) => r.cardPresent && (req.reader === undefined || r.name === req.reader));
    if (ready) void this.runSale(sale, ready);
    return snapshotOf(sale);
  }

  /** The PIN typed at the counter page or customer display, for a sale in `pin`. Never stored or logged. */
  submitPin(saleId: string, pin: string): void {
    const sale = this.mustLive(saleId);
    const s = sale.state;
    if (s.phase === 'pin' && s.entry === 'pad') {
      throw new SaleRefusedError(
        'PIN_ON_DEVICE',
        'this reader has its own PIN pad',
        "the customer types the PIN on the terminal's pad",
      );
    }
    if (s.phase !== 'pin' || s.entry !== 'awaiting_pin' || !sale.pinWaiter) {
      throw new SaleRefusedError(
        'SALE_NOT_ASKING_PIN',
        `sale ${saleId} is not waiting for a PIN (it is ${s.phase})`,
        'send the PIN only when the sale asks for it',
      );
    }
    const bytes = new TextEncoder().encode(pin);
    if (!isValidPin(bytes)) {
      bytes.fill(0);
      throw new SaleRefusedError('PIN_FORMAT', 'a PIN is 4 to 12 digits', 'type the PIN again, digits only');
    }
    const w = sale.pinWaiter;
    sale.pinWaiter = undefined;
    w(bytes);
  }

  cancel(saleId: string): SaleSnapshot {
    const sale = this.live.get(saleId);
    if (!sale) {
      const s = this.get(saleId);
      if (!s) throw new SaleRefusedError('SALE_NOT_FOUND', `no sale ${saleId}`, 'list sales with GET /api/v1/sales');
      return s;
    }
    if (sale.state.phase === 'signing' || sale.state.phase === 'stored') {
      throw new SaleRefusedError(
        'SALE_CANNOT_CANCEL',
        'the card is signing this sale; it cannot be cancelled now',
        'wait a moment for the result',
      );
    }
    if (isRunning(sale.state) || !this.settleIfPaid(sale)) this.apply(sale, { type: 'CANCEL', by: 'merchant' });
    return snapshotOf(sale);
  }

  get(saleId: string): SaleSnapshot | undefined {
    const l = this.live.get(saleId);
    return l ? snapshotOf(l) : this.book.get(saleId);
  }

  active(): SaleSnapshot[] {
    return [...this.live.values()].map(snapshotOf);
  }

  /** A client still follows this sale (it asked about it): it stays alive. */
  follow(saleId: string): void {
    this.leases.renew(saleId);
  }

  /** A counter page is open and shows every sale: all of them are followed. */
  followAll(): void {
    this.leases.renewAll();
  }

  /** Read a card (GET_INFO) with journal recovery, outside any sale (`cardpost card info`). */
  inspect(readerName: string): Promise<CardSummary> {
    return this.diagnostics.inspect(readerName);
  }

  /** Send one APDU to a reader's card (`cardpost apdu`), between sales (reader-diagnostics.ts). */
  transmitRaw(readerName: string, apdu: Uint8Array, raw = false): Promise<Uint8Array> {
    return this.diagnostics.transmitRaw(readerName, apdu, raw);
  }

  /**
   * The daemon is stopping: live sales stop where they are (their rows say how far they got, and
   * fromRow reads them back as interrupted or unconfirmed); no timer is armed after this.
   */
  close(): void {
    this.closed = true;
    this.leases.close();
    for (const s of this.live.values()) {
      this.disarm(s);
      s.abort.abort(new Interrupted('cancelled'));
    }
    this.live.clear();
  }

  // ------------------------------------------------------------------ reader events

  private onCard(reader: CardReader): void {
    const sale = [...this.live.values()].find(
      (s) =>
        s.state.phase === 'waiting_card' &&
        !s.state.claim &&
        (s.state.reader === null || s.state.reader === reader.name),
    );
    if (sale) {
      void this.runSale(sale, reader);
      return;
    }
    // No sale wants it: still a card session, so recover what the card signed that we lack.
    void withCard(this.o.hub, reader.name, (r) => this.opener.openAndRecover(r, null)).catch((e: unknown) => {
      if (!(e instanceof TransportError))
        this.o.log?.warn({ reader: reader.name, err: describe(e) }, 'card check on insertion failed');
    });
  }

  private onCardRemoved(reader: CardReader): void {
    for (const s of this.live.values()) {
      if (!s.pinWaiter) continue; // only a PIN awaited from the API is for a card that must stay in
      if (this.apply(s, { type: 'CARD_REMOVED', reader: reader.name })?.effects.length) s.pinWaiter = undefined;
    }
  }

  // ------------------------------------------------------------------ running the machine

  private async runSale(sale: LiveSale, reader: CardReader): Promise<void> {
    if (isRunning(sale.state) || FINAL_PHASES.has(sale.state.phase)) return;
    this.apply(sale, { type: 'CARD_CLAIMED', reader: reader.name });
    try {
      await withCard(this.o.hub, reader.name, (r) => runSaleOnCard(this.cardRun, sale, r));
    } catch (e) {
      // Never an unhandled rejection; if even the failure cannot be handled, the reader is freed as for a timer.
      this.guarded(sale, () => this.stepFailed(sale, e));
    }
  }

  private stepFailed(sale: LiveSale, e: unknown): void {
    if (FINAL_PHASES.has(sale.state.phase)) return;
    if (this.settleIfPaid(sale)) return; // whatever went wrong here, its record came in by another card session
    this.apply(sale, {
      type: 'STEP_FAILED',
      failure: readFailure(e),
      cardPresent: this.readerOf(sale)?.cardPresent === true,
    });
  }

  /** Feed an event to the sale's machine and carry out what it says; the transition, or undefined if dropped. */
  private apply(sale: LiveSale, e: SaleEvent): Transition | undefined {
    const t = transition(sale.state, e, this.timers.now(), this.rules);
    if (this.closed && t.effects.some((x) => x.kind === 'arm')) return undefined; // the daemon is stopping: no new timers
    sale.state = t.state;
    this.carryOut(sale, t);
    return t;
  }

  private carryOut(sale: LiveSale, t: Transition): void {
    for (const effect of t.effects) this.effect(sale, effect);
  }

  private effect(sale: LiveSale, x: SaleEffect): void {
    switch (x.kind) {
      case 'show': {
        sale.updatedAt = this.timers.now();
        const snap = snapshotOf(sale);
        this.book.save(snap, signCardOf(sale));
        if (!this.closed) this.emit('sale', snap);
        return;
      }
      case 'disarm':
        this.disarm(sale);
        return;
      case 'arm': {
        const ms = x.at - this.timers.now();
        if (x.timer === 'card') {
          sale.cardTimer = this.timers.setTimer(
            () =>
              this.guarded(sale, () => {
                if (sale.state.phase !== 'waiting_card' || sale.state.claim || !this.settleIfPaid(sale))
                  this.apply(sale, { type: 'CARD_TIME_UP' });
              }),
            ms,
          );
        } else {
          sale.retryTimer = this.timers.setTimer(
            () =>
              this.guarded(sale, () => {
                sale.retryTimer = undefined;
                this.apply(sale, { type: 'RETRY_DUE', cardPresent: this.readerOf(sale)?.cardPresent === true });
              }),
            ms,
          );
        }
        return;
      }
      case 'abort':
        sale.abort.abort(new Interrupted(x.why));
        return;
      case 'renew_abort':
        sale.abort = new AbortController();
        return;
      case 'release':
        this.live.delete(sale.saleId);
        this.leases.drop(sale.saleId);
        return;
      case 'try_card': {
        const reader = this.readerOf(sale);
        if (reader) void this.runSale(sale, reader);
        return;
      }
      case 'log_failure':
        this.o.log?.warn({ saleId: sale.saleId, code: x.error.code, err: x.error.message }, 'sale failed');
        return;
    }
  }

  /**
   * A timer's work, never an uncaught exception (the queue file locked or closed). If it fails, the sale
   * is taken out of the live set so the reader is free again; its row and record say where it stood.
   */
  private guarded(sale: LiveSale, work: () => void): void {
    try {
      work();
    } catch (e) {
      this.disarm(sale);
      this.live.delete(sale.saleId);
      this.leases.drop(sale.saleId);
      this.o.log?.warn({ saleId: sale.saleId, err: describe(e) }, 'sale step failed; the sale is left as stored');
    }
  }

  private disarm(sale: LiveSale): void {
    if (sale.cardTimer) this.timers.clearTimer(sale.cardTimer);
    if (sale.retryTimer) this.timers.clearTimer(sale.retryTimer);
    sale.cardTimer = undefined;
    sale.retryTimer = undefined;
  }

  private abandon(saleId: string): void {
    const sale = this.live.get(saleId);
    if (!sale) {
      this.leases.drop(saleId);
      return;
    }
    this.guarded(sale, () => {
      const state = sale.state.phase;
      if (this.apply(sale, { type: 'CANCEL', by: 'abandoned' })?.effects.length)
        this.o.log?.warn({ saleId, state }, 'sale abandoned by its client; cancelled');
    });
  }

  // ------------------------------------------------------------------ outcomes

  /** Durable first, receipt second: `stored` when the caller has committed the record already. */
  private complete(
    sale: LiveSale,
    record: SignedTxnRecord,
    fromJournal: boolean,
    stored?: { recordId: string; already: boolean },
  ): void {
    const res =
      stored ?? this.o.store.storeRecord(record, { origin: fromJournal ? 'recovered' : 'sale', saleId: sale.saleId });
    if (!fromJournal && !res.already)
      this.emit('stored', {
        recordId: res.recordId,
        saleId: sale.saleId,
        amount: record.amount,
        currency: record.currency,
      });
    this.apply(sale, { type: 'RECORD_STORED', recordId: res.recordId, fromJournal });
    const receipt = receiptOfRecord(sale.saleId, res.recordId, record, this.o.online());
    this.o.log?.info(
      { saleId: sale.saleId, recordId: res.recordId, amount: record.amount, fromJournal },
      'sale stored',
    );
    this.apply(sale, { type: 'RECEIPT', receipt });
  }

  /** A live sale waiting for its paying card, whose record has just come from that card's journal elsewhere. */
  private answerWaitingSale(saleId: string, record: SignedTxnRecord, mismatch: string | undefined): void {
    const sale = this.live.get(saleId);
    if (!sale || sale.state.phase !== 'waiting_card' || sale.state.claim || !payingCard(sale.state)) return;
    if (!mismatch) {
      this.complete(sale, record, true);
      return;
    }
    this.apply(sale, { type: 'NOT_SIGNED' });
    this.apply(sale, {
      type: 'STEP_FAILED',
      failure: { kind: 'fatal', error: toSaleError(recordMismatchError(mismatch)) },
      cardPresent: false,
    });
  }

  /** A sale whose answer was lost, if another card session has stored its record meanwhile: paid now (true). */
  private settleIfPaid(sale: LiveSale): boolean {
    if (!payingCard(sale.state)) return false;
    const stored = this.storedRecordOf(sale);
    if (!stored || stored.mismatch) return false;
    this.complete(sale, stored.record, true, { recordId: recordId(stored.record), already: true });
    return true;
  }

  /** The record stored for a sale whose answer was lost here, if another card session stored it meanwhile. */
  private storedRecordOf(sale: LiveSale): { record: SignedTxnRecord; mismatch: string | undefined } | undefined {
    try {
      const found = this.o.store.recordOfSale(sale.saleId);
      return found ? { record: found.record, mismatch: found.held ?? undefined } : undefined;
    } catch (e) {
      this.o.log?.warn({ saleId: sale.saleId, err: describe(e) }, "could not look for the sale's record");
      return undefined;
    }
  }

  // ------------------------------------------------------------------ lookups

  private readerOf(sale: LiveSale): CardReader | undefined {
    return sale.state.reader !== null ? this.o.hub.get(sale.state.reader) : undefined;
  }

  private mustLive(saleId: string): LiveSale {
    const s = this.live.get(saleId);
    if (!s) throw new SaleRefusedError('SALE_NOT_FOUND', `no sale ${saleId} in progress`, 'start a new sale');
    return s;
  }

  private byRequestKey(key: string): SaleSnapshot | undefined {
    for (const s of this.live.values()) if (s.requestKey === key) return snapshotOf(s);
    return this.book.byRequestKey(key);
  }
}
