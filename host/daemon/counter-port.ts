import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { CounterListener, CounterPort, SaleStart } from '../api/port.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import type { ClockProblem } from '../sale/clock-check.js';
import type { SaleEngine } from '../sale/sale-engine.js';
import type { SaleSnapshot } from '../sale/sale-types.js';
import type { SettlementWorker } from '../settlement/settlement-worker.js';
import type { Reconciliation } from '../settlement/reconcile.js';
import type { HostStore, QueuedRecord, RecordStatus } from '../store/host-store.js';
import type { DaemonConfig } from './config.js';

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
  abstract readonly clockProblem: () => ClockProblem | undefined;
  abstract settleNow(): void;
  abstract reconcile(date: string): Promise<Reconciliation>;

  counterSettings() {
    return { merchantId: this.config.merchantId, currency: this.config.currency, limits: this.config.limits };
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
  cancelSale(saleId: string): SaleSnapshot {
    return this.engine.cancel(saleId);
  }

  readers() {
    return this.hub.list();
  }
  inspectCard(reader: string): Promise<unknown> {
    return this.engine.inspect(reader);
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

  watch(l: CounterListener): () => void {
    const readers = () => l.readers();
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
    };
  }
}
