import { EventEmitter } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { HOST_NONCE_LENGTH, isValidPin } from '../../protocol/commands/index.js';
import { TransportError, type CardReader } from '../../protocol/transport.js';
import { CardOpener, withCard } from './card-opening.js';
import { runSaleOnCard, type CardRunContext } from './card-run.js';
import type { SaleEngineEvents, SaleEngineOptions } from './engine-options.js';
import { FollowLeases } from './follow-lease.js';
import { snapshotOf, type LiveSale } from './live-sale.js';
import { checkOfflineLimits, SaleRefusedError } from './offline-limits.js';
import { ReaderDiagnostics, type CardSummary } from './reader-diagnostics.js';
import { SaleOutcomes } from './sale-outcomes.js';
import { EffectRunner } from './sale-effects.js';
import { SaleBook, describe } from './sale-book.js';
import {
  checkSaleRequest,
  refuseIfClockWrong,
  openToAnySale,
  refuseIfNoOpenReader,
  refuseIfReaderBusy,
  sameSaleForKey,
  type SaleRequest,
} from './sale-request.js';
import {
  FINAL_PHASES,
  isRunning,
  openSale,
  transition,
  type SaleEvent,
  type SaleRules,
  type Transition,
} from './sale-machine.js';
import { realTimers, type SaleTimers } from './sale-timers.js';
import type { SaleSnapshot } from './sale-types.js';
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
  private readonly outcomes: SaleOutcomes;
  private readonly effects: EffectRunner;
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
      ...(o.revoked ? { revoked: o.revoked } : {}),
      hooks: {
        recovered: (e) => this.emit('recovered', e),
        stored: (e) => this.emit('stored', e),
        isLive: (id) => this.live.has(id),
        rowSettled: (id) => {
          this.book.forget(id);
          const snap = this.get(id);
          if (snap) this.emit('sale', snap);
        },
        liveSaleRecord: (id, record, mismatch) => this.outcomes.answerWaitingSale(id, record, mismatch),
        journalGap: (cardId) => {
          for (const s of this.live.values()) this.apply(s, { type: 'JOURNAL_GAP', cardId });
        },
      },
    });
    this.outcomes = new SaleOutcomes({
      store: o.store,
      online: o.online,
      ...(o.log ? { log: o.log } : {}),
      live: (id) => this.live.get(id),
      apply: (sale, e) => {
        this.apply(sale, e);
      },
      stored: (e) => this.emit('stored', e),
    });
    this.effects = new EffectRunner({
      timers: this.timers,
      book: this.book,
      ...(o.log ? { log: o.log } : {}),
      closed: () => this.closed,
      emitSale: (snap) => this.emit('sale', snap),
      apply: (sale, e) => {
        this.apply(sale, e);
      },
      settleIfPaid: (sale) => this.outcomes.settleIfPaid(sale),
      readerOf: (sale) => this.readerOf(sale),
      runSale: (sale, reader) => void this.runSale(sale, reader),
      release: (saleId) => {
        this.live.delete(saleId);
        this.leases.drop(saleId);
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
      saleMayUse: (name) =>
        [...this.live.values()].some(
          (s) => s.state.reader === name || (s.state.reader === null && this.openToAny(name)),
        ),
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
      complete: (sale, record, fromJournal, stored) => this.outcomes.complete(sale, record, fromJournal, stored),
      storedRecordOf: (sale) => this.outcomes.storedRecordOf(sale),
    };
    o.hub.on('card', (reader) => this.onCard(reader));
    o.hub.on('cardRemoved', (reader) => this.onCardRemoved(reader));
  }

  // ------------------------------------------------------------------ public API

  /**
   * Start a sale. With a `requestKey` the call is idempotent: the same key returns the sale it
   * started before (a re-sent request from a terminal or a retried HTTP call never charges twice).
   */
  start(req: SaleRequest): SaleSnapshot {
    const known = req.requestKey !== undefined ? this.byRequestKey(req.requestKey) : undefined;
    if (known) return sameSaleForKey(known, req, this.o.currency);
    const currency = req.currency ?? this.o.currency;
    checkSaleRequest(req.amount, currency, req.reader, this.o.hub);
    refuseIfReaderBusy(req.reader, this.live.values(), this.openToAny);
    refuseIfNoOpenReader(req.reader, this.o.hub.list(), this.openToAny);
    refuseIfClockWrong(this.o.clockProblem?.());
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
      .find((r) => r.cardPresent && (req.reader === undefined ? this.openToAny(r.name) : r.name === req.reader));
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
    if (isRunning(sale.state) || !this.outcomes.settleIfPaid(sale))
      this.apply(sale, { type: 'CANCEL', by: 'merchant' });
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
      this.effects.disarm(s);
      s.abort.abort(new Interrupted('cancelled'));
    }
    this.live.clear();
  }

  // ------------------------------------------------------------------ reader events

  /** A sale naming no reader may take this one: never a serial terminal's slot (sale-request.ts openToAnySale). */
  private readonly openToAny = (name: string): boolean => openToAnySale(this.o.hub.info(name)?.kind);

  private onCard(reader: CardReader): void {
    const sale = [...this.live.values()].find(
      (s) =>
        s.state.phase === 'waiting_card' &&
        !s.state.claim &&
        (s.state.reader === null ? this.openToAny(reader.name) : s.state.reader === reader.name),
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
      this.effects.guarded(sale, () => this.stepFailed(sale, e));
    }
  }

  private stepFailed(sale: LiveSale, e: unknown): void {
    if (FINAL_PHASES.has(sale.state.phase)) return;
    if (this.outcomes.settleIfPaid(sale)) return; // whatever went wrong here, its record came in by another card session
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
    for (const effect of t.effects) this.effects.run(sale, effect);
  }

  private abandon(saleId: string): void {
    const sale = this.live.get(saleId);
    if (!sale) {
      this.leases.drop(saleId);
      return;
    }
    this.effects.guarded(sale, () => {
      const state = sale.state.phase;
      if (this.apply(sale, { type: 'CANCEL', by: 'abandoned' })?.effects.length)
        this.o.log?.warn({ saleId, state }, 'sale abandoned by its client; cancelled');
    });
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
