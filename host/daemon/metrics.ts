import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HostStore } from '../store/host-store.js';
import type { SaleEngine } from '../sale/sale-engine.js';
import { FINAL_STATES } from '../sale/sale-types.js';
import type { SettlementWorker } from '../settlement/settlement-worker.js';
import type { ReaderHub } from '../readers/reader-hub.js';

/**
 * Prometheus metrics (text format at GET /metrics). Queue figures are read from SQLite at scrape
 * time, so they are right even after a restart; counters count since the daemon started.
 */
export function createMetrics(o: {
  store: HostStore;
  engine: SaleEngine;
  worker: SettlementWorker;
  hub: ReaderHub;
}): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cardpost_process_' });

  new Gauge({
    name: 'cardpost_queue_records',
    help: 'Stored records by settlement status',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      for (const [status, v] of Object.entries(o.store.statusCounts())) this.set({ status }, v.count);
    },
  });
  new Gauge({
    name: 'cardpost_unsettled_amount',
    help: 'Amount (minor units) stored but not yet settled, by currency',
    labelNames: ['currency'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of o.store.unsettled().byCurrency) this.set({ currency: String(c.currency) }, c.amount);
    },
  });
  new Gauge({
    name: 'cardpost_unsettled_oldest_age_seconds',
    help: 'Age of the oldest record not yet settled',
    registers: [registry],
    collect() {
      const t = o.store.unsettled().oldestStoredAt;
      this.set(t === null ? 0 : (Date.now() - t) / 1000);
    },
  });
  new Gauge({
    name: 'cardpost_bank_online',
    help: '1 when the bank answered its last check',
    registers: [registry],
    collect() {
      this.set(o.worker.status().online ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cardpost_readers',
    help: 'Connected card readers, by kind',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of o.hub.list()) this.inc({ kind: r.kind });
    },
  });
  const sales = new Counter({
    name: 'cardpost_sales_total',
    help: 'Sales ended, by final state',
    labelNames: ['state'],
    registers: [registry],
  });
  const saleErrors = new Counter({
    name: 'cardpost_sale_errors_total',
    help: 'Sales failed, by error code',
    labelNames: ['code'],
    registers: [registry],
  });
  const recovered = new Counter({
    name: 'cardpost_records_recovered_total',
    help: 'Records recovered from card journals',
    registers: [registry],
  });
  const verdicts = new Counter({
    name: 'cardpost_settlement_records_total',
    help: 'Per-record settlement verdicts',
    labelNames: ['verdict'],
    registers: [registry],
  });
  const batchLatency = new Histogram({
    name: 'cardpost_settlement_batch_seconds',
    help: 'Time from sending a batch to applying its verdicts',
    registers: [registry],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  const failures = new Counter({
    name: 'cardpost_settlement_failures_total',
    help: 'Batch attempts without a usable answer',
    labelNames: ['code'],
    registers: [registry],
  });

  o.engine.on('sale', (s) => {
    if (FINAL_STATES.has(s.state)) sales.inc({ state: s.state });
    if (s.state === 'failed' && s.error) saleErrors.inc({ code: s.error.code });
  });
  o.engine.on('recovered', () => recovered.inc());
  o.worker.on('batch', (b) => {
    verdicts.inc({ verdict: 'accepted' }, b.accepted);
    verdicts.inc({ verdict: 'duplicate' }, b.duplicate);
    verdicts.inc({ verdict: 'rejected' }, b.rejected);
    batchLatency.observe(b.latencyMs / 1000);
  });
  o.worker.on('attemptFailed', (f) => failures.inc({ code: f.error.code }));
  return registry;
}
