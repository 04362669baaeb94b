import type { Daemon } from '../daemon/daemon.js';

/** The whole picture of the counter: GET /api/v1/status and the first event of every SSE stream. */
export function statusBody(d: Daemon) {
  return {
    terminalId: d.terminalId,
    merchantId: d.config.merchantId,
    currency: d.config.currency,
    settlement: d.worker.status(),
    unsettled: d.store.unsettled(),
    counts: d.store.statusCounts(),
    limits: d.config.limits,
    readers: d.hub.list(),
    activeSales: d.engine.active(),
  };
}
