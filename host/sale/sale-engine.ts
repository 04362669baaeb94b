import { EventEmitter } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { bytesEqual, toHex } from '../../protocol/bytes.js';
import { CardpostError } from '../../protocol/errors.js';
import { TransportError, type CardReader } from '../../protocol/transport.js';
import { decodeCommandApdu, encodeResponseApdu, exchange } from '../../protocol/apdu/index.js';
import { CardClient, CardStatusError, HOST_NONCE_LENGTH, MAX_AMOUNT, isValidPin, type CardInfo, type SignTxnRequest } from '../../protocol/commands/index.js';
import { CVM, recordAnswersRequest, recordId, type SignedTxnRecord, type TrustStore } from '../../protocol/record/index.js';
import { CardSession, CardSessionError, SignedAnswerRefusedError, recordMismatchError, type ChainHead } from '../session/card-session.js';
import type { HostStore, SaleRow } from '../store/host-store.js';
import { checkRawApdu } from '../session/raw-apdu-policy.js';
import { retryStore } from '../store/retry-store.js';
import type { ClockProblem } from './clock-check.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import { checkOfflineLimits, SaleRefusedError, type OfflineLimits } from './offline-limits.js';
import { FINAL_STATES, toSaleError, unconfirmedError, type Receipt, type SaleError, type SaleSnapshot, type SaleState } from './sale-types.js';

export interface SaleTimeouts {
  /** How long a sale waits for the card (inserted, tapped, put back after a pull). */
  cardMs: number;
  /** How long the customer has for each PIN entry. */
  pinMs: number;
  /**
   * How long a sale started by an API client lives without that client (or an open counter page)
   * following it: a killed `cardpost sale` or a closed page must not leave a sale that charges the
   * next card tapped for another purpose. Default 5 s.
   */
  followMs?: number;
}

/** Test hooks for fault scenarios; never set in production config. */
export interface SaleFaultHooks {
  /** Called after the card signed and the record checked out, before the SQLite commit. */
  afterSign?: (record: SignedTxnRecord) => void;
}

export interface SaleEngineOptions {
  store: HostStore;
  trust: TrustStore;
  hub: ReaderHub;
  merchantId: string;
  terminalId: string;
  currency: number;
  timeouts: SaleTimeouts;
  limits: OfflineLimits;
  /** Whether the bank answers now (shown on the receipt). */
  online: () => boolean;
  clock?: () => number;
  /** Whether the clock may date a sale now (clock-check.ts); a problem refuses new sales with CLOCK_WRONG. */
  clockProblem?: () => ClockProblem | undefined;
  faults?: SaleFaultHooks;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export interface CardSummary {
  reader: string;
  cardId: string;
  lifecycle: number;
  balance: number;
  currency: number | null;
  counter: number;
  pinRetries: number;
  offlineAmount: number;
  offlineCount: number;
  limits: CardInfo['limits'] | null;
  notAfter: number;
  recovered: string[];
}

export interface SaleEngineEvents {
  sale: [SaleSnapshot];
  recovered: [{ recordId: string; cardId: string; saleId: string | null }];
  stored: [{ recordId: string; saleId: string | null; amount: number; currency: number }];
}

interface LiveSale {
  snap: SaleSnapshot;
  nonce: Uint8Array;
  time: number;
  abort: AbortController;
  timer: NodeJS.Timeout | undefined;
  /** The next try of a card left in the reader after a failed step. */
  retryTimer: NodeJS.Timeout | undefined;
  /** When waiting for the card ends; kept across tries of a card left in the reader. */
  cardDeadline: number;
  retries: number;
  /**
   * The card SIGN_TXN went to, until its answer is in (or its journal shows it did not sign). While
   * set, the sale may be paid: it never ends cancelled, timed out or failed, and only this card may
   * finish it.
   */
  signedBy: string | undefined;
  /** The card's counter when SIGN_TXN went out: unchanged on its return means it signed nothing since. */
  signCounter: number;
  /** Records of the paying card were lost from view (a journal gap, seen in any card session) since SIGN_TXN went out. */
  outcomeLost: boolean;
  /** The merchant asked to cancel (kept apart from the abort reason, which a card pull may have set first). */
  cancelRequested: boolean;
  /** The cancel was the engine's: the client that started the sale went away. */
  abandoned?: boolean;
  running: boolean;
  pinWaiter: ((pin: Uint8Array) => void) | undefined;
  pinVerified: boolean;
  /** When a client last showed it follows this sale; undefined for sales that need no follower (a terminal's own). */
  followedAt: number | undefined;
}

const RETRYABLE = new Set(['CARD_REMOVED', 'NO_CARD', 'READER_GONE', 'TIMEOUT']);
/** Tries of a card left in the reader after a failed step: 100 ms, doubling, at most 2 s apart. */
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 2000;
const RECOVERED_NOTICE: SaleError = { code: 'RECOVERED', message: 'paid: the record came back from the card\'s journal after the sale was interrupted', hint: '' };
const DEFAULT_FOLLOW_MS = 5000;
/** How long a signed record is retried against a locked or failing queue database before the sale ends unconfirmed. */
const STORE_RETRY_MS = 30_000;
const ABANDONED: SaleError = {
  code: 'SALE_ABANDONED', message: 'cancelled: the page or command that started this sale went away before the card paid, so no card was charged',
  hint: 'start the sale again from the counter page or with cardpost sale',
};
/** How often followed sales are checked for a client that went away. */
const FOLLOW_CHECK_MS = 500;
const maskCard = (cardId: string) => '•'.repeat(Math.max(0, cardId.length - 4)) + cardId.slice(-4);

/** SIGN_TXN came back with something the host cannot take; whether the card signed is read from its journal. */
class UnclearAnswer extends Error {
  constructor(override readonly cause: CardpostError) { super(cause.message); }
}

class Interrupted extends Error {
  constructor(readonly why: 'cancelled' | 'timed_out' | 'card_removed' | 'other_card') { super(why); }
}

/**
 * The sale flow at the counter. One sale per reader at a time. Every card session begins with
 * journal recovery (records the card signed that this host never stored come back first), and a
 * sale's record is committed to SQLite before the sale reaches `stored` and a receipt exists.
 */
export class SaleEngine extends EventEmitter<SaleEngineEvents> {
  private readonly live = new Map<string, LiveSale>();
  /** Sales whose latest state could not be written yet (the queue file locked or full). */
  private readonly unsaved = new Map<string, { snap: SaleSnapshot; signedBy: string | undefined }>();
  private readonly clock: () => number;
  private closed = false;
  private followTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: SaleEngineOptions) {
    super();
    this.clock = o.clock ?? Date.now;
    o.hub.on('card', (reader) => this.onCard(reader));
    o.hub.on('cardRemoved', (reader) => this.onCardRemoved(reader));
  }

  // ------------------------------------------------------------------ public API

  /**
   * Start a sale. With a `requestKey` the call is idempotent: the same key returns the sale it
   * started before (a re-sent request from a terminal or a retried HTTP call never charges twice).
   */
  start(req: { amount: number; currency?: number; reader?: string; requestKey?: string; followed?: boolean }): SaleSnapshot {
    if (req.requestKey !== undefined) {
      const known = this.byRequestKey(req.requestKey);
      if (known) {
        const otherReader = req.reader !== undefined && known.reader !== null && known.reader !== req.reader;
        if (known.amount !== req.amount || known.currency !== (req.currency ?? this.o.currency) || otherReader) {
          throw new SaleRefusedError('SALE_KEY_REUSED', `request key ${req.requestKey} was used for another sale`, 'use a new request key for each sale');
        }
        return known;
      }
    }
    const currency = req.currency ?? this.o.currency;
    if (!Number.isSafeInteger(req.amount) || req.amount <= 0 || req.amount > MAX_AMOUNT) {
      throw new SaleRefusedError('SALE_AMOUNT_INVALID', `amount must be a positive whole number of minor units, got ${req.amount}`, 'enter the amount again, e.g. 12.50');
    }
    if (!Number.isInteger(currency) || currency < 1 || currency > 999) {
      throw new SaleRefusedError('SALE_CURRENCY_INVALID', `currency must be an ISO 4217 numeric code, got ${currency}`, 'use e.g. 156 (CNY)');
    }
    if (req.reader !== undefined) this.mustKnowReader(req.reader);
    for (const s of this.live.values()) {
      if (req.reader === undefined || s.snap.reader === null || s.snap.reader === req.reader) {
        throw new SaleRefusedError('SALE_IN_PROGRESS', `sale ${s.snap.saleId} is still ${s.snap.state.replace('_', ' ')}`, `finish or cancel it first (cardpost sale cancel ${s.snap.saleId}, or Esc on the counter page)`);
      }
    }
    const clockProblem = this.o.clockProblem?.();
    if (clockProblem) throw new SaleRefusedError(clockProblem.code, `no sale can be taken: ${clockProblem.message}`, clockProblem.hint);
    const now = this.clock();
    checkOfflineLimits(this.o.limits, req.amount, currency, this.o.store.unsettled(), now);
    const saleId = randomUUID();
    const nonce = Uint8Array.from(randomBytes(HOST_NONCE_LENGTH));
    this.o.store.createSale({ saleId, hostNonce: nonce, amount: req.amount, currency, state: 'waiting_card', merchantId: this.o.merchantId, terminalId: this.o.terminalId, ...(req.requestKey !== undefined ? { requestKey: req.requestKey } : {}), ...(req.reader !== undefined ? { reader: req.reader } : {}) });
    const sale: LiveSale = {
      snap: {
        saleId, requestKey: req.requestKey ?? null, amount: req.amount, currency, reader: req.reader ?? null, state: 'waiting_card',
        pinTriesLeft: null, pinOnDevice: false, deadline: null, notice: null, receipt: null, error: null, createdAt: now, updatedAt: now,
      },
      nonce,
      time: Math.floor(now / 1000),
      abort: new AbortController(),
      timer: undefined,
      retryTimer: undefined,
      cardDeadline: now + this.o.timeouts.cardMs,
      retries: 0,
      signedBy: undefined,
      signCounter: 0,
      outcomeLost: false,
      cancelRequested: false,
      running: false,
      pinWaiter: undefined,
      pinVerified: false,
      followedAt: req.followed ? now : undefined,
    };
    this.live.set(saleId, sale);
    if (req.followed) this.watchFollowers();
    this.waitForCard(sale, null);
    const ready = this.o.hub.readersList().find((r) => r.cardPresent && (req.reader === undefined || r.name === req.reader));
    if (ready) void this.run(sale, ready);
    return { ...sale.snap };
  }

  /** The PIN typed at the counter page or customer display, for a sale in `pin`. Never stored or logged. */
  submitPin(saleId: string, pin: string): void {
    const sale = this.mustLive(saleId);
    if (sale.snap.state !== 'pin' || !sale.pinWaiter) {
      throw new SaleRefusedError('SALE_NOT_ASKING_PIN', `sale ${saleId} is not waiting for a PIN (it is ${sale.snap.state})`, 'send the PIN only when the sale asks for it');
    }
    if (sale.snap.pinOnDevice) {
      throw new SaleRefusedError('PIN_ON_DEVICE', 'this reader has its own PIN pad', 'the customer types the PIN on the terminal\'s pad');
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
    if (sale.snap.state === 'signing' || sale.snap.state === 'stored') {
      throw new SaleRefusedError('SALE_CANNOT_CANCEL', 'the card is signing this sale; it cannot be cancelled now', 'wait a moment for the result');
    }
    sale.cancelRequested = true;
    sale.abort.abort(new Interrupted('cancelled'));
    if (!sale.running) this.finish(sale, 'cancelled', null);
    return { ...sale.snap };
  }

  get(saleId: string): SaleSnapshot | undefined {
    const l = this.live.get(saleId);
    if (l) return { ...l.snap };
    const u = this.unsaved.get(saleId);
    if (u) return { ...u.snap };
    const row = this.o.store.sale(saleId);
    return row ? this.fromRow(row) : undefined;
  }

  active(): SaleSnapshot[] { return [...this.live.values()].map((s) => ({ ...s.snap })); }

  /** A client still follows this sale (it asked about it): it stays alive. */
  follow(saleId: string): void {
    const s = this.live.get(saleId);
    if (s && s.followedAt !== undefined) s.followedAt = this.clock();
  }

  /** A counter page is open and shows every sale: all of them are followed. */
  followAll(): void {
    const now = this.clock();
    for (const s of this.live.values()) if (s.followedAt !== undefined) s.followedAt = now;
  }

  /**
   * Sales whose client went away end cancelled (SALE_ABANDONED) before any card is asked to pay;
   * one already at the card's signature runs to its end as always.
   */
  private watchFollowers(): void {
    if (this.followTimer || this.closed) return;
    this.followTimer = setInterval(() => {
      const limit = this.o.timeouts.followMs ?? DEFAULT_FOLLOW_MS;
      let followed = 0;
      for (const s of [...this.live.values()]) {
        if (s.followedAt === undefined) continue;
        followed++;
        if (this.clock() - s.followedAt <= limit || s.snap.state === 'signing' || s.snap.state === 'stored' || s.signedBy !== undefined) continue;
        this.guarded(s, () => this.abandon(s));
      }
      if (followed === 0) { clearInterval(this.followTimer); this.followTimer = undefined; }
    }, FOLLOW_CHECK_MS);
    this.followTimer.unref?.();
  }

  private abandon(sale: LiveSale): void {
    this.o.log?.warn({ saleId: sale.snap.saleId, state: sale.snap.state }, 'sale abandoned by its client; cancelled');
    sale.cancelRequested = true;
    sale.abandoned = true;
    sale.abort.abort(new Interrupted('cancelled'));
    if (!sale.running) this.finish(sale, 'cancelled', ABANDONED);
  }

  /** Read a card (GET_INFO) with journal recovery, outside any sale (`cardpost card info`). */
  async inspect(readerName: string): Promise<CardSummary> {
    this.mustKnowReader(readerName);
    for (const s of this.live.values()) {
      if (s.snap.reader === readerName || s.snap.reader === null) throw new SaleRefusedError('READER_BUSY', `a sale is using ${readerName}`, 'finish or cancel the sale first');
    }
    return this.withCard(readerName, async (reader) => {
      const { session, recovered } = await this.openAndRecover(reader, null);
      const i = session.info;
      return {
        reader: reader.name, cardId: session.cardId, lifecycle: i.lifecycle, balance: i.balance, currency: i.currency ?? null, counter: i.counter,
        pinRetries: i.pinRetries, offlineAmount: i.offlineAmount, offlineCount: i.offlineCount, limits: i.limits ?? null,
        notAfter: session.certificate.notAfter, recovered: recovered.map((r) => recordId(r)),
      };
    });
  }

  /**
   * Send one APDU to a reader's card (`cardpost apdu`), between sales. By default 61xx and 6Cxx are
   * followed (GET RESPONSE, Le re-sent) as for every other command; `raw` returns the card's first answer as is.
   */
  async transmitRaw(readerName: string, apdu: Uint8Array, raw = false): Promise<Uint8Array> {
    this.mustKnowReader(readerName);
    for (const s of this.live.values()) {
      if (s.snap.reader === readerName || s.snap.reader === null) throw new SaleRefusedError('READER_BUSY', `a sale is using ${readerName}`, 'finish or cancel the sale first');
    }
    const cmd = decodeCommandApdu(apdu); // malformed input is refused before the card sees it
    checkRawApdu(cmd); // reads only: nothing that signs, loads, verifies or changes a PIN, or personalises
    return this.withCard(readerName, async (reader) => {
      if (raw) return reader.transmit(apdu);
      const res = await exchange(reader, cmd, { extendedLength: reader.extendedLength });
      return encodeResponseApdu(res.data, res.sw);
    });
  }

  /**
   * The daemon is stopping: live sales stop where they are (their rows say how far they got, and
   * fromRow reads them back as interrupted or unconfirmed); nothing is written after this.
   */
  close(): void {
    this.closed = true;
    if (this.followTimer) clearInterval(this.followTimer);
    for (const s of this.live.values()) { this.clearTimer(s); s.abort.abort(new Interrupted('cancelled')); }
    this.live.clear();
  }

  /**
   * One card session: the reader held exclusively, and at its end the card re-selected, which clears
   * a verified PIN (docs/protocol.md §2): nothing verified for one sale outlives it, whether the next
   * command comes from another sale or from anywhere else.
   */
  private withCard<T>(readerName: string, work: (reader: CardReader) => Promise<T>): Promise<T> {
    return this.o.hub.exclusive(readerName, async (reader) => {
      try {
        return await work(reader);
      } finally {
        // A card taken out has lost power, and with it the verified state.
        if (reader.cardPresent) await new CardClient(reader).select().catch(() => undefined);
      }
    });
  }

  // ------------------------------------------------------------------ reader events

  private onCard(reader: CardReader): void {
    const sale = [...this.live.values()].find((s) => s.snap.state === 'waiting_card' && !s.running && (s.snap.reader === null || s.snap.reader === reader.name));
    if (sale) { void this.run(sale, reader); return; }
    // No sale wants it: still a card session, so recover what the card signed that we lack.
    void this.withCard(reader.name, (r) => this.openAndRecover(r, null)).catch((e: unknown) => {
      if (!(e instanceof TransportError)) this.o.log?.warn({ reader: reader.name, err: describe(e) }, 'card check on insertion failed');
    });
  }

  private onCardRemoved(reader: CardReader): void {
    for (const s of this.live.values()) {
      if (s.snap.reader === reader.name && s.snap.state === 'pin' && s.pinWaiter) {
        // The card forgets a verified PIN when it loses power: wait for it again.
        s.pinWaiter = undefined;
        s.abort.abort(new Interrupted('card_removed'));
      }
    }
  }

  // ------------------------------------------------------------------ the flow

  private async run(sale: LiveSale, reader: CardReader): Promise<void> {
    if (sale.running || FINAL_STATES.has(sale.snap.state)) return;
    sale.running = true;
    this.clearTimer(sale);
    try {
      await this.withCard(reader.name, (r) => this.runOnCard(sale, r));
    } catch (e) {
      try {
        this.onRunError(sale, e);
      } catch (e2) {
        this.o.log?.warn({ saleId: sale.snap.saleId, err: describe(e2) }, 'sale error handling failed'); // never an unhandled rejection
      }
    } finally {
      sale.running = false;
    }
  }

  private async runOnCard(sale: LiveSale, reader: CardReader): Promise<void> {
    if (sale.abort.signal.aborted) throw sale.abort.signal.reason;
    this.update(sale, { state: 'reading_card', reader: reader.name, deadline: null });
    const opened = await this.openAndRecover(reader, sale);
    const { session } = opened;
    // This sale's record: from this card's journal now, or stored already by another card session
    // (the card taken to another reader, or looked at between sales) while the answer was lost here.
    const mine = opened.mine ?? (sale.signedBy !== undefined ? this.storedRecordOf(sale) : undefined);
    if (mine) {
      if (mine.mismatch) {
        sale.signedBy = undefined; // the card's answer is in: it signed something else
        throw recordMismatchError(mine.mismatch);
      }
      this.complete(sale, mine.record, true);
      return;
    }
    if (sale.signedBy !== undefined && session.cardId !== sale.signedBy) throw new Interrupted('other_card');
    if (sale.signedBy === undefined && opened.confirmed.length > 0) {
      // This card has just turned out to have paid an earlier sale the merchant was told was not confirmed
      // (maybe the very purchase now keyed again): never charge it again in the same breath.
      const e = opened.confirmed[0]!;
      throw new SaleRefusedError('SALE_EARLIER_PAID',
        `this card had paid an earlier sale of ${e.amount} (currency ${e.currency}, sale ${e.saleId}) whose answer was lost; it is now confirmed paid, and this sale was not charged`,
        'if this is the same purchase, the customer has already paid; if it is another one, start the sale again');
    }
    const { head, gap } = this.chainToContinue(session, opened.head);
    if (sale.signedBy !== undefined) {
      if (session.info.counter !== sale.signCounter && (sale.outcomeLost || gap || opened.gap)) {
        // The card signed since, and its journal no longer reaches back: whether one of those was this
        // sale cannot be read from it. Never sign again on a guess.
        throw new CardSessionError('SALE_OUTCOME_LOST',
          `card ••${session.cardId.slice(-4)} has signed ${session.info.counter - sale.signCounter} record(s) since this sale and no longer holds them all: whether it paid this sale cannot be read from it`,
          'do not charge this sale again here; the bank\'s statement for the card shows whether it was paid');
      }
      // Every record the card signed since SIGN_TXN went out is known here, and none is this sale's: it never signed it.
      sale.signedBy = undefined;
    }
    if (sale.abort.signal.aborted) throw sale.abort.signal.reason;
    const info = session.info;
    if (info.currency !== undefined && info.currency !== sale.snap.currency) {
      throw new CardStatusError(0x24, 'SIGN_TXN');
    }
    const request: SignTxnRequest = {
      amount: sale.snap.amount, currency: sale.snap.currency, merchantId: this.o.merchantId, terminalId: this.o.terminalId,
      time: sale.time, hostNonce: sale.nonce,
    };
    let triesLeft = info.pinRetries;
    let needPin = !info.pinVerified && info.limits !== undefined && sale.snap.amount > info.limits.noPin;
    for (;;) {
      if (needPin) {
        await this.askPin(sale, session, reader, triesLeft);
        needPin = false;
      }
      if (sale.abort.signal.aborted) throw sale.abort.signal.reason;
      // From here until the card answers, the sale may be paid whatever happens to the answer. That is
      // on disk before the card is asked (a write that fails stops the sale here, nothing signed), so the
      // sale never reads back as "not paid" after a crash or power loss.
      this.o.store.markSigning(sale.snap.saleId, session.cardId);
      sale.signedBy = session.cardId;
      sale.signCounter = info.counter;
      sale.outcomeLost = false;
      this.update(sale, { state: 'signing', pinTriesLeft: null, deadline: null });
      let record: SignedTxnRecord;
      try {
        record = await session.sign(request, head);
      } catch (e) {
        if (e instanceof CardStatusError) {
          sale.signedBy = undefined; // the card refused with a status word: it signed nothing
          if (e.statusName === 'PIN_REQUIRED') {
            needPin = true;
            triesLeft = e.retries ?? triesLeft;
            continue;
          }
        }
        if (e instanceof SignedAnswerRefusedError) this.keepRefusedAnswer(sale, session.cardId, e);
        // An answer that came back but cannot be taken (spoiled bytes, a bad signature, an unknown status
        // word): the card may have signed. Its journal says; read it before anything is said.
        if (sale.signedBy !== undefined && e instanceof CardpostError && !(e instanceof TransportError)) throw new UnclearAnswer(e);
        throw e;
      }
      this.o.faults?.afterSign?.(record);
      // The card has paid: the record must reach the disk. A locked or failing queue file is waited out
      // with timers (never a blocked event loop); if it stays so, the record stays in the card's journal
      // and the sale ends unconfirmed, to be made paid by recovery at the card's next use.
      const stored = await retryStore(() => this.o.store.storeRecord(record, { origin: 'sale', saleId: sale.snap.saleId }), {
        budgetMs: STORE_RETRY_MS,
        onRetry: (e, attempt) => { if (attempt === 1) this.o.log?.warn({ saleId: sale.snap.saleId, err: e.message }, 'queue database unavailable; retrying the signed record'); },
      });
      this.complete(sale, record, false, stored);
      return;
    }
  }

  /** Open the card, remember its chain head, recover journal records; find this sale's record among them. */
  private async openAndRecover(reader: CardReader, sale: LiveSale | null): Promise<{
    session: CardSession; head: ChainHead | undefined; recovered: SignedTxnRecord[]; mine: { record: SignedTxnRecord; mismatch: string | undefined } | undefined;
    /** The card's journal no longer reached back to the head: records were lost from view. */
    gap: boolean;
    /** Earlier sales (ended unpaid or unconfirmed) that this session's recovery has just shown paid. */
    confirmed: { saleId: string; amount: number; currency: number }[];
  }> {
    const session = await CardSession.open(reader, this.o.trust, { now: Math.floor(this.clock() / 1000) });
    const cardId = session.cardId;
    const store = this.o.store;
    store.observeCard(cardId, session.info.counter, session.info.lastRecordHash, session.certificate.envelope);
    let head: ChainHead | undefined = this.trustedHead(session);
    const recovered: SignedTxnRecord[] = [];
    let mine: { record: SignedTxnRecord; mismatch: string | undefined } | undefined;
    let gap = false;
    const confirmed: { saleId: string; amount: number; currency: number }[] = [];
    if (head && session.info.counter > head.counter) {
      let records: SignedTxnRecord[];
      try {
        records = await session.recover(head);
      } catch (e) {
        if (!(e instanceof CardSessionError) || e.code !== 'JOURNAL_GAP') throw e;
        // The card has moved on past its journal's reach since we last saw it: keep what it still holds.
        gap = true;
        this.journalGap(cardId, { from: head.counter + 1, message: e.message });
        records = await session.recover(undefined);
      }
      for (const r of records) {
        const isMine = sale !== null && bytesEqual(r.hostNonce, sale.nonce);
        // A record of an earlier sale that never finished here (daemon killed, card pulled and not
        // brought back): it finds that sale by its nonce, and the sale is marked paid after all,
        // if the record is that sale. One that is not (another amount under the sale's nonce) is held.
        const earlier = isMine ? undefined : store.saleByNonce(r.hostNonce);
        // Another counter's record: that counter settles it. (A record of a sale of ours signed before the
        // terminal id was changed is still ours: its nonce says so.)
        if (!isMine && !earlier && r.terminalId !== this.o.terminalId) { store.passOver(r); continue; }
        const saleId = isMine ? sale.snap.saleId : earlier?.saleId;
        const mismatch = isMine ? recordAnswersRequest(r, this.requestOf(sale))
          : earlier ? recordAnswersRequest(r, { ...this.requestOf(earlier), time: r.time, hostNonce: r.hostNonce }) : undefined;
        const res = store.storeRecord(r, { origin: 'recovered', ...(saleId ? { saleId } : {}), ...(mismatch ? { hold: { reason: 'RECORD_MISMATCH', detail: mismatch } } : {}) });
        if (!res.already) {
          recovered.push(r);
          this.o.log?.[mismatch ? 'warn' : 'info']({ recordId: res.recordId, saleId: saleId ?? null, ...(mismatch ? { held: mismatch } : {}) }, 'record recovered from the card journal');
          this.emit('recovered', { recordId: res.recordId, cardId, saleId: saleId ?? null });
          if (!mismatch) this.emit('stored', { recordId: res.recordId, saleId: saleId ?? null, amount: r.amount, currency: r.currency });
        }
        if (earlier && earlier.state !== 'done' && !this.live.has(earlier.saleId)) {
          if (mismatch) {
            store.updateSale(earlier.saleId, { state: 'failed', errorCode: 'RECORD_MISMATCH', errorText: recordMismatchError(mismatch).message });
          } else {
            store.updateSale(earlier.saleId, { state: 'done', recordId: res.recordId, paidOnline: this.o.online(), errorCode: RECOVERED_NOTICE.code, errorText: RECOVERED_NOTICE.message });
            confirmed.push({ saleId: earlier.saleId, amount: earlier.amount, currency: earlier.currency });
          }
          this.unsaved.delete(earlier.saleId);
          const snap = this.get(earlier.saleId);
          if (snap) this.emit('sale', snap);
        }
        // A live sale whose answer was lost at another reader, waiting there for this card: settled now.
        const waiting = earlier ? this.live.get(earlier.saleId) : undefined;
        if (waiting && !waiting.running && waiting.snap.state === 'waiting_card' && waiting.signedBy !== undefined) {
          if (mismatch) { waiting.signedBy = undefined; this.finish(waiting, 'failed', toSaleError(recordMismatchError(mismatch))); }
          else this.complete(waiting, r, true);
        }
        if (isMine && (!mine || mine.mismatch)) mine = { record: r, mismatch }; // the record that answers the sale wins
      }
      head = store.cardHead(cardId);
    }
    return { session, head, recovered, mine, gap, confirmed };
  }

  /**
   * The head this card must continue. A head that rests only on what a card said (GET_INFO's counter and
   * last hash, which nothing signs) never refuses a card: one that contradicts it is believed over it,
   * back to the newest signed record this host holds (so an emulator that showed a genuine card's
   * certificate with a made-up counter cannot lock the genuine card out). A head set by a verified
   * record stands, and the card must continue it (chainToContinue).
   */
  private trustedHead(session: CardSession): ChainHead | undefined {
    const store = this.o.store;
    const cardId = session.cardId;
    const head = store.cardHead(cardId);
    if (!head || head.source !== 'observed') return head;
    const { counter, lastRecordHash } = session.info;
    if (counter > head.counter || (counter === head.counter && bytesEqual(lastRecordHash, head.hash))) return head;
    // Back to the newest signed record (a card behind that is refused by chainToContinue, as any
    // divergence from signed data); with none, the card's own word replaces the other card's word.
    const signed = store.lastStoredHead(cardId);
    const replacement = signed ? { head: signed, source: 'record' as const } : { head: { counter, hash: lastRecordHash }, source: 'observed' as const };
    store.audit('card-observation-superseded', cardId, {
      observedCounter: head.counter, observedHash: toHex(head.hash), cardCounter: counter, cardLastHash: toHex(lastRecordHash), now: replacement.head.counter,
    });
    this.o.log?.warn({ cardId, observedCounter: head.counter, cardCounter: counter }, 'an unsigned chain observation was contradicted by the card; superseded');
    store.replaceObservedHead(cardId, replacement.head, replacement.source);
    return store.cardHead(cardId);
  }

  /** What the card is asked to sign for a sale (what its record must say). */
  private requestOf(sale: LiveSale | SaleRow): SignTxnRequest {
    if ('snap' in sale) {
      return { amount: sale.snap.amount, currency: sale.snap.currency, merchantId: this.o.merchantId, terminalId: this.o.terminalId, time: sale.time, hostNonce: sale.nonce };
    }
    // A sale from the database: what it asked for then, not today's configuration.
    return {
      amount: sale.amount, currency: sale.currency, merchantId: sale.merchantId ?? this.o.merchantId, terminalId: sale.terminalId ?? this.o.terminalId,
      time: 0, hostNonce: new Uint8Array(0),
    };
  }

  /**
   * Before asking for a signature: the card must stand where this host's chain for it ends (after
   * recovery). A card behind it, or at the same counter with another last record, is a copy or was
   * restored: refused before it signs, since its record could not be accepted. A card ahead whose
   * journal gave nothing back (it keeps none) is taken from where it stands, and the gap is audited.
   */
  private chainToContinue(session: CardSession, head: ChainHead | undefined): { head: ChainHead | undefined; gap: boolean } {
    if (!head) return { head: undefined, gap: false };
    const { counter, lastRecordHash } = session.info;
    if (counter === head.counter && bytesEqual(lastRecordHash, head.hash)) return { head, gap: false };
    const store = this.o.store;
    if (counter > head.counter) {
      this.journalGap(session.cardId, { from: head.counter + 1, to: counter, message: 'the card did not give back these records' });
      store.advanceHead(session.cardId, { counter, hash: lastRecordHash });
      return { head: { counter, hash: lastRecordHash }, gap: true };
    }
    store.audit('card-chain-diverged', session.cardId, { cardCounter: counter, cardLastHash: toHex(lastRecordHash), hostCounter: head.counter, hostHash: toHex(head.hash) });
    throw new CardSessionError('CARD_CHAIN_DIVERGED',
      `card ••${session.cardId.slice(-4)} does not continue the records this counter holds for it (the card is at counter ${counter}, this counter has its records up to ${head.counter})`,
      'do not accept this card: it may be a copy or its memory was restored; the holder must contact the issuer');
  }

  /**
   * A card's records were skipped (its journal no longer reached back): audited, and a live sale whose
   * answer from that card was lost can no longer learn from it whether it paid, whichever reader sees
   * the card next.
   */
  private journalGap(cardId: string, detail: { from: number; to?: number; message: string }): void {
    this.o.store.audit('journal-gap', cardId, detail);
    this.o.log?.warn({ cardId, ...detail }, 'journal gap');
    for (const s of this.live.values()) if (s.signedBy === cardId) s.outcomeLost = true;
  }

  /** The record stored for a sale whose answer was lost here, if another card session stored it meanwhile. */
  private storedRecordOf(sale: LiveSale): { record: SignedTxnRecord; mismatch: string | undefined } | undefined {
    try {
      const found = this.o.store.recordOfSale(sale.snap.saleId);
      return found ? { record: found.record, mismatch: found.held ?? undefined } : undefined;
    } catch (e) {
      this.o.log?.warn({ saleId: sale.snap.saleId, err: describe(e) }, 'could not look for the sale\'s record');
      return undefined;
    }
  }

  /** A sale whose answer was lost, if another card session has stored its record meanwhile: paid now (true). */
  private paidMeanwhile(sale: LiveSale): boolean {
    if (sale.signedBy === undefined) return false;
    const stored = this.storedRecordOf(sale);
    if (!stored || stored.mismatch) return false;
    this.complete(sale, stored.record, true, { recordId: recordId(stored.record), already: true });
    return true;
  }

  /**
   * A signed answer the host will not give a receipt for. A verified record for another sale is held
   * (the card's answer is known: it signed something else). Anything else (bad signature, bytes that do
   * not decode, a broken chain) is audited with its bytes, and the sale stays unconfirmed: the answer may
   * have been spoiled on the way, so the card's journal is read before anything is said.
   */
  private keepRefusedAnswer(sale: LiveSale, cardId: string, e: SignedAnswerRefusedError): void {
    if (e.record) {
      sale.signedBy = undefined;
      const detail = recordAnswersRequest(e.record, this.requestOf(sale)) ?? e.message;
      this.o.store.storeRecord(e.record, { origin: 'sale', saleId: sale.snap.saleId, hold: { reason: e.code, detail } });
      return;
    }
    const evidence = { saleId: sale.snap.saleId, code: e.code, message: e.message, envelope: Buffer.from(e.envelope).toString('base64url') };
    try {
      this.o.store.audit('signed-answer-refused', cardId, evidence);
    } catch (err) {
      // The journal is still read for the answer; the bytes at least reach the log.
      this.o.log?.warn({ ...evidence, err: describe(err) }, 'signed answer refused; audit line not written');
    }
  }

  private async askPin(sale: LiveSale, session: CardSession, reader: CardReader, triesLeft: number): Promise<void> {
    for (;;) {
      if (triesLeft === 0) throw new CardStatusError(0x12, 'VERIFY_PIN');
      const deadline = this.clock() + this.o.timeouts.pinMs;
      this.update(sale, { state: 'pin', pinTriesLeft: triesLeft, pinOnDevice: reader.pinPad !== undefined, deadline });
      if (reader.pinPad) {
        const outcome = await reader.pinPad.enterPin({ amount: sale.snap.amount, currency: sale.snap.currency, triesLeft, timeoutMs: this.o.timeouts.pinMs }, sale.abort.signal);
        if (sale.abort.signal.aborted) throw sale.abort.signal.reason;
        if (outcome.result === 'verified') { sale.pinVerified = true; return; }
        if (outcome.result === 'wrong') { triesLeft = outcome.triesLeft; this.notice(sale, 'PIN_WRONG', triesLeft); continue; }
        if (outcome.result === 'blocked') throw new CardStatusError(0x12, 'VERIFY_PIN');
        throw new Interrupted(outcome.result === 'cancelled' ? 'cancelled' : 'timed_out');
      }
      const pin = await this.waitForPin(sale, deadline);
      try {
        await session.client.verifyPin(pin);
        sale.pinVerified = true;
        return;
      } catch (e) {
        if (e instanceof CardStatusError && e.statusName === 'PIN_INVALID') {
          triesLeft = e.retries ?? Math.max(0, triesLeft - 1);
          this.notice(sale, 'PIN_WRONG', triesLeft);
          continue;
        }
        throw e;
      } finally {
        pin.fill(0);
      }
    }
  }

  private waitForPin(sale: LiveSale, deadline: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const signal = sale.abort.signal;
      const timer = setTimeout(() => { cleanup(); reject(new Interrupted('timed_out')); }, Math.max(0, deadline - this.clock()));
      const onAbort = () => { cleanup(); reject(signal.reason); };
      const cleanup = () => { clearTimeout(timer); signal.removeEventListener('abort', onAbort); sale.pinWaiter = undefined; };
      if (signal.aborted) { onAbort(); return; }
      signal.addEventListener('abort', onAbort);
      sale.pinWaiter = (pin) => { cleanup(); resolve(pin); };
    });
  }

  /** Durable first, receipt second: `stored` when the caller has committed the record already. */
  private complete(sale: LiveSale, record: SignedTxnRecord, fromJournal: boolean, stored?: { recordId: string; already: boolean }): void {
    const res = stored ?? this.o.store.storeRecord(record, { origin: fromJournal ? 'recovered' : 'sale', saleId: sale.snap.saleId });
    if (!fromJournal && !res.already) this.emit('stored', { recordId: res.recordId, saleId: sale.snap.saleId, amount: record.amount, currency: record.currency });
    sale.signedBy = undefined;
    // Paid: a notice left from a pull is over; a record from the journal says so.
    this.update(sale, { state: 'stored', notice: fromJournal ? RECOVERED_NOTICE : null });
    const receipt: Receipt = {
      saleId: sale.snap.saleId, recordId: res.recordId, amount: record.amount, currency: record.currency, merchantId: record.merchantId,
      terminalId: record.terminalId, time: record.time, card: maskCard(toHex(record.cardId)), counter: record.counter, balanceAfter: record.balanceAfter,
      pinVerified: record.cvm === CVM.OFFLINE_PIN, online: this.o.online(),
    };
    this.o.log?.info({ saleId: sale.snap.saleId, recordId: res.recordId, amount: record.amount, fromJournal }, 'sale stored');
    this.finish(sale, 'done', null, receipt);
  }

  private onRunError(sale: LiveSale, e: unknown): void {
    if (FINAL_STATES.has(sale.snap.state)) return;
    if (this.paidMeanwhile(sale)) return; // whatever went wrong here, its record came in by another card session
    // The merchant cancelled while the card was being read: that wins over waiting for it again.
    if (sale.cancelRequested) { this.finish(sale, 'cancelled', sale.abandoned ? ABANDONED : null); return; }
    if (e instanceof UnclearAnswer && sale.signedBy !== undefined) {
      this.waitForCard(sale, {
        code: 'SALE_UNCONFIRMED', message: `the card's answer could not be taken (${e.cause.code}: ${e.cause.message}): reading its journal to see whether it paid`,
        hint: 'leave the card in (or insert it again); do not take another payment for this sale',
      });
      return;
    }
    if (e instanceof Interrupted) {
      if (e.why === 'card_removed') {
        // Only the pull aborted the step: a fresh controller, and wait for the card again.
        sale.abort = new AbortController();
        this.waitForCard(sale, { code: 'CARD_REMOVED', message: 'the card was taken out before the payment finished', hint: 'insert the card again' });
        return;
      }
      if (e.why === 'other_card') {
        // Not for a card left in the reader to be tried again: it stays the wrong card.
        this.waitForCard(sale, {
          code: 'CARD_NOT_THE_PAYING_ONE', message: `this is not the card that was paying (card ${maskCard(sale.signedBy ?? '')}), which may already have paid`,
          hint: 'take this card out and insert the card that was paying',
        }, false);
        return;
      }
      this.finish(sale, e.why === 'cancelled' ? 'cancelled' : 'timed_out', null);
      return;
    }
    if (e instanceof TransportError && RETRYABLE.has(e.transportCode)) {
      // Card pulled or reader hiccup: same sale, same nonce. If the card had signed, the record
      // comes back from its journal when it is inserted again.
      this.waitForCard(sale, sale.signedBy === undefined ? toSaleError(e) : {
        code: 'SALE_UNCONFIRMED', message: `the card's answer to the payment was lost (${e.transportCode}: ${e.message}): it may already have paid`,
        hint: 'insert the same card again to finish; do not take another payment for this sale',
      });
      return;
    }
    const err: SaleError = e instanceof CardpostError ? toSaleError(e)
      : { code: 'INTERNAL', message: `unexpected error: ${e instanceof Error ? e.message : String(e)}`, hint: 'report this with the daemon log' };
    this.o.log?.warn({ saleId: sale.snap.saleId, code: err.code, err: err.message }, 'sale failed');
    this.finish(sale, 'failed', err);
  }

  // ------------------------------------------------------------------ state bookkeeping

  /**
   * Back to waiting for the card. A card still in the reader after a failed step (put back before we
   * noticed, or a reader that hiccuped) is tried again, backing off, within the deadline the wait had
   * already: a step that fails at once must not spin. Waiting for a card to be inserted gets a fresh deadline.
   */
  private waitForCard(sale: LiveSale, notice: SaleError | null, retryCardLeftIn = true): void {
    if (this.closed) return; // the daemon is stopping: no new timers
    const now = this.clock();
    const reader = sale.snap.reader !== null ? this.o.hub.get(sale.snap.reader) : undefined;
    const retry = notice !== null && retryCardLeftIn && reader?.cardPresent === true;
    if (!retry) { sale.cardDeadline = now + this.o.timeouts.cardMs; sale.retries = 0; }
    this.update(sale, { state: 'waiting_card', deadline: sale.cardDeadline, notice, pinTriesLeft: null, pinOnDevice: false });
    this.clearTimer(sale);
    sale.timer = setTimeout(() => this.guarded(sale, () => {
      if (sale.snap.state === 'waiting_card' && !sale.running) this.finish(sale, 'timed_out', null);
    }), Math.max(0, sale.cardDeadline - now));
    sale.timer.unref?.();
    if (!retry || !reader) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** sale.retries++);
    sale.retryTimer = setTimeout(() => this.guarded(sale, () => {
      sale.retryTimer = undefined;
      if (sale.snap.state !== 'waiting_card' || sale.running) return;
      if (reader.cardPresent) void this.run(sale, reader);
      else this.waitForCard(sale, sale.snap.notice, false); // taken out meanwhile: wait for it afresh
    }), delay);
    sale.retryTimer.unref?.();
  }

  /**
   * A timer's work, never an uncaught exception (the queue file locked or closed). If it fails, the sale
   * is taken out of the live set so the reader is free again; its row and record say where it stood.
   */
  private guarded(sale: LiveSale, work: () => void): void {
    try {
      work();
    } catch (e) {
      this.clearTimer(sale);
      this.live.delete(sale.snap.saleId);
      this.o.log?.warn({ saleId: sale.snap.saleId, err: describe(e) }, 'sale step failed; the sale is left as stored');
    }
  }

  private notice(sale: LiveSale, code: 'PIN_WRONG', triesLeft: number): void {
    this.update(sale, {
      pinTriesLeft: triesLeft,
      notice: { code, message: `wrong PIN, ${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left`, hint: triesLeft === 1 ? 'one more wrong PIN blocks the card' : 'type the PIN again' },
    });
  }

  private finish(sale: LiveSale, state: SaleState, error: SaleError | null, receipt: Receipt | null = null): void {
    if (sale.signedBy !== undefined && state !== 'done') {
      if (this.paidMeanwhile(sale)) return; // its record came in by another card session
      // SIGN_TXN went out and its answer never came: the card may have paid. Never say "not paid".
      const why = error ? error.message : state === 'cancelled' ? 'cancelled at the counter' : 'the card did not come back in time';
      error = unconfirmedError(`the card may have paid: its answer was lost and the sale ended (${why}) before the card came back to check`);
      state = 'unconfirmed';
    }
    this.clearTimer(sale);
    this.live.delete(sale.snap.saleId);
    this.update(sale, { state, error, receipt, deadline: null, pinTriesLeft: state === 'done' ? null : sale.snap.pinTriesLeft });
  }

  private update(sale: LiveSale, patch: Partial<SaleSnapshot>): void {
    Object.assign(sale.snap, patch, { updatedAt: this.clock() });
    if (this.saveState(sale.snap, sale.signedBy)) {
      this.unsaved.delete(sale.snap.saleId);
      this.retryUnsaved();
    } else {
      // Kept in memory until a write goes through, so the sale reads as it is, not as its stale row.
      this.unsaved.set(sale.snap.saleId, { snap: { ...sale.snap }, signedBy: sale.signedBy });
      if (this.unsaved.size > 1000) this.unsaved.delete(this.unsaved.keys().next().value!);
    }
    if (!this.closed) this.emit('sale', { ...sale.snap });
  }

  /**
   * A sale's state is bookkeeping (its record is what pays, committed on its own, and the signing mark
   * before it): a locked or full queue database, or one closed at shutdown, must not crash the daemon.
   */
  private saveState(snap: SaleSnapshot, signedBy: string | undefined): boolean {
    try {
      this.o.store.updateSale(snap.saleId, {
        state: snap.state,
        ...(snap.reader !== null ? { reader: snap.reader } : {}),
        ...(snap.receipt ? { recordId: snap.receipt.recordId, paidOnline: snap.receipt.online } : {}),
        ...(snap.error ? { errorCode: snap.error.code, errorText: snap.error.message } : {}),
        ...(signedBy !== undefined ? { signCardId: signedBy } : {}),
      });
      return true;
    } catch (e) {
      if (!this.closed) this.o.log?.warn({ saleId: snap.saleId, state: snap.state, err: describe(e) }, 'sale state not saved yet');
      return false;
    }
  }

  private retryUnsaved(): void {
    for (const [saleId, u] of this.unsaved) {
      if (this.live.has(saleId)) continue; // a live sale writes its own next state
      if (!this.saveState(u.snap, u.signedBy)) return;
      this.unsaved.delete(saleId);
    }
  }

  private clearTimer(sale: LiveSale): void {
    if (sale.timer) clearTimeout(sale.timer);
    if (sale.retryTimer) clearTimeout(sale.retryTimer);
    sale.timer = undefined;
    sale.retryTimer = undefined;
  }

  private mustKnowReader(name: string): void {
    if (!this.o.hub.get(name)) throw new SaleRefusedError('READER_UNKNOWN', `no reader named "${name}" is connected`, 'list the readers with `cardpost readers`');
  }

  private mustLive(saleId: string): LiveSale {
    const s = this.live.get(saleId);
    if (!s) throw new SaleRefusedError('SALE_NOT_FOUND', `no sale ${saleId} in progress`, 'start a new sale');
    return s;
  }

  private byRequestKey(key: string): SaleSnapshot | undefined {
    for (const s of this.live.values()) if (s.snap.requestKey === key) return { ...s.snap };
    for (const u of this.unsaved.values()) if (u.snap.requestKey === key) return { ...u.snap };
    const row = this.o.store.saleByRequestKey(key);
    return row ? this.fromRow(row) : undefined;
  }

  private fromRow(row: NonNullable<ReturnType<HostStore['sale']>>): SaleSnapshot {
    if (row.state === 'unconfirmed' || !FINAL_STATES.has(row.state as SaleState)) {
      // Its record committed but the state after it was lost (the daemon stopped, the state write
      // failed): the record decides. A held record is not this sale's payment.
      const paid = this.o.store.recordOfSale(row.saleId);
      if (paid && paid.held === null) {
        row = { ...row, state: 'done', recordId: recordId(paid.record), errorCode: RECOVERED_NOTICE.code, errorText: RECOVERED_NOTICE.message };
      }
    }
    const rec = row.recordId ? this.o.store.record(row.recordId) : undefined;
    const final = FINAL_STATES.has(row.state as SaleState);
    // A sale that was live when the daemon stopped did not finish here. If SIGN_TXN had gone out the
    // card may have paid (unconfirmed); a signed record comes back by recovery and makes it done.
    const unsure = !final && (row.signCardId !== null || row.state === 'signing' || row.state === 'stored');
    const stored = (code: string): SaleError => (code === 'SALE_UNCONFIRMED' ? unconfirmedError(row.errorText ?? '') : { code, message: row.errorText ?? '', hint: '' });
    return {
      saleId: row.saleId, requestKey: row.requestKey, amount: row.amount, currency: row.currency, reader: row.reader,
      state: final ? row.state as SaleState : unsure ? 'unconfirmed' : 'failed',
      pinTriesLeft: null, pinOnDevice: false, deadline: null,
      // A sale completed by journal recovery keeps why as a notice, not an error.
      notice: row.state === 'done' && row.errorCode ? { code: row.errorCode, message: row.errorText ?? '', hint: '' } : null,
      receipt: rec ? {
        saleId: row.saleId, recordId: rec.recordId, amount: rec.amount, currency: rec.currency, merchantId: rec.merchantId, terminalId: rec.terminalId,
        time: rec.recordTime, card: maskCard(rec.cardId), counter: rec.counter, balanceAfter: rec.balanceAfter, pinVerified: rec.cvm === CVM.OFFLINE_PIN, online: row.paidOnline === 1,
      } : null,
      error: row.state === 'done' ? null
        : final ? (row.errorCode ? stored(row.errorCode) : null)
          : unsure ? unconfirmedError('the daemon stopped while the card was paying: the card may have paid')
            : { code: 'SALE_INTERRUPTED', message: 'the daemon stopped during this sale', hint: 'if the card was asked to pay, its record comes back the next time the card is used here and the sale turns paid' },
      createdAt: row.createdAt, updatedAt: row.updatedAt,
    };
  }
}

function describe(e: unknown): string {
  return e instanceof CardpostError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
}
