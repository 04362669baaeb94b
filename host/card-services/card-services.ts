import type { TrustStore } from '../../protocol/record/index.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import type { SaleEngine } from '../sale/sale-engine.js';
import { FINAL_STATES } from '../sale/sale-types.js';
import type { BankClient } from '../settlement/bank-client.js';
import type { SettlementWorker } from '../settlement/settlement-worker.js';
import type { HostStore } from '../store/host-store.js';
import type { DaemonConfig } from '../daemon/config.js';
import { AutoSync } from './auto-sync.js';
import { PinService } from './pin-service.js';
import { TopupService } from './topup.js';
import { TopupError, type TopupFaultHooks, type TopupSnapshot } from './topup-types.js';

type Log = { info(o: object, msg: string): void; warn(o: object, msg: string): void };

/** The day's top-up figures (the cash drawer): UTC days until the shop's time zone is configurable. */
export interface TopupDay {
  date: string;
  timeZone: 'UTC';
  /** Cash taken for loaded top-ups that day, per currency. */
  cash: { currency: number; count: number; amount: number }[];
  topups: TopupSnapshot[];
}

/** The card services of one counter (top-up, sync, automatic sync), wired to the daemon's parts. */
export class CardServices {
  readonly topups: TopupService;
  readonly autoSync: AutoSync;
  readonly pins: PinService;
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
    this.autoSync = new AutoSync({
      topups: this.topups,
      hub,
      at: o.config.cardServices.autoSyncAt,
      online: () => worker.status().online,
      saleMayUse,
      ...(o.log ? { log: o.log } : {}),
    });
    // After the engine's own handlers: a card no sale claimed, or a reader a sale has just finished with.
    const onCard = (reader: { name: string }) => setImmediate(() => void this.autoSync.check(reader.name));
    const onSale = (s: { state: string; reader: string | null }) => {
      if (s.reader && FINAL_STATES.has(s.state as never)) {
        const name = s.reader;
        setTimeout(() => void this.autoSync.check(name), 50);
      }
    };
    hub.on('card', onCard);
    engine.on('sale', onSale);
    this.detach.push(
      () => hub.off('card', onCard),
      () => engine.off('sale', onSale),
    );
  }

  /** The top-ups of one UTC day and the cash they took. RangeError for a date that is not one. */
  day(date: string): TopupDay {
    const from = Date.parse(`${date}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(from) || new Date(from).toISOString().slice(0, 10) !== date)
      throw new TopupError('TOPUP_INVALID', `"${date}" is not a date`, 'give the day as YYYY-MM-DD');
    const to = from + 86_400_000;
    return {
      date,
      timeZone: 'UTC',
      cash: this.o.store.topups.cashTotals(from, to),
      topups: this.topups.recent(500).filter((t) => t.createdAt >= from && t.createdAt < to),
    };
  }

  close(): void {
    this.pins.close();
    for (const d of this.detach.splice(0)) d();
  }
}
