import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { CardpostError } from '../../protocol/errors.js';
import type { LostCardAnswer } from '../../protocol/bank/index.js';
import { BankError, type BankClient } from '../settlement/bank-client.js';
import type { RevocationKeeper } from '../settlement/revocation-keeper.js';
import type { Registry } from 'prom-client';
import type { CounterListener, CounterPort, MoneyBackPort, SaleStart, TopupStart } from '../api/port.js';
import { moneyBackPort } from '../card-services/money-back.js';
import type { CardServices } from '../card-services/card-services.js';
import type { PrintJobView, PrinterStatus, ReceiptPrinter } from '../printer/index.js';
import type { TrustStore } from '../../protocol/record/trust-store.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import { readStatement, type CardStatement } from '../sale/statement.js';
import type { ClockProblem } from '../sale/clock-check.js';
import type { SaleEngine } from '../sale/sale-engine.js';
import { FINAL_STATES, type Receipt, type SaleSnapshot } from '../sale/sale-types.js';
import type { SettlementWorker } from '../settlement/settlement-worker.js';
import type { Reconciliation } from '../settlement/reconcile.js';
import type { HostStore, QueuedRecord, RecordStatus } from '../store/host-store.js';
import type { DaemonConfig } from './config.js';
import { DayBook } from '../close/day-book.js';
import type { ZReport } from '../close/day-report.js';
import { receiptLines, saleHistory } from '../close/sale-history.js';
import { shopDayBounds } from '../close/shop-day.js';

/** How long `POST /api/v1/sales/{id}/cancel` waits for the cancel to take effect before answering 202. */
export const CANCEL_WAIT_MS = 5000;

/** The data-directory file of the API token (daemon.ts DATA_FILES.token). */
const TOKEN_FILE = 'api-token';

/**
 * How the daemon serves the local API: the operations of host/api/port.ts over its parts. The daemon
 * extends this, so `Daemon` is a `CounterPort` (the API takes the daemon as it is) while the API
 * depends only on the port, never on the daemon.
 */
export abstract class DaemonCounterPort implements CounterPort {
  abstract readonly config: DaemonConfig;
  abstract readonly store: HostStore;
  abstract readonly hub: ReaderHub;
  abstract readonly engine: SaleEngine;
  abstract readonly worker: SettlementWorker;
  abstract readonly metrics: Registry;
  abstract readonly terminalId: string;
  abstract readonly bank: BankClient;
  abstract readonly revocations: RevocationKeeper;
  abstract readonly clockProblem: () => ClockProblem | undefined;
  abstract readonly trust: TrustStore;
  abstract settleNow(): void;
  abstract reconcile(date: string): Promise<Reconciliation>;
  /** Top-up and sync (host/card-services/), set by the daemon as it starts. */
  cardServices?: CardServices;
  /** The receipt printer (host/printer/), when the config names one; set by the daemon as it starts. */
  printer?: ReceiptPrinter;

  counterSettings() {
    return {
      merchantId: this.config.merchantId,
      currency: this.config.currency,
      limits: this.config.limits,
      ui: this.config.ui,
      pinEntry: this.config.sale.pinEntry,
    };
  }
  apiTokenFile(): string {
    return join(this.config.dataDir, TOKEN_FILE);
  }

  startSale(req: SaleStart): SaleSnapshot {
    return this.engine.start(req);
  }
  sale(saleId: string): SaleSnapshot | undefined {
    return this.engine.get(saleId);
  }
  activeSales(): SaleSnapshot[] {
    return this.engine.active();
  }
  recentSales(limit: number): (SaleSnapshot | undefined)[] {
    return this.store.recentSales(limit).map((r) => this.engine.get(r.saleId));
  }
  followSale(saleId: string): void {
    this.engine.follow(saleId);
  }
  followAllSales(): void {
    this.engine.followAll();
  }
  submitPin(saleId: string, pin: string): void {
    this.engine.submitPin(saleId, pin);
  }
  /**
   * Cancel a sale and wait for it to end: a sale in `pin` or reading the card stops at its card step, which
   * takes a moment (the PIN prompt or a terminal's pad is aborted). At most CANCEL_WAIT_MS, then the state as it is.
   */
  cancelSale(saleId: string): Promise<SaleSnapshot> {
    const asked = this.engine.cancel(saleId);
    if (FINAL_STATES.has(asked.state)) return Promise.resolve(asked);
    const engine = this.engine;
    return new Promise((resolve) => {
      const done = (s: SaleSnapshot) => {
        clearTimeout(timer);
        engine.off('sale', onSale);
        resolve(s);
      };
      const onSale = (s: SaleSnapshot) => {
        if (s.saleId === saleId && FINAL_STATES.has(s.state)) done(s);
      };
      const timer = setTimeout(() => done(engine.get(saleId) ?? asked), CANCEL_WAIT_MS);
      engine.on('sale', onSale);
      const now = engine.get(saleId);
      if (now && FINAL_STATES.has(now.state)) done(now);
    });
  }

  readers() {
    return this.hub.list();
  }
  inspectCard(reader: string): Promise<unknown> {
    return this.engine.inspect(reader);
  }
  /** The holder's statement, read with the daemon's own trust store (its issuers and the bank's revocation list). */
  cardStatement(reader: string, limit: number): Promise<CardStatement> {
    return readStatement(
      {
        hub: this.hub,
        inspect: (name) => this.engine.inspect(name),
        issuers: () => this.trust,
        now: () => Date.now(),
      },
      reader,
      limit,
    );
  }
  transmitApdu(reader: string, apdu: Uint8Array, raw: boolean): Promise<Uint8Array> {
    return this.engine.transmitRaw(reader, apdu, raw);
  }

  queueRecords(q: { status?: RecordStatus; afterSeq: number; limit: number }): QueuedRecord[] {
    return this.store.records(q);
  }
  queueSummary() {
    return { counts: this.store.statusCounts(), unsettled: this.store.unsettled() };
  }
  exportRecords() {
    return this.store.exportRecords();
  }

  settlementStatus() {
    return this.worker.status();
  }
  async metricsText(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.metrics.contentType, body: await this.metrics.metrics() };
  }

  async reportLostCard(cardId: string, reason: 'lost' | 'stolen') {
    const id = cardId.toLowerCase();
    const key = `lost-${randomUUID()}`; // one key for this report: a retry of an unknown outcome is answered, not redone
    let answer: LostCardAnswer | undefined;
    for (let attempt = 1; !answer; attempt++) {
      try {
        answer = await this.bank.reportLost(id, reason, key);
      } catch (e) {
        if (e instanceof BankError && e.outcome === 'unknown' && attempt < 3) {
          await new Promise((r) => setTimeout(r, Math.min(e.retryAfterMs ?? 300, 2000)));
          continue;
        }
        if (e instanceof BankError && e.code === 'BANK_REFUSED_CARD_NOT_FOUND')
          throw new CardpostError(
            'LOST_CARD_UNKNOWN',
            `the bank does not know card ${id}`,
            'check the card id (16 hex digits, on the card or its letter); a card that never paid is blocked by its issuer',
          );
        throw e;
      }
    }
    // Fetch the list now (twice if a fetch begun before the report brought the old one): refused here from the next tap.
    for (let i = 0; i < 2 && (this.revocations.sequence ?? 0) < answer.revocationSequence; i++)
      await this.revocations.refresh({ force: true });
    const sequence = this.revocations.sequence;
    return { ...answer, counterListSequence: sequence, refusedHere: (sequence ?? 0) >= answer.revocationSequence };
  }

  private cards(): CardServices {
    if (!this.cardServices) throw new Error('card services are not started');
    return this.cardServices;
  }
  startTopup(req: TopupStart): Promise<unknown> {
    return this.cards().topups.topup(req);
  }
  topup(topupId: string): unknown {
    return this.cards().topups.get(topupId);
  }
  latestTopup(withinMs: number): unknown {
    const [t] = this.cards().topups.recent(1);
    return t && t.state === 'loaded' && t.loadedAt !== null && Date.now() - t.loadedAt < withinMs ? t : undefined;
  }
  topupDay(date: string | undefined): unknown {
    return this.cards().day(date ?? this.dayBook.today());
  }
  moneyBack(): MoneyBackPort {
    return moneyBackPort(this.cards(), this.dayBook);
  }

  private book?: DayBook;
  /** The shop's days: Z reports, closes, history (host/close/day-book.ts). */
  get dayBook(): DayBook {
    this.book ??= new DayBook({
      store: this.store,
      bank: this.bank,
      timeZone: this.config.shop.timeZone,
      now: Date.now,
    });
    return this.book;
  }
  shopDay() {
    return { timeZone: this.dayBook.timeZone, today: this.dayBook.today() };
  }
  dayReport(date: string): Promise<ZReport> {
    return this.dayBook.report(date);
  }
  closeDay(date: string) {
    return this.dayBook.close(date);
  }
  dayCloses(q: { from?: string; to?: string; limit: number }) {
    return this.dayBook.closes(q);
  }
  saleHistory(q: { date: string; q?: string }) {
    const [from, to] = shopDayBounds(q.date, this.dayBook.timeZone);
    const sales = saleHistory(this.store.closes.salesBetween(from, to), this.dayBook.timeZone, q.q);
    return {
      date: q.date,
      timeZone: this.dayBook.timeZone,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      sales,
    };
  }
  saleReceipt(saleId: string) {
    const receipt = this.engine.get(saleId)?.receipt;
    if (!receipt) return undefined;
    return {
      saleId,
      copy: true as const,
      lines: receiptLines(receipt, { timeZone: this.dayBook.timeZone, copy: true }),
      receipt,
    };
  }

  startPinService(req: { kind: 'change' | 'unblock'; reader?: string }): unknown {
    return this.cards().pins.start(req);
  }
  pinService(serviceId: string): { serviceId: string } | undefined {
    return this.cards().pins.get(serviceId);
  }
  currentPinService(): { serviceId: string } | undefined {
    return this.cards().pins.current();
  }
  pinServiceEntry(serviceId: string, step: 'current' | 'puk' | 'new' | 'confirm', pin: string): void {
    this.cards().pins.entry(serviceId, step, pin);
  }
  cancelPinService(serviceId: string, by: 'merchant' | 'customer'): unknown {
    return this.cards().pins.cancel(serviceId, by);
  }

  printerStatus(): PrinterStatus | null {
    return this.printer?.status() ?? null;
  }
  printReceipt(receipt: Receipt, o: { copy: boolean }): PrintJobView {
    if (!this.printer)
      throw new CardpostError(
        'PRINTER_NOT_CONFIGURED',
        'this counter has no receipt printer',
        'set printer.path in the daemon config (docs/daemon.md §3) and restart the daemon; the receipt can be shown on screen meanwhile',
      );
    return this.printer.printReceipt(receipt, o);
  }

  watch(l: CounterListener): () => void {
    const readers = () => l.readers();
    const printer = this.printer;
    printer?.on('status', l.printer);
    const pins = this.cardServices?.pins;
    pins?.on('service', l.pinService);
    const stored = () => l.stored();
    this.engine.on('sale', l.sale);
    this.engine.on('stored', stored);
    this.worker.on('status', l.settlement);
    this.worker.on('batch', l.batch);
    for (const e of ['added', 'removed', 'changed'] as const) this.hub.on(e, readers);
    return () => {
      this.engine.off('sale', l.sale);
      this.engine.off('stored', stored);
      this.worker.off('status', l.settlement);
      this.worker.off('batch', l.batch);
      for (const e of ['added', 'removed', 'changed'] as const) this.hub.off(e, readers);
      pins?.off('service', l.pinService);
      printer?.off('status', l.printer);
    };
  }
}
