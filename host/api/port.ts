import type { Receipt, SaleSnapshot } from '../sale/sale-types.js';
import type { CardStatement } from '../sale/statement.js';
import type { QueuedRecord, RecordStatus } from '../store/host-store.js';

/**
 * What the local API needs of the counter, and nothing more: the operations its routes call and the
 * events its stream carries. The daemon implements it (host/daemon/counter-port.ts); the API never
 * imports the daemon, so there is no import circle and the API can be driven by anything that keeps
 * this contract. Values the API only passes on as JSON are typed `unknown`.
 */
export interface CounterPort {
  readonly terminalId: string;
  /** The counter's fixed settings, as the status shows them. */
  counterSettings(): {
    merchantId: string;
    currency: number;
    limits: unknown;
    ui: { language: 'zh-CN' | 'en'; displayClearS: number };
    pinEntry: 'customer-display' | 'counter';
  };
  /** Where the API token lives (named in 401 answers so a person can find it). */
  apiTokenFile(): string;
  /** Why the clock cannot date a sale now (new sales are refused CLOCK_WRONG), or undefined. */
  clockProblem(): unknown;

  startSale(req: SaleStart): SaleSnapshot;
  sale(saleId: string): SaleSnapshot | undefined;
  activeSales(): SaleSnapshot[];
  /** The newest sales, newest first (undefined where a stored sale cannot be shown). */
  recentSales(limit: number): (SaleSnapshot | undefined)[];
  /** A client is following the sale: it is not abandoned. */
  followSale(saleId: string): void;
  followAllSales(): void;
  submitPin(saleId: string, pin: string): void;
  /** Cancel, then wait (bounded) for the sale to end: its final state, or the state it is still in after the wait. */
  cancelSale(saleId: string): Promise<SaleSnapshot>;

  readers(): unknown[];
  /** Read the card in a reader (with journal recovery). */
  inspectCard(reader: string): Promise<unknown>;
  /** The holder's statement of the card in a reader, between sales: balance and newest payments (host/sale/statement.ts). */
  cardStatement(reader: string, limit: number): Promise<CardStatement>;
  /** One raw APDU to the card in a reader, between sales (read commands only unless `raw`). */
  transmitApdu(reader: string, apdu: Uint8Array, raw: boolean): Promise<Uint8Array>;

  queueRecords(q: { status?: RecordStatus; afterSeq: number; limit: number }): QueuedRecord[];
  queueSummary(): { counts: unknown; unsettled: unknown };
  exportRecords(): Iterable<ExportRecord>;

  settlementStatus(): object;
  /** "Settle now": skip the backoff. */
  settleNow(): void;
  /** The day's totals, the counter's against the bank's; throws RangeError for a date that is not one. */
  reconcile(date: string): Promise<unknown>;
  metricsText(): Promise<{ contentType: string; body: string }>;

  /**
   * The shop's days (host/close/): its time zone and today's date there; a day's Z report (stored if
   * closed, else computed now) and its close (CLOSE_* refusals); the closed days; a day's sales as the
   * history lists them; a paid sale's receipt again, marked as a copy (undefined: no such sale or not paid).
   * Dates that are not calendar dates throw RangeError.
   */
  shopDay(): { timeZone: string; today: string };
  dayReport(date: string): Promise<unknown>;
  closeDay(date: string): Promise<{ report: unknown; alreadyClosed: boolean }>;
  dayCloses(q: { from?: string; to?: string; limit: number }): unknown[];
  saleHistory(q: { date: string; q?: string }): unknown;
  saleReceipt(saleId: string): { saleId: string; copy: true; lines: string[]; receipt: unknown } | undefined;

  /**
   * Report a card lost or stolen to the bank (revokes it there), then fetch the revocation list at
   * once so this counter refuses the card from the next tap. Throws LOST_CARD_UNKNOWN, BANK_*.
   */
  reportLostCard(cardId: string, reason: 'lost' | 'stolen'): Promise<unknown>;

  /**
   * Top up (or sync, amount 0) the card in a reader (host/card-services/topup.ts): resolves with the
   * top-up loaded; throws a TopupError (TOPUP_*, READER_*) when refused or interrupted.
   */
  startTopup(req: TopupStart): Promise<unknown>;
  /** A top-up by id, or undefined. */
  topup(topupId: string): unknown;
  /** The newest top-up loaded within `withinMs` (the customer display's new-balance screen), or undefined. */
  latestTopup(withinMs: number): unknown;
  /** The day's top-ups and the cash they took (the shop's day; today without a date); TOPUP_INVALID for a date that is not one. */
  topupDay(date: string | undefined): unknown;

  /** Voids and refunds (host/card-services/voids.ts, refund-service.ts; docs/host-api.md §5.8). */
  moneyBack(): MoneyBackPort;

  /**
   * The PIN service (host/card-services/pin-service.ts): start one on a reader (throws PIN_*,
   * READER_*), read one or the current one, take the customer's digits for a step, cancel.
   */
  startPinService(req: { kind: 'change' | 'unblock'; reader?: string }): unknown;
  pinService(serviceId: string): { serviceId: string } | undefined;
  currentPinService(): { serviceId: string } | undefined;
  pinServiceEntry(serviceId: string, step: 'current' | 'puk' | 'new' | 'confirm', pin: string): void;
  cancelPinService(serviceId: string, by: 'merchant' | 'customer'): unknown;

  /** The receipt printer: its state and the receipts not (yet) printed; null when the counter has none. */
  printerStatus(): unknown;
  /**
   * Queue a sale's receipt on the counter's printer (`copy`: a reprint, "副本 / COPY"); returns the print job
   * at once, never waits for the printer. Throws PRINTER_NOT_CONFIGURED when the counter has none.
   */
  printReceipt(receipt: Receipt, o: { copy: boolean }): unknown;

  /** Follow what changes; returns the function that stops it. */
  watch(l: CounterListener): () => void;
}

export interface MoneyBackPort {
  /** Void a paid sale not yet settled with its card in a reader; throws VoidError (VOID_*, READER_*). */
  voidSale(saleId: string, reader?: string): Promise<unknown>;
  /** The sale's void, or undefined. */
  voidOf(saleId: string): unknown;
  /** Store a refund and carry it now if it can be (else it is queued); throws RefundError (REFUND_*). */
  startRefund(req: {
    saleId: string;
    amount?: number;
    reason?: string;
    reader?: string;
    requestKey?: string;
  }): Promise<{
    refundId: string;
  }>;
  refund(refundId: string): unknown;
  /** The shop day's voids and refunds (today without a date); RangeError for a date that is not one. */
  day(date: string | undefined): unknown;
  /** The newest void done within `withinMs`, with the card's balance after it (the customer display), or undefined. */
  latestVoid(withinMs: number): unknown;
}

export interface TopupStart {
  amount: number;
  currency?: number;
  reader?: string;
  method?: 'cash' | 'account';
  requestKey?: string;
}

export interface SaleStart {
  amount: number;
  currency?: number;
  reader?: string;
  requestKey?: string;
  followed?: boolean;
}

export interface ExportRecord {
  recordId: string;
  status: string;
  reason: string | null | undefined;
  envelope: Uint8Array;
  certificate: Uint8Array | null | undefined;
}

export interface CounterListener {
  sale(s: SaleSnapshot): void;
  /** A record was stored (queue figures changed). */
  stored(): void;
  settlement(status: unknown): void;
  batch(outcome: unknown): void;
  /** A reader came, went or changed. */
  readers(): void;
  /** A PIN service changed (no digits in it). */
  pinService(view: unknown): void;
  /** The receipt printer's state or its receipts changed (host/printer/printer-types.ts PrinterStatus). */
  printer(status: unknown): void;
}
