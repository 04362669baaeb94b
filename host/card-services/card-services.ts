import type { TrustStore } from '../../protocol/record/index.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import type { SaleEngine } from '../sale/sale-engine.js';
import { FINAL_STATES } from '../sale/sale-types.js';
import type { BankClient } from '../settlement/bank-client.js';
import type { SettlementWorker } from '../settlement/settlement-worker.js';
import type { HostStore } from '../store/host-store.js';
import type { DaemonConfig } from '../daemon/config.js';
import { isShopDate, shopDayBounds } from '../close/shop-day.js';
import { AutoSync } from './auto-sync.js';
import { PinService } from './pin-service.js';
import { TopupService } from './topup.js';
import { VoidService } from './voids.js';
import { RefundService } from './refund-service.js';
import { TopupError, type TopupFaultHooks, type TopupSnapshot } from './topup-types.js';

type Log = { info(o: object, msg: string): void; warn(o: object, msg: string): void };

/** The day's top-up figures (the cash drawer), of the shop's day in its time zone (host/close/shop-day.ts). */
export interface TopupDay {
  date: string;
  timeZone: string;
  /** Cash taken for loaded top-ups that day, per currency. */
  cash: { currency: number; count: number; amount: number }[];
  topups: TopupSnapshot[];
}

/** The card services of one counter (top-up, sync, automatic sync), wired to the daemon's parts. */
export class CardServices {
  readonly topups: TopupService;
  readonly autoSync: AutoSync;
  readonly pins: PinService;
  /** Voids at the counter and refunds through the bank (docs/host-api.md §5.8). */
  readonly voids: VoidService;
  readonly refunds: RefundService;
  private readonly detach: (() => void)[] = [];

  constructor(
    private readonly o: {
      config: DaemonConfig;
      store: HostStore;
      hub: ReaderHub;
      engine: SaleEngine;
      worker: SettlementWorker;
      bank: BankClient;
      trust: TrustStore;
      terminalId: string;
      log?: Log;
      faults?: TopupFaultHooks;
    },
  ) {
    const { engine, worker, hub } = o;
    // A sale waiting for a card there (or at any reader), or a PIN service holding it.
    const saleMayUse = (name: string) =>
      engine.active().some((s) => s.reader === name || s.reader === null) || this.pins?.busy(name) === true;
    this.topups = new TopupService({
      store: o.store,
      hub,
      bank: o.bank,
      trust: o.trust,
      merchantId: o.config.merchantId,
      terminalId: o.terminalId,
      currency: o.config.currency,
      settleNow: () => worker.poke(),
      saleMayUse,
      saleIsLive: (id) => engine.active().some((s) => s.saleId === id),
      recordStored: () => worker.recordStored(),
      settleWaitMs: o.config.cardServices.settleWaitS * 1000,
      ...(o.log ? { log: o.log } : {}),
      ...(o.faults ? { faults: o.faults } : {}),
    });
    this.pins = new PinService({
      hub,
      open: (reader) => this.topups.open(reader),
      saleMayUse: (name) => engine.active().some((s) => s.reader === name || s.reader === null),
      entryMs: o.config.sale.pinTimeoutS * 1000,
      unblockAllowed: o.config.cardServices.unblockAtCounter,
      ...(o.log ? { log: o.log } : {}),
    });
    this.voids = new VoidService({
      store: o.store,
      hub,
      open: (reader) => this.topups.open(reader),
      saleMayUse,
      recordStored: () => worker.recordStored(),
      ...(o.log ? { log: o.log } : {}),
      ...(o.faults?.afterVoidStored ? { afterVoidStored: o.faults.afterVoidStored } : {}),
      ...(o.faults?.afterVoidSigned ? { afterVoidSigned: o.faults.afterVoidSigned } : {}),
    });
    this.refunds = new RefundService({
      store: o.store,
      hub,
      topups: this.topups,
      online: () => worker.status().online,
      saleMayUse,
      ...(o.log ? { log: o.log } : {}),
    });
    this.autoSync = new AutoSync({
      topups: this.topups,
      hub,
      at: o.config.cardServices.autoSyncAt,
      online: () => worker.status().online,
      saleMayUse,
      ...(o.log ? { log: o.log } : {}),
    });
    // After the engine's own handlers: a card no sale claimed, or a reader a sale has just finished with.
    // Queued refunds of the card first (its next online contact), then the automatic sync.
    const check = (name: string) => void this.refunds.check(name).then(() => this.autoSync.check(name));
    const onCard = (reader: { name: string }) => setImmediate(() => check(reader.name));
    const onSale = (s: { state: string; reader: string | null }) => {
      if (s.reader && FINAL_STATES.has(s.state as never)) {
        const name = s.reader;
        setTimeout(() => check(name), 50);
      }
    };
    // The bank back while a card stays in a reader (a refund asked for while the bank was away, the card
    // left on the reader): carry it now rather than waiting for the card to be tapped again.
    let wasOnline = worker.status().online;
    const onStatus = (s: { online: boolean }) => {
      const back = s.online && !wasOnline;
      wasOnline = s.online;
      if (back) for (const r of hub.readersList()) if (r.cardPresent) setImmediate(() => check(r.name));
    };
    hub.on('card', onCard);
    engine.on('sale', onSale);
    worker.on('status', onStatus);
    this.detach.push(
      () => hub.off('card', onCard),
      () => engine.off('sale', onSale),
      () => worker.off('status', onStatus),
    );
  }

  /** The top-ups of one shop day and the cash they took. TOPUP_INVALID for a date that is not one. */
  day(date: string): TopupDay {
    if (!isShopDate(date))
      throw new TopupError('TOPUP_INVALID', `"${date}" is not a date`, 'give the day as YYYY-MM-DD');
    const timeZone = this.o.config.shop.timeZone;
    const [from, to] = shopDayBounds(date, timeZone);
    return {
      date,
      timeZone,
      cash: this.o.store.topups.cashTotals(from, to),
      topups: this.topups.recent(500).filter((t) => t.createdAt >= from && t.createdAt < to),
    };
  }

  /** Voids and refunds asked for in [fromMs, toMs), and what they gave back (voided / credited), per currency. */
  moneyBackBetween(fromMs: number, toMs: number) {
    const voids = this.o.store.voids.between(fromMs, toMs).map((v) => this.voids.ofSale(v.saleId)!);
    const refunds = this.refunds.between(fromMs, toMs);
    const sum = (xs: { currency: number; amount: number }[]) => {
      const m = new Map<number, { currency: number; count: number; amount: number }>();
      for (const x of xs) {
        const t = m.get(x.currency) ?? { currency: x.currency, count: 0, amount: 0 };
        t.count++;
        t.amount += x.amount;
        m.set(x.currency, t);
      }
      return [...m.values()].sort((a, b) => a.currency - b.currency);
    };
    return {
      voided: sum(voids.filter((v) => v.state === 'voided')),
      credited: sum(refunds.filter((r) => r.state === 'credited')),
      voids,
      refunds,
    };
  }

  close(): void {
    this.pins.close();
    for (const d of this.detach.splice(0)) d();
  }
}
